// Device management, memory, streams, events and dtype conversion.
#include "common.cuh"

SP_EXPORT int sp_cuda_compiled(void) { return 1; }

SP_EXPORT int sp_cuda_device_count(void) {
  int n = 0;
  // Without a driver or device this fails; that is the answer "none", not an error, and the
  // sticky-looking error must not leak into the next op's launch check.
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return n;
}

SP_EXPORT int sp_cuda_set_device(int device) {
  SP_CHECK(device >= 0);
  SP_CUDA_TRY(cudaSetDevice(device));
  return SP_OK;
}

SP_EXPORT int sp_cuda_malloc(size_t bytes, void** out) {
  SP_CHECK(out != nullptr);
  *out = nullptr;
  if (bytes == 0) return SP_OK;
  const cudaError_t err = cudaMalloc(out, bytes);
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // clear it: running out of memory is recoverable (the caller may free a cache)
    return sp_fail(SP_ERR_ALLOC, "%s: out of device memory for %zu bytes", __func__, bytes);
  }
  SP_CUDA_TRY(err);
  return SP_OK;
}

SP_EXPORT int sp_cuda_free(void* ptr) {
  if (ptr == nullptr) return SP_OK;
  SP_CUDA_TRY(cudaFree(ptr));
  return SP_OK;
}

namespace {
int copy(const char* fn, void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
         void* stream) {
  if (bytes == 0) return SP_OK;
  SP_CHECK_FN(fn, dst != nullptr && src != nullptr);
  cudaError_t err = cudaMemcpyAsync(dst, src, bytes, kind, sp_stream(stream));
  if (err != cudaSuccess) return sp_cuda_error(fn, err);
  return SP_OK;
}
}  // namespace

SP_EXPORT int sp_cuda_memcpy_h2d(void* dst, const void* src, size_t bytes, void* stream) {
  return copy(__func__, dst, src, bytes, cudaMemcpyHostToDevice, stream);
}
SP_EXPORT int sp_cuda_memcpy_d2h(void* dst, const void* src, size_t bytes, void* stream) {
  return copy(__func__, dst, src, bytes, cudaMemcpyDeviceToHost, stream);
}
SP_EXPORT int sp_cuda_memcpy_d2d(void* dst, const void* src, size_t bytes, void* stream) {
  return copy(__func__, dst, src, bytes, cudaMemcpyDeviceToDevice, stream);
}

SP_EXPORT int sp_cuda_memset_zero(void* dst, size_t bytes, void* stream) {
  if (bytes == 0) return SP_OK;
  SP_CHECK(dst != nullptr);
  SP_CUDA_TRY(cudaMemsetAsync(dst, 0, bytes, sp_stream(stream)));
  return SP_OK;
}

SP_EXPORT int sp_cuda_stream_create(void** out) {
  SP_CHECK(out != nullptr);
  *out = nullptr;
  cudaStream_t s = nullptr;
  // A blocking stream: it stays ordered with work that callers put on the legacy default
  // stream (stream NULL), which the Java side may mix in.
  SP_CUDA_TRY(cudaStreamCreate(&s));
  *out = s;
  return SP_OK;
}

SP_EXPORT int sp_cuda_stream_destroy(void* stream) {
  if (stream == nullptr) return SP_OK;
  SP_CUDA_TRY(cudaStreamDestroy(sp_stream(stream)));
  return SP_OK;
}

SP_EXPORT int sp_cuda_stream_synchronize(void* stream) {
  SP_CUDA_TRY(cudaStreamSynchronize(sp_stream(stream)));
  return SP_OK;
}

namespace {
__global__ void f32_to_bf16(const float* __restrict__ src, __nv_bfloat16* __restrict__ dst,
                            int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    dst[i] = __float2bfloat16_rn(src[i]);
}

__global__ void bf16_to_f32(const __nv_bfloat16* __restrict__ src, float* __restrict__ dst,
                            int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    dst[i] = __bfloat162float(src[i]);
}

size_t dtype_size(int dtype) { return dtype == SP_BF16 ? 2 : 4; }
}  // namespace

SP_EXPORT int sp_cuda_convert(const void* src, int src_dtype, void* dst, int dst_dtype,
                              int64_t n, void* stream) {
  SP_CHECK(src_dtype == SP_F32 || src_dtype == SP_BF16);
  SP_CHECK(dst_dtype == SP_F32 || dst_dtype == SP_BF16);
  SP_CHECK(n >= 0);
  if (n == 0) return SP_OK;
  SP_CHECK(src != nullptr && dst != nullptr);
  cudaStream_t s = sp_stream(stream);
  if (src_dtype == dst_dtype) {
    SP_CUDA_TRY(cudaMemcpyAsync(dst, src, n * dtype_size(src_dtype), cudaMemcpyDeviceToDevice, s));
    return SP_OK;
  }
  const int threads = 256;
  if (src_dtype == SP_F32)
    f32_to_bf16<<<sp_grid_for(n, threads), threads, 0, s>>>(
        static_cast<const float*>(src), static_cast<__nv_bfloat16*>(dst), n);
  else
    bf16_to_f32<<<sp_grid_for(n, threads), threads, 0, s>>>(
        static_cast<const __nv_bfloat16*>(src), static_cast<float*>(dst), n);
  SP_LAUNCH_CHECK();
  return SP_OK;
}

SP_EXPORT int sp_cuda_event_create(void** out) {
  SP_CHECK(out != nullptr);
  *out = nullptr;
  cudaEvent_t e = nullptr;
  SP_CUDA_TRY(cudaEventCreate(&e));
  *out = e;
  return SP_OK;
}

SP_EXPORT int sp_cuda_event_destroy(void* event) {
  if (event == nullptr) return SP_OK;
  SP_CUDA_TRY(cudaEventDestroy(static_cast<cudaEvent_t>(event)));
  return SP_OK;
}

SP_EXPORT int sp_cuda_event_record(void* event, void* stream) {
  SP_CHECK(event != nullptr);
  SP_CUDA_TRY(cudaEventRecord(static_cast<cudaEvent_t>(event), sp_stream(stream)));
  return SP_OK;
}

SP_EXPORT int sp_cuda_event_elapsed_ms(void* start, void* stop, float* ms) {
  SP_CHECK(start != nullptr && stop != nullptr && ms != nullptr);
  // Elapsed time is only defined once the stop event has completed; waiting here spares
  // callers a cudaErrorNotReady they cannot act on.
  SP_CUDA_TRY(cudaEventSynchronize(static_cast<cudaEvent_t>(stop)));
  SP_CUDA_TRY(cudaEventElapsedTime(ms, static_cast<cudaEvent_t>(start),
                                   static_cast<cudaEvent_t>(stop)));
  return SP_OK;
}
