/**
 * The reference backend: every op as plain Java loops with float64 accumulation
 * ({@link io.starprompt.backend.reference.ReferenceKernels}), the oracle the native backends are
 * tested against.
 */
package io.starprompt.backend.reference;
