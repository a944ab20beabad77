/**
 * The compute backends and what they share: {@link io.starprompt.backend.Backend}, the abstract
 * backend whose public ops check their arguments before any kernel runs;
 * {@link io.starprompt.backend.Backends}, which creates one by name or picks the best available;
 * the op inputs ({@link io.starprompt.backend.AttentionInputs},
 * {@link io.starprompt.backend.RetrievalInputs}, {@link io.starprompt.backend.AdamConfig}, ...);
 * the kernel variants per op ({@link io.starprompt.backend.KernelRegistry}), including variants
 * written by users ({@link io.starprompt.backend.OpKernel}); the op-level profiler with its
 * scopes and NVTX ranges ({@link io.starprompt.backend.Profiler}); and the caching allocator of
 * native memory. The implementations live in the sub-packages {@code reference}, {@code cpu} and
 * {@code cuda}.
 */
package io.starprompt.backend;
