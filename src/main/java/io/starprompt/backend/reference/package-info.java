/**
 * The reference backend: every op as plain Java loops with float64 accumulation, the oracle the
 * native backends are tested against.
 *
 * <p>The kernels are grouped by op family like {@code native/cpu/}: {@link
 * io.starprompt.backend.reference.DenseKernels} (GEMM, element-wise),
 * {@link io.starprompt.backend.reference.NormKernels} (layer norm, softmax),
 * {@link io.starprompt.backend.reference.AttentionKernels},
 * {@link io.starprompt.backend.reference.RetrievalKernels},
 * {@link io.starprompt.backend.reference.EmbeddingKernels} (embeddings, token ops, patches) and
 * {@link io.starprompt.backend.reference.LossOptimKernels} (loss, optimisers). Each has one public
 * static method per {@code sp_cpu_*} operation of {@code native/include/starprompt.h}, with the same
 * argument order and semantics, on whole Java arrays: {@code float[]} tensors are dense, row-major
 * and contiguous, {@code int[]} holds index arrays. Every sum is accumulated in {@code double};
 * results are rounded to {@code float} only when stored. Loops are deliberately plain: clarity over
 * speed. Outputs are fully overwritten unless the method name says "add" (or the Javadoc says
 * "accumulated").
 *
 * <p>The kernels take their arguments as {@link io.starprompt.backend.Backend} validated them
 * (sizes consistent with the array lengths, indices in range) and do not check them again; the
 * one value a Backend cannot see, the retrieval's selection read back from a tensor, is checked.
 */
package io.starprompt.backend.reference;
