// Input-prompt concatenation (methods/l2p.md §4) and the mean over a token range (§5) on
// device. Every output element is written by one thread; the pool gradient sums the rows that
// chose each prompt in batch order (deterministic, no atomics).
#include "common.cuh"

namespace {

constexpr int kThreads = 256;

#define SP_GRID_STRIDE(i, n)                                                     \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n);      \
       i += (int64_t)gridDim.x * blockDim.x)

struct ConcatShape {
  int batch, t, pool, length, top_n;
  int64_t d;
  __host__ __device__ int64_t prompt_rows() const { return int64_t(top_n) * length; }
  __host__ __device__ int64_t seq() const { return t + prompt_rows(); }
};

// An element of a row whose prompt id is out of range is left as it was.
__global__ void concat_kernel(const float* __restrict__ tokens, const float* __restrict__ pool,
                              const int32_t* __restrict__ sel, const float* __restrict__ shift,
                              float* __restrict__ out, ConcatShape s) {
  SP_GRID_STRIDE(e, int64_t(s.batch) * s.seq() * s.d) {
    const int64_t c = e % s.d, r = e / s.d, b = r / s.seq(), row = r % s.seq();
    if (row == 0 || row > s.prompt_rows()) {
      const int64_t src_row = row == 0 ? 0 : row - s.prompt_rows();
      out[e] = tokens[(b * s.t + src_row) * s.d + c];
      continue;
    }
    const int64_t p = row - 1;
    const int j = sel[b * s.top_n + p / s.length];
    if (j < 0 || j >= s.pool) continue;
    out[e] = pool[(int64_t(j) * s.length + p % s.length) * s.d + c] + (shift ? shift[c] : 0.f);
  }
}

__global__ void concat_dpool_kernel(const float* __restrict__ dout, const int32_t* __restrict__ sel,
                                    float* __restrict__ dpool, ConcatShape s) {
  SP_GRID_STRIDE(e, int64_t(s.pool) * s.length * s.d) {
    const int64_t c = e % s.d, r = e / s.d, j = r / s.length, l = r % s.length;
    float acc = 0.f;
    for (int64_t b = 0; b < s.batch; ++b)
      for (int n = 0; n < s.top_n; ++n)
        if (sel[b * s.top_n + n] == j) acc += dout[(b * s.seq() + 1 + int64_t(n) * s.length + l) * s.d + c];
    dpool[e] = acc;
  }
}

__global__ void concat_dtokens_kernel(const float* __restrict__ dout, float* __restrict__ dtokens,
                                      ConcatShape s) {
  SP_GRID_STRIDE(e, int64_t(s.batch) * s.t * s.d) {
    const int64_t c = e % s.d, r = e / s.d, b = r / s.t, row = r % s.t;
    const int64_t src_row = row == 0 ? 0 : row + s.prompt_rows();
    dtokens[e] = dout[(b * s.seq() + src_row) * s.d + c];
  }
}

__global__ void range_mean_kernel(const float* __restrict__ x, float* __restrict__ out, int batch,
                                  int tokens, int from, int count, int64_t d) {
  SP_GRID_STRIDE(e, int64_t(batch) * d) {
    const int64_t b = e / d, c = e % d;
    float acc = 0.f;
    for (int i = from; i < from + count; ++i) acc += x[(b * tokens + i) * d + c];
    out[e] = acc / count;
  }
}

__global__ void range_mean_bwd_kernel(const float* __restrict__ dout, float* __restrict__ dx,
                                      int batch, int tokens, int from, int count, int64_t d) {
  SP_GRID_STRIDE(e, int64_t(batch) * tokens * d) {
    const int64_t c = e % d, r = e / d, b = r / tokens, i = r % tokens;
    dx[e] = (i >= from && i < from + count) ? dout[b * d + c] / count : 0.f;
  }
}

int check_concat(const char* fn, const ConcatShape& s) {
  SP_CHECK_FN(fn, s.batch >= 0 && s.t >= 1 && s.pool >= 1 && s.length >= 1 && s.top_n >= 1 && s.d >= 0);
  return SP_OK;
}

int check_range(const char* fn, int batch, int tokens, int from, int count, int64_t d) {
  SP_CHECK_FN(fn, batch >= 0 && tokens >= 0 && d >= 0);
  SP_CHECK_FN(fn, count >= 1 && from >= 0 && int64_t(from) + count <= tokens);
  return SP_OK;
}

}  // namespace

SP_EXPORT int sp_cuda_prompt_concat(const float* tokens, const float* pool, const int32_t* sel,
                                    const float* shift, float* out, int batch, int t, int pool_size,
                                    int length, int top_n, int64_t d, void* stream) {
  const ConcatShape s{batch, t, pool_size, length, top_n, d};
  if (int rc = check_concat(__func__, s)) return rc;
  const int64_t n = int64_t(batch) * s.seq() * d;
  if (n == 0) return SP_OK;
  SP_CHECK(tokens != nullptr && pool != nullptr && sel != nullptr && out != nullptr);
  concat_kernel<<<sp_grid_for(n, kThreads), kThreads, 0, sp_stream(stream)>>>(tokens, pool, sel,
                                                                              shift, out, s);
  SP_LAUNCH_CHECK();
  return SP_OK;
}

SP_EXPORT int sp_cuda_prompt_concat_bwd(const float* dout, const int32_t* sel, float* dpool,
                                        float* dtokens, int batch, int t, int pool_size, int length,
                                        int top_n, int64_t d, void* stream) {
  const ConcatShape s{batch, t, pool_size, length, top_n, d};
  if (int rc = check_concat(__func__, s)) return rc;
  const int64_t n = int64_t(pool_size) * length * d;
  if (n == 0) return SP_OK;
  SP_CHECK(dpool != nullptr && (batch == 0 || (dout != nullptr && sel != nullptr)));
  cudaStream_t st = sp_stream(stream);
  concat_dpool_kernel<<<sp_grid_for(n, kThreads), kThreads, 0, st>>>(dout, sel, dpool, s);
  const int64_t nt = int64_t(batch) * t * d;
  if (dtokens != nullptr && nt > 0)
    concat_dtokens_kernel<<<sp_grid_for(nt, kThreads), kThreads, 0, st>>>(dout, dtokens, s);
  SP_LAUNCH_CHECK();
  return SP_OK;
}

SP_EXPORT int sp_cuda_token_range_mean(const float* x, float* out, int batch, int tokens, int from,
                                       int count, int64_t d, void* stream) {
  if (int rc = check_range(__func__, batch, tokens, from, count, d)) return rc;
  const int64_t n = int64_t(batch) * d;
  if (n == 0) return SP_OK;
  SP_CHECK(x != nullptr && out != nullptr);
  range_mean_kernel<<<sp_grid_for(n, kThreads), kThreads, 0, sp_stream(stream)>>>(
      x, out, batch, tokens, from, count, d);
  SP_LAUNCH_CHECK();
  return SP_OK;
}

SP_EXPORT int sp_cuda_token_range_mean_bwd(const float* dout, float* dx, int batch, int tokens,
                                           int from, int count, int64_t d, void* stream) {
  if (int rc = check_range(__func__, batch, tokens, from, count, d)) return rc;
  const int64_t n = int64_t(batch) * tokens * d;
  if (n == 0) return SP_OK;
  SP_CHECK(dout != nullptr && dx != nullptr);
  range_mean_bwd_kernel<<<sp_grid_for(n, kThreads), kThreads, 0, sp_stream(stream)>>>(
      dout, dx, batch, tokens, from, count, d);
  SP_LAUNCH_CHECK();
  return SP_OK;
}
