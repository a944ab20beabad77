/**
 * The CUDA backend: the project's CUDA kernels and cuBLAS on one stream, usable where the native
 * library was built with CUDA and a device and the CUDA runtime libraries are present
 * ({@link io.starprompt.backend.cuda.CudaBackend#unavailableReason()} says why not otherwise).
 */
package io.starprompt.backend.cuda;
