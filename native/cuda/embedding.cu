// Embedding gather/scatter and the per-sample token ops (sum, gather, scatter-add). The
// gather and the token ops read and write f32 or bf16 through SpIn/SpOut; the table gradient
// (scatter-add, float atomics) is f32 only.
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
__global__ void embedding_gather_kernel(SpIn table, const int32_t* __restrict__ ids, SpOut out,
                                        int64_t n, int64_t dim, const int* __restrict__ bad) {
  if (*bad) return;
  for (int64_t i = blockIdx.x; i < n; i += gridDim.x) {
    const int64_t src = static_cast<int64_t>(ids[i]) * dim;
    for (int64_t c = threadIdx.x; c < dim; c += blockDim.x) out.store(i * dim + c, table[src + c]);
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

__global__ void token_sum_kernel(SpIn x, SpOut out, int tokens, int64_t dim) {
  const int b = blockIdx.y;
  const int64_t xb = static_cast<int64_t>(b) * tokens * dim;
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < dim;
       c += (int64_t)gridDim.x * blockDim.x) {
    float acc = 0.f;
    for (int n = 0; n < tokens; ++n) acc += x[xb + n * dim + c];
    out.store(b * dim + c, acc);
  }
}

// Indices are device data the host cannot cheaply check; an out-of-range index leaves that
// sample's output untouched instead of reading or writing outside the tensor.
__global__ void token_gather_kernel(SpIn x, const int32_t* __restrict__ idx, SpOut out,
                                    int tokens, int64_t dim) {
  const int b = blockIdx.y;
  const int t = idx[b];
  if (t < 0 || t >= tokens) return;
  const int64_t src = (static_cast<int64_t>(b) * tokens + t) * dim;
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < dim;
       c += (int64_t)gridDim.x * blockDim.x)
    out.store(b * dim + c, x[src + c]);
}

// Each sample owns its slice of dx, so no two threads touch the same element: no atomics.
__global__ void token_scatter_add_kernel(SpIn dout, const int32_t* __restrict__ idx, SpOut dx,
                                         int tokens, int64_t dim) {
  const int b = blockIdx.y;
  const int t = idx[b];
  if (t < 0 || t >= tokens) return;
  const int64_t dst = (static_cast<int64_t>(b) * tokens + t) * dim;
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < dim;
       c += (int64_t)gridDim.x * blockDim.x)
    dx.store(dst + c, dx.load(dst + c) + dout[b * dim + c]);
}

dim3 per_sample_grid(int batch, int64_t dim) {
  const int64_t xb = (dim + kThreads - 1) / kThreads;
  return dim3(static_cast<unsigned>(xb < 1024 ? xb : 1024), static_cast<unsigned>(batch));
}

}  // namespace

namespace {

int launch_gather(const char* fn, SpIn table, const int32_t* ids, SpOut out, int64_t n,
                  int64_t dim, int64_t vocab, void* stream) {
  SP_CHECK_FN(fn, n >= 0 && dim >= 0 && vocab >= 0);
  if (n == 0) return SP_OK;
  SP_CHECK_FN(fn, !table.null() && ids != nullptr && !out.null());
  cudaStream_t s = sp_stream(stream);
  return run_with_id_check(fn, ids, n, vocab, s, [&](const int* bad) {
    embedding_gather_kernel<<<row_grid(n), kThreads, 0, s>>>(table, ids, out, n, dim, bad);
  });
}

}  // namespace

SP_EXPORT int sp_cuda_embedding_gather(const float* table, const int32_t* ids, float* out,
                                       int64_t n, int64_t dim, int64_t vocab, void* stream) {
  return launch_gather(__func__, sp_in(table), ids, sp_out(out), n, dim, vocab, stream);
}

SP_EXPORT int sp_cuda_embedding_gather_dt(const void* table, int table_dtype, const int32_t* ids,
                                          void* out, int out_dtype, int64_t n, int64_t dim,
                                          int64_t vocab, void* stream) {
  SP_VIEW_IN(__func__, table, table_dtype);
  SP_VIEW_OUT(__func__, out, out_dtype);
  return launch_gather(__func__, table_v, ids, out_v, n, dim, vocab, stream);
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

namespace {

// The per-sample token ops share their checks: batch rides in gridDim.y (at most 65535).
int check_per_sample(const char* fn, int batch, int tokens, int64_t dim) {
  SP_CHECK_FN(fn, batch >= 0 && batch <= 65535 && tokens >= 0 && dim >= 0);
  return SP_OK;
}

int launch_token_sum(const char* fn, SpIn x, SpOut out, int batch, int tokens, int64_t dim,
                     void* stream) {
  if (int rc = check_per_sample(fn, batch, tokens, dim)) return rc;
  if (batch == 0 || dim == 0) return SP_OK;
  SP_CHECK_FN(fn, !x.null() || tokens == 0);
  SP_CHECK_FN(fn, !out.null());
  token_sum_kernel<<<per_sample_grid(batch, dim), kThreads, 0, sp_stream(stream)>>>(x, out, tokens,
                                                                                   dim);
  SP_LAUNCH_CHECK_FN(fn);
  return SP_OK;
}

int launch_token_gather(const char* fn, SpIn x, const int32_t* idx, SpOut out, int batch,
                        int tokens, int64_t dim, void* stream) {
  if (int rc = check_per_sample(fn, batch, tokens, dim)) return rc;
  if (batch == 0 || dim == 0) return SP_OK;
  SP_CHECK_FN(fn, !x.null() && idx != nullptr && !out.null());
  token_gather_kernel<<<per_sample_grid(batch, dim), kThreads, 0, sp_stream(stream)>>>(
      x, idx, out, tokens, dim);
  SP_LAUNCH_CHECK_FN(fn);
  return SP_OK;
}

int launch_token_scatter_add(const char* fn, SpIn dout, const int32_t* idx, SpOut dx, int batch,
                             int tokens, int64_t dim, void* stream) {
  if (int rc = check_per_sample(fn, batch, tokens, dim)) return rc;
  if (batch == 0 || dim == 0) return SP_OK;
  SP_CHECK_FN(fn, !dout.null() && idx != nullptr && !dx.null());
  token_scatter_add_kernel<<<per_sample_grid(batch, dim), kThreads, 0, sp_stream(stream)>>>(
      dout, idx, dx, tokens, dim);
  SP_LAUNCH_CHECK_FN(fn);
  return SP_OK;
}

}  // namespace

SP_EXPORT int sp_cuda_token_sum(const float* x, float* out, int batch, int tokens, int64_t dim,
                                void* stream) {
  return launch_token_sum(__func__, sp_in(x), sp_out(out), batch, tokens, dim, stream);
}

SP_EXPORT int sp_cuda_token_gather(const float* x, const int32_t* idx, float* out, int batch,
                                   int tokens, int64_t dim, void* stream) {
  return launch_token_gather(__func__, sp_in(x), idx, sp_out(out), batch, tokens, dim, stream);
}

SP_EXPORT int sp_cuda_token_scatter_add(const float* dout, const int32_t* idx, float* dx,
                                        int batch, int tokens, int64_t dim, void* stream) {
  return launch_token_scatter_add(__func__, sp_in(dout), idx, sp_out(dx), batch, tokens, dim,
                                  stream);
}

SP_EXPORT int sp_cuda_token_sum_dt(const void* x, int x_dtype, void* out, int out_dtype,
                                   int batch, int tokens, int64_t dim, void* stream) {
  SP_VIEW_IN(__func__, x, x_dtype);
  SP_VIEW_OUT(__func__, out, out_dtype);
  return launch_token_sum(__func__, x_v, out_v, batch, tokens, dim, stream);
}

SP_EXPORT int sp_cuda_token_gather_dt(const void* x, int x_dtype, const int32_t* idx, void* out,
                                      int out_dtype, int batch, int tokens, int64_t dim,
                                      void* stream) {
  SP_VIEW_IN(__func__, x, x_dtype);
  SP_VIEW_OUT(__func__, out, out_dtype);
  return launch_token_gather(__func__, x_v, idx, out_v, batch, tokens, dim, stream);
}

SP_EXPORT int sp_cuda_token_scatter_add_dt(const void* dout, int dout_dtype, const int32_t* idx,
                                           void* dx, int dx_dtype, int batch, int tokens,
                                           int64_t dim, void* stream) {
  SP_VIEW_IN(__func__, dout, dout_dtype);
  SP_VIEW_OUT(__func__, dx, dx_dtype);
  return launch_token_scatter_add(__func__, dout_v, idx, dx_v, batch, tokens, dim, stream);
}
