// Embedding gather/scatter and the per-sample token ops (sum, gather, scatter-add).
#include "common.cuh"

namespace {

constexpr int kThreads = 256;

__global__ void find_bad_ids_kernel(const int32_t* __restrict__ ids, int64_t n, int64_t vocab,
                                    int* __restrict__ bad) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    if (ids[i] < 0 || ids[i] >= vocab) *bad = 1;
}

// One block per output row; rows strided over the grid. `bad` set by the check above means
// the whole call writes nothing (the contract of the CPU version).
__global__ void embedding_gather_kernel(const float* __restrict__ table,
                                        const int32_t* __restrict__ ids, float* __restrict__ out,
                                        int64_t n, int64_t dim, const int* __restrict__ bad) {
  if (*bad) return;
  for (int64_t i = blockIdx.x; i < n; i += gridDim.x) {
    const float* src = table + static_cast<int64_t>(ids[i]) * dim;
    float* dst = out + i * dim;
    for (int64_t c = threadIdx.x; c < dim; c += blockDim.x) dst[c] = src[c];
  }
}

// Repeated ids hit the same table row from different blocks: atomics.
__global__ void embedding_scatter_add_kernel(const float* __restrict__ dout,
                                             const int32_t* __restrict__ ids,
                                             float* __restrict__ dtable, int64_t n, int64_t dim,
                                             const int* __restrict__ bad) {
  if (*bad) return;
  for (int64_t i = blockIdx.x; i < n; i += gridDim.x) {
    float* dst = dtable + static_cast<int64_t>(ids[i]) * dim;
    const float* src = dout + i * dim;
    for (int64_t c = threadIdx.x; c < dim; c += blockDim.x) atomicAdd(dst + c, src[c]);
  }
}

unsigned row_grid(int64_t rows) { return static_cast<unsigned>(rows < 65535 * 8 ? rows : 65535 * 8); }

// Validating device-resident ids needs their values on the host: checks them on the stream,
// runs `launch` (which skips all work when an id was bad) and waits for the verdict. The wait
// makes these two ops synchronous; they are off the hot path (token embedding lookups).
template <typename Launch>
int run_with_id_check(const char* fn, const int32_t* ids, int64_t n, int64_t vocab,
                      cudaStream_t s, Launch launch) {
  int* bad = nullptr;
  cudaError_t err = sp_scratch_alloc(&bad, 1, s);
  if (err != cudaSuccess) return sp_cuda_error(fn, err);
  int host_bad = 0;
  cudaMemsetAsync(bad, 0, sizeof(int), s);
  find_bad_ids_kernel<<<sp_grid_for(n, kThreads), kThreads, 0, s>>>(ids, n, vocab, bad);
  launch(bad);
  err = cudaGetLastError();
  if (err == cudaSuccess) err = cudaMemcpyAsync(&host_bad, bad, sizeof(int), cudaMemcpyDeviceToHost, s);
  cudaError_t freed = cudaFreeAsync(bad, s);
  if (err == cudaSuccess) err = freed;
  if (err == cudaSuccess) err = cudaStreamSynchronize(s);
  if (err != cudaSuccess) return sp_cuda_error(fn, err);
  if (host_bad) return sp_fail(SP_ERR_ARG, "%s: an id lies outside [0, %lld)", fn,
                               static_cast<long long>(vocab));
  return SP_OK;
}

__global__ void token_sum_kernel(const float* __restrict__ x, float* __restrict__ out,
                                 int tokens, int64_t dim) {
  const int b = blockIdx.y;
  const float* xb = x + static_cast<int64_t>(b) * tokens * dim;
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < dim;
       c += (int64_t)gridDim.x * blockDim.x) {
    float acc = 0.f;
    for (int n = 0; n < tokens; ++n) acc += xb[n * dim + c];
    out[b * dim + c] = acc;
  }
}

// Indices are device data the host cannot cheaply check; an out-of-range index leaves that
// sample's output untouched instead of reading or writing outside the tensor.
__global__ void token_gather_kernel(const float* __restrict__ x, const int32_t* __restrict__ idx,
                                    float* __restrict__ out, int tokens, int64_t dim) {
  const int b = blockIdx.y;
  const int t = idx[b];
  if (t < 0 || t >= tokens) return;
  const float* src = x + (static_cast<int64_t>(b) * tokens + t) * dim;
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < dim;
       c += (int64_t)gridDim.x * blockDim.x)
    out[b * dim + c] = src[c];
}

// Each sample owns its slice of dx, so no two threads touch the same element: no atomics.
__global__ void token_scatter_add_kernel(const float* __restrict__ dout,
                                         const int32_t* __restrict__ idx, float* __restrict__ dx,
                                         int tokens, int64_t dim) {
  const int b = blockIdx.y;
  const int t = idx[b];
  if (t < 0 || t >= tokens) return;
  float* dst = dx + (static_cast<int64_t>(b) * tokens + t) * dim;
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < dim;
       c += (int64_t)gridDim.x * blockDim.x)
    dst[c] += dout[b * dim + c];
}

dim3 per_sample_grid(int batch, int64_t dim) {
  const int64_t xb = (dim + kThreads - 1) / kThreads;
  return dim3(static_cast<unsigned>(xb < 1024 ? xb : 1024), static_cast<unsigned>(batch));
}

}  // namespace

SP_EXPORT int sp_cuda_embedding_gather(const float* table, const int32_t* ids, float* out,
                                       int64_t n, int64_t dim, int64_t vocab, void* stream) {
  SP_CHECK(n >= 0 && dim >= 0 && vocab >= 0);
  if (n == 0) return SP_OK;
  SP_CHECK(table != nullptr && ids != nullptr && out != nullptr);
  cudaStream_t s = sp_stream(stream);
  return run_with_id_check(__func__, ids, n, vocab, s, [&](const int* bad) {
    embedding_gather_kernel<<<row_grid(n), kThreads, 0, s>>>(table, ids, out, n, dim, bad);
  });
}

SP_EXPORT int sp_cuda_embedding_scatter_add(const float* dout, const int32_t* ids, float* dtable,
                                            int64_t n, int64_t dim, int64_t vocab,
                                            void* stream) {
  SP_CHECK(n >= 0 && dim >= 0 && vocab >= 0);
  if (n == 0) return SP_OK;
  SP_CHECK(dout != nullptr && ids != nullptr && dtable != nullptr);
  cudaStream_t s = sp_stream(stream);
  return run_with_id_check(__func__, ids, n, vocab, s, [&](const int* bad) {
    embedding_scatter_add_kernel<<<row_grid(n), kThreads, 0, s>>>(dout, ids, dtable, n, dim, bad);
  });
}

SP_EXPORT int sp_cuda_token_sum(const float* x, float* out, int batch, int tokens, int64_t dim,
                                void* stream) {
  SP_CHECK(batch >= 0 && batch <= 65535 && tokens >= 0 && dim >= 0);
  if (batch == 0 || dim == 0) return SP_OK;
  SP_CHECK(x != nullptr || tokens == 0);
  SP_CHECK(out != nullptr);
  token_sum_kernel<<<per_sample_grid(batch, dim), kThreads, 0, sp_stream(stream)>>>(x, out, tokens,
                                                                                   dim);
  SP_LAUNCH_CHECK();
  return SP_OK;
}

SP_EXPORT int sp_cuda_token_gather(const float* x, const int32_t* idx, float* out, int batch,
                                   int tokens, int64_t dim, void* stream) {
  SP_CHECK(batch >= 0 && batch <= 65535 && tokens >= 0 && dim >= 0);
  if (batch == 0 || dim == 0) return SP_OK;
  SP_CHECK(x != nullptr && idx != nullptr && out != nullptr);
  token_gather_kernel<<<per_sample_grid(batch, dim), kThreads, 0, sp_stream(stream)>>>(
      x, idx, out, tokens, dim);
  SP_LAUNCH_CHECK();
  return SP_OK;
}

SP_EXPORT int sp_cuda_token_scatter_add(const float* dout, const int32_t* idx, float* dx,
                                        int batch, int tokens, int64_t dim, void* stream) {
  SP_CHECK(batch >= 0 && batch <= 65535 && tokens >= 0 && dim >= 0);
  if (batch == 0 || dim == 0) return SP_OK;
  SP_CHECK(dout != nullptr && idx != nullptr && dx != nullptr);
  token_scatter_add_kernel<<<per_sample_grid(batch, dim), kThreads, 0, sp_stream(stream)>>>(
      dout, idx, dx, tokens, dim);
  SP_LAUNCH_CHECK();
  return SP_OK;
}
