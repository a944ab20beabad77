// Pointwise ops: bias add, axpy, GELU (erf) and QuickGELU forward/backward.
#include "common.cuh"

namespace {

#define SP_GRID_STRIDE(i, n)                                                     \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n);      \
       i += (int64_t)gridDim.x * blockDim.x)

constexpr int kThreads = 256;

// Row index by division would cost a 64-bit divide per element; a 2-D grid (columns in x,
// rows strided in y) keeps the bias load coalesced and divide-free.
__global__ void add_bias_kernel(float* __restrict__ x, const float* __restrict__ bias,
                                int64_t rows, int64_t cols) {
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < cols;
       c += (int64_t)gridDim.x * blockDim.x) {
    const float bc = bias[c];
    for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) x[r * cols + c] += bc;
  }
}

__global__ void axpy_kernel(float* __restrict__ y, const float* __restrict__ x, float alpha,
                            int64_t n) {
  SP_GRID_STRIDE(i, n) y[i] = fmaf(alpha, x[i], y[i]);
}

constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;
constexpr float kQuickGeluAlpha = 1.702f;

__global__ void gelu_fwd_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t n) {
  SP_GRID_STRIDE(i, n) {
    const float v = x[i];
    y[i] = 0.5f * v * (1.f + erff(v * kInvSqrt2));
  }
}

// d/dx [x Phi(x)] = Phi(x) + x phi(x)
__global__ void gelu_bwd_kernel(const float* __restrict__ x, const float* __restrict__ dy,
                                float* __restrict__ dx, int64_t n) {
  SP_GRID_STRIDE(i, n) {
    const float v = x[i];
    const float cdf = 0.5f * (1.f + erff(v * kInvSqrt2));
    const float pdf = kInvSqrt2Pi * expf(-0.5f * v * v);
    dx[i] = dy[i] * (cdf + v * pdf);
  }
}

// Written so that exp never overflows: fast-math division by an infinite denominator is not
// guaranteed to give 0.
__device__ __forceinline__ float stable_sigmoid(float z) {
  const float e = expf(-fabsf(z));
  const float s = 1.f / (1.f + e);
  return z >= 0.f ? s : e * s;
}

__global__ void quickgelu_fwd_kernel(const float* __restrict__ x, float* __restrict__ y,
                                     int64_t n) {
  SP_GRID_STRIDE(i, n) {
    const float v = x[i];
    y[i] = v * stable_sigmoid(kQuickGeluAlpha * v);
  }
}

// d/dx [x s(a x)] = s + a x s (1 - s)
__global__ void quickgelu_bwd_kernel(const float* __restrict__ x, const float* __restrict__ dy,
                                     float* __restrict__ dx, int64_t n) {
  SP_GRID_STRIDE(i, n) {
    const float v = x[i];
    const float s = stable_sigmoid(kQuickGeluAlpha * v);
    dx[i] = dy[i] * (s + kQuickGeluAlpha * v * s * (1.f - s));
  }
}

}  // namespace

SP_EXPORT int sp_cuda_add_bias(float* x, const float* bias, int64_t rows, int64_t cols,
                               void* stream) {
  SP_CHECK(rows >= 0 && cols >= 0);
  if (rows == 0 || cols == 0) return SP_OK;
  SP_CHECK(x != nullptr && bias != nullptr);
  const int64_t col_blocks = (cols + kThreads - 1) / kThreads;
  const dim3 grid(static_cast<unsigned>(col_blocks < 65535 ? col_blocks : 65535),
                  static_cast<unsigned>(rows < 65535 ? rows : 65535));
  add_bias_kernel<<<grid, kThreads, 0, sp_stream(stream)>>>(x, bias, rows, cols);
  SP_LAUNCH_CHECK();
  return SP_OK;
}

SP_EXPORT int sp_cuda_axpy(float* y, const float* x, float alpha, int64_t n, void* stream) {
  SP_CHECK(n >= 0);
  if (n == 0) return SP_OK;
  SP_CHECK(y != nullptr && x != nullptr);
  axpy_kernel<<<sp_grid_for(n, kThreads), kThreads, 0, sp_stream(stream)>>>(y, x, alpha, n);
  SP_LAUNCH_CHECK();
  return SP_OK;
}

SP_EXPORT int sp_cuda_gelu_fwd(const float* x, float* y, int64_t n, void* stream) {
  SP_CHECK(n >= 0);
  if (n == 0) return SP_OK;
  SP_CHECK(x != nullptr && y != nullptr);
  gelu_fwd_kernel<<<sp_grid_for(n, kThreads), kThreads, 0, sp_stream(stream)>>>(x, y, n);
  SP_LAUNCH_CHECK();
  return SP_OK;
}

SP_EXPORT int sp_cuda_gelu_bwd(const float* x, const float* dy, float* dx, int64_t n,
                               void* stream) {
  SP_CHECK(n >= 0);
  if (n == 0) return SP_OK;
  SP_CHECK(x != nullptr && dy != nullptr && dx != nullptr);
  gelu_bwd_kernel<<<sp_grid_for(n, kThreads), kThreads, 0, sp_stream(stream)>>>(x, dy, dx, n);
  SP_LAUNCH_CHECK();
  return SP_OK;
}

SP_EXPORT int sp_cuda_quickgelu_fwd(const float* x, float* y, int64_t n, void* stream) {
  SP_CHECK(n >= 0);
  if (n == 0) return SP_OK;
  SP_CHECK(x != nullptr && y != nullptr);
  quickgelu_fwd_kernel<<<sp_grid_for(n, kThreads), kThreads, 0, sp_stream(stream)>>>(x, y, n);
  SP_LAUNCH_CHECK();
  return SP_OK;
}

SP_EXPORT int sp_cuda_quickgelu_bwd(const float* x, const float* dy, float* dx, int64_t n,
                                    void* stream) {
  SP_CHECK(n >= 0);
  if (n == 0) return SP_OK;
  SP_CHECK(x != nullptr && dy != nullptr && dx != nullptr);
  quickgelu_bwd_kernel<<<sp_grid_for(n, kThreads), kThreads, 0, sp_stream(stream)>>>(x, dy, dx,
                                                                                    n);
  SP_LAUNCH_CHECK();
  return SP_OK;
}
