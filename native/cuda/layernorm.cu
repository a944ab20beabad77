// LayerNorm over the last dim (f32 or bf16 storage through SpIn/SpOut; statistics and the
// parameter gradients always f32): one block per row, two-pass statistics (mean first, then the
// centred variance: the one-pass E[x^2]-E[x]^2 loses digits on offset activations).
// dgamma/dbeta are column sums over rows, reduced in two deterministic stages (row chunks to
// scratch, then chunks) instead of float atomics, so results do not vary run to run.
#include <algorithm>

#include "common.cuh"

namespace {

constexpr int kRowThreads = 256;

__global__ void layernorm_fwd_kernel(SpIn x, SpIn gamma, SpIn beta, float eps, SpOut y,
                                     float* __restrict__ mean_out,
                                     float* __restrict__ rstd_out, int64_t rows, int64_t cols) {
  __shared__ float red[33];
  const float inv_cols = 1.f / static_cast<float>(cols);
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t row = r * cols;
    float s = 0.f;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) s += x[row + c];
    const float mean = sp_block_sum(s, red) * inv_cols;
    float v = 0.f;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
      const float d = x[row + c] - mean;
      v = fmaf(d, d, v);
    }
    const float rstd = rsqrtf(sp_block_sum(v, red) * inv_cols + eps);
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
      const float g = gamma.null() ? 1.f : gamma[c];
      const float b = beta.null() ? 0.f : beta[c];
      y.store(row + c, fmaf((x[row + c] - mean) * rstd, g, b));
    }
    if (threadIdx.x == 0) {
      if (mean_out) mean_out[r] = mean;
      if (rstd_out) rstd_out[r] = rstd;
    }
  }
}

// dx = rstd * (g dy - mean(g dy) - xhat * mean(g dy xhat))
__global__ void layernorm_bwd_dx_kernel(SpIn dy, SpIn x, SpIn gamma,
                                        const float* __restrict__ mean,
                                        const float* __restrict__ rstd, SpOut dx,
                                        int64_t rows, int64_t cols) {
  __shared__ float red[33];
  const float inv_cols = 1.f / static_cast<float>(cols);
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t row = r * cols;
    const float mu = mean[r], rs = rstd[r];
    float s1 = 0.f, s2 = 0.f;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
      const float gdy = dy[row + c] * (gamma.null() ? 1.f : gamma[c]);
      s1 += gdy;
      s2 = fmaf(gdy, (x[row + c] - mu) * rs, s2);
    }
    const float m1 = sp_block_sum(s1, red) * inv_cols;
    const float m2 = sp_block_sum(s2, red) * inv_cols;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
      const float gdy = dy[row + c] * (gamma.null() ? 1.f : gamma[c]);
      const float xhat = (x[row + c] - mu) * rs;
      dx.store(row + c, rs * (gdy - m1 - xhat * m2));
    }
  }
}

constexpr int kColTile = 32;  // columns per block (one warp wide: coalesced row reads)
constexpr int kRowLanes = 8;  // rows read in parallel per block

// Stage 1: partial[chunk, c] = sums over the rows of one chunk of dy*xhat and dy.
__global__ void layernorm_param_partial_kernel(SpIn dy, SpIn x,
                                               const float* __restrict__ mean,
                                               const float* __restrict__ rstd, int64_t rows,
                                               int64_t cols, int64_t rows_per_chunk,
                                               float* __restrict__ part_g,
                                               float* __restrict__ part_b) {
  __shared__ float sg[kRowLanes][kColTile];
  __shared__ float sb[kRowLanes][kColTile];
  const int64_t c = blockIdx.x * (int64_t)kColTile + threadIdx.x;
  const int64_t r0 = blockIdx.y * rows_per_chunk;
  const int64_t r1 = min(rows, r0 + rows_per_chunk);
  float acc_g = 0.f, acc_b = 0.f;
  if (c < cols) {
    for (int64_t r = r0 + threadIdx.y; r < r1; r += kRowLanes) {
      const float d = dy[r * cols + c];
      acc_g = fmaf(d, (x[r * cols + c] - mean[r]) * rstd[r], acc_g);
      acc_b += d;
    }
  }
  sg[threadIdx.y][threadIdx.x] = acc_g;
  sb[threadIdx.y][threadIdx.x] = acc_b;
  __syncthreads();
  if (threadIdx.y == 0 && c < cols) {
    float tg = 0.f, tb = 0.f;
    for (int i = 0; i < kRowLanes; ++i) {
      tg += sg[i][threadIdx.x];
      tb += sb[i][threadIdx.x];
    }
    part_g[blockIdx.y * cols + c] = tg;
    part_b[blockIdx.y * cols + c] = tb;
  }
}

// Stage 2: accumulate (+=) the chunk partials into dgamma/dbeta, chunks in a fixed order.
__global__ void layernorm_param_final_kernel(const float* __restrict__ part_g,
                                             const float* __restrict__ part_b, int chunks,
                                             int64_t cols, float* __restrict__ dgamma,
                                             float* __restrict__ dbeta) {
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < cols;
       c += (int64_t)gridDim.x * blockDim.x) {
    float tg = 0.f, tb = 0.f;
    for (int k = 0; k < chunks; ++k) {
      tg += part_g[k * cols + c];
      tb += part_b[k * cols + c];
    }
    if (dgamma) dgamma[c] += tg;
    if (dbeta) dbeta[c] += tb;
  }
}

unsigned row_grid(int64_t rows) { return static_cast<unsigned>(rows < 65535 * 8 ? rows : 65535 * 8); }

}  // namespace

namespace {

int launch_fwd(const char* fn, SpIn x, SpIn gamma, SpIn beta, float eps, SpOut y, float* mean,
               float* rstd, int64_t rows, int64_t cols, void* stream) {
  SP_CHECK_FN(fn, rows >= 0 && cols >= 0);
  SP_CHECK_FN(fn, rows == 0 || cols >= 1);
  SP_CHECK_FN(fn, eps >= 0.f);
  if (rows == 0) return SP_OK;
  SP_CHECK_FN(fn, !x.null() && !y.null());
  layernorm_fwd_kernel<<<row_grid(rows), kRowThreads, 0, sp_stream(stream)>>>(
      x, gamma, beta, eps, y, mean, rstd, rows, cols);
  SP_LAUNCH_CHECK_FN(fn);
  return SP_OK;
}

int launch_bwd(const char* fn, SpIn dy, SpIn x, SpIn gamma, const float* mean, const float* rstd,
               SpOut dx, float* dgamma, float* dbeta, int64_t rows, int64_t cols, void* stream) {
  SP_CHECK_FN(fn, rows >= 0 && cols >= 0);
  SP_CHECK_FN(fn, rows == 0 || cols >= 1);
  if (rows == 0) return SP_OK;
  SP_CHECK_FN(fn, !dy.null() && !x.null() && mean != nullptr && rstd != nullptr && !dx.null());
  cudaStream_t s = sp_stream(stream);
  layernorm_bwd_dx_kernel<<<row_grid(rows), kRowThreads, 0, s>>>(dy, x, gamma, mean, rstd, dx,
                                                                  rows, cols);
  SP_LAUNCH_CHECK_FN(fn);
  if (dgamma == nullptr && dbeta == nullptr) return SP_OK;

  // ~64 rows per chunk, at most 256 chunks: enough blocks to fill the device at ViT sizes.
  const int64_t chunks64 = std::min<int64_t>(256, (rows + 63) / 64);
  const int chunks = static_cast<int>(chunks64);
  const int64_t rows_per_chunk = (rows + chunks - 1) / chunks;
  float* part = nullptr;
  cudaError_t err = sp_scratch_alloc(&part, 2 * static_cast<size_t>(chunks) * cols, s);
  if (err != cudaSuccess) return sp_cuda_error(fn, err);
  float* part_g = part;
  float* part_b = part + static_cast<size_t>(chunks) * cols;
  const dim3 grid(static_cast<unsigned>((cols + kColTile - 1) / kColTile), chunks);
  layernorm_param_partial_kernel<<<grid, dim3(kColTile, kRowLanes), 0, s>>>(
      dy, x, mean, rstd, rows, cols, rows_per_chunk, part_g, part_b);
  layernorm_param_final_kernel<<<sp_grid_for(cols, 256), 256, 0, s>>>(part_g, part_b, chunks,
                                                                      cols, dgamma, dbeta);
  cudaError_t launch = cudaGetLastError();
  cudaError_t freed = cudaFreeAsync(part, s);
  if (launch != cudaSuccess) return sp_cuda_error(fn, launch);
  if (freed != cudaSuccess) return sp_cuda_error(fn, freed);
  return SP_OK;
}

}  // namespace

SP_EXPORT int sp_cuda_layernorm_fwd(const float* x, const float* gamma, const float* beta,
                                    float eps, float* y, float* mean, float* rstd, int64_t rows,
                                    int64_t cols, void* stream) {
  return launch_fwd(__func__, sp_in(x), sp_in(gamma), sp_in(beta), eps, sp_out(y), mean, rstd,
                    rows, cols, stream);
}

SP_EXPORT int sp_cuda_layernorm_bwd(const float* dy, const float* x, const float* gamma,
                                    const float* mean, const float* rstd, float* dx,
                                    float* dgamma, float* dbeta, int64_t rows, int64_t cols,
                                    void* stream) {
  return launch_bwd(__func__, sp_in(dy), sp_in(x), sp_in(gamma), mean, rstd, sp_out(dx), dgamma,
                    dbeta, rows, cols, stream);
}

SP_EXPORT int sp_cuda_layernorm_fwd_dt(const void* x, int x_dtype, const void* gamma,
                                       int gamma_dtype, const void* beta, int beta_dtype,
                                       float eps, void* y, int y_dtype, float* mean, float* rstd,
                                       int64_t rows, int64_t cols, void* stream) {
  SP_VIEW_IN(__func__, x, x_dtype);
  SP_VIEW_IN(__func__, gamma, gamma_dtype);
  SP_VIEW_IN(__func__, beta, beta_dtype);
  SP_VIEW_OUT(__func__, y, y_dtype);
  return launch_fwd(__func__, x_v, gamma_v, beta_v, eps, y_v, mean, rstd, rows, cols, stream);
}

SP_EXPORT int sp_cuda_layernorm_bwd_dt(const void* dy, int dy_dtype, const void* x, int x_dtype,
                                       const void* gamma, int gamma_dtype, const float* mean,
                                       const float* rstd, void* dx, int dx_dtype, float* dgamma,
                                       float* dbeta, int64_t rows, int64_t cols, void* stream) {
  SP_VIEW_IN(__func__, dy, dy_dtype);
  SP_VIEW_IN(__func__, x, x_dtype);
  SP_VIEW_IN(__func__, gamma, gamma_dtype);
  SP_VIEW_OUT(__func__, dx, dx_dtype);
  return launch_bwd(__func__, dy_v, x_v, gamma_v, mean, rstd, dx_v, dgamma, dbeta, rows, cols,
                    stream);
}
