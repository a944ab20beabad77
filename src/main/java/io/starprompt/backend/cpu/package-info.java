/**
 * The CPU backend: the native C++ kernels (multithreaded, vectorised) of
 * {@code native/include/starprompt.h}, with GEMM from OpenBLAS.
 */
package io.starprompt.backend.cpu;
