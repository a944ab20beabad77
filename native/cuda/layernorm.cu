// LayerNorm over the last dim: one block per row, two-pass statistics (mean first, then the
// centred variance: the one-pass E[x^2]-E[x]^2 loses digits on offset activations).
// dgamma/dbeta are column sums over rows, reduced in two deterministic stages (row chunks to
// scratch, then chunks) instead of float atomics, so results do not vary run to run.
#include <algorithm>

#include "common.cuh"

namespace {

constexpr int kRowThreads = 256;

__global__ void layernorm_fwd_kernel(const float* __restrict__ x, const float* __restrict__ gamma,
                                     const float* __restrict__ beta, float eps,
                                     float* __restrict__ y, float* __restrict__ mean_out,
                                     float* __restrict__ rstd_out, int64_t rows, int64_t cols) {
  __shared__ float red[33];
  const float inv_cols = 1.f / static_cast<float>(cols);
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * cols;
    float s = 0.f;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) s += xr[c];
    const float mean = sp_block_sum(s, red) * inv_cols;
    float v = 0.f;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
      const float d = xr[c] - mean;
      v = fmaf(d, d, v);
    }
    const float rstd = rsqrtf(sp_block_sum(v, red) * inv_cols + eps);
    float* yr = y + r * cols;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
      const float g = gamma ? gamma[c] : 1.f;
      const float b = beta ? beta[c] : 0.f;
      yr[c] = fmaf((xr[c] - mean) * rstd, g, b);
    }
    if (threadIdx.x == 0) {
      if (mean_out) mean_out[r] = mean;
      if (rstd_out) rstd_out[r] = rstd;
    }
  }
}

// dx = rstd * (g dy - mean(g dy) - xhat * mean(g dy xhat))
__global__ void layernorm_bwd_dx_kernel(const float* __restrict__ dy, const float* __restrict__ x,
                                        const float* __restrict__ gamma,
                                        const float* __restrict__ mean,
                                        const float* __restrict__ rstd, float* __restrict__ dx,
                                        int64_t rows, int64_t cols) {
  __shared__ float red[33];
  const float inv_cols = 1.f / static_cast<float>(cols);
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * cols;
    const float* dyr = dy + r * cols;
    const float mu = mean[r], rs = rstd[r];
    float s1 = 0.f, s2 = 0.f;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
      const float gdy = dyr[c] * (gamma ? gamma[c] : 1.f);
      s1 += gdy;
      s2 = fmaf(gdy, (xr[c] - mu) * rs, s2);
    }
    const float m1 = sp_block_sum(s1, red) * inv_cols;
    const float m2 = sp_block_sum(s2, red) * inv_cols;
    float* dxr = dx + r * cols;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
      const float gdy = dyr[c] * (gamma ? gamma[c] : 1.f);
      const float xhat = (xr[c] - mu) * rs;
      dxr[c] = rs * (gdy - m1 - xhat * m2);
    }
  }
}

constexpr int kColTile = 32;  // columns per block (one warp wide: coalesced row reads)
constexpr int kRowLanes = 8;  // rows read in parallel per block

// Stage 1: partial[chunk, c] = sums over the rows of one chunk of dy*xhat and dy.
__global__ void layernorm_param_partial_kernel(const float* __restrict__ dy,
                                               const float* __restrict__ x,
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

SP_EXPORT int sp_cuda_layernorm_fwd(const float* x, const float* gamma, const float* beta,
                                    float eps, float* y, float* mean, float* rstd, int64_t rows,
                                    int64_t cols, void* stream) {
  SP_CHECK(rows >= 0 && cols >= 0);
  SP_CHECK(rows == 0 || cols >= 1);
  SP_CHECK(eps >= 0.f);
  if (rows == 0) return SP_OK;
  SP_CHECK(x != nullptr && y != nullptr);
  layernorm_fwd_kernel<<<row_grid(rows), kRowThreads, 0, sp_stream(stream)>>>(
      x, gamma, beta, eps, y, mean, rstd, rows, cols);
  SP_LAUNCH_CHECK();
  return SP_OK;
}

SP_EXPORT int sp_cuda_layernorm_bwd(const float* dy, const float* x, const float* gamma,
                                    const float* mean, const float* rstd, float* dx,
                                    float* dgamma, float* dbeta, int64_t rows, int64_t cols,
                                    void* stream) {
  SP_CHECK(rows >= 0 && cols >= 0);
  SP_CHECK(rows == 0 || cols >= 1);
  if (rows == 0) return SP_OK;
  SP_CHECK(dy != nullptr && x != nullptr && mean != nullptr && rstd != nullptr && dx != nullptr);
  cudaStream_t s = sp_stream(stream);
  layernorm_bwd_dx_kernel<<<row_grid(rows), kRowThreads, 0, s>>>(dy, x, gamma, mean, rstd, dx,
                                                                  rows, cols);
  SP_LAUNCH_CHECK();
  if (dgamma == nullptr && dbeta == nullptr) return SP_OK;

  // ~64 rows per chunk, at most 256 chunks: enough blocks to fill the device at ViT sizes.
  const int64_t chunks64 = std::min<int64_t>(256, (rows + 63) / 64);
  const int chunks = static_cast<int>(chunks64);
  const int64_t rows_per_chunk = (rows + chunks - 1) / chunks;
  float* part = nullptr;
  SP_CUDA_TRY(sp_scratch_alloc(&part, 2 * static_cast<size_t>(chunks) * cols, s));
  float* part_g = part;
  float* part_b = part + static_cast<size_t>(chunks) * cols;
  const dim3 grid(static_cast<unsigned>((cols + kColTile - 1) / kColTile), chunks);
  layernorm_param_partial_kernel<<<grid, dim3(kColTile, kRowLanes), 0, s>>>(
      dy, x, mean, rstd, rows, cols, rows_per_chunk, part_g, part_b);
  layernorm_param_final_kernel<<<sp_grid_for(cols, 256), 256, 0, s>>>(part_g, part_b, chunks,
                                                                      cols, dgamma, dbeta);
  cudaError_t launch = cudaGetLastError();
  cudaError_t freed = cudaFreeAsync(part, s);
  if (launch != cudaSuccess) return sp_cuda_error(__func__, launch);
  SP_CUDA_TRY(freed);
  return SP_OK;
}
