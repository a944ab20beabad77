// Pointwise ops: bias add, the fused bias + activation epilogue, axpy, GELU (erf) and QuickGELU
// forward/backward. Every kernel reads and writes through SpIn/SpOut (common.cuh): f32 math,
// bf16 operands widened on load and rounded to nearest even on store.
#include "common.cuh"

namespace {

#define SP_GRID_STRIDE(i, n)                                                     \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n);      \
       i += (int64_t)gridDim.x * blockDim.x)

constexpr int kThreads = 256;

constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;
constexpr float kQuickGeluAlpha = 1.702f;

// Written so that exp never overflows: fast-math division by an infinite denominator is not
// guaranteed to give 0.
__device__ __forceinline__ float stable_sigmoid(float z) {
  const float e = expf(-fabsf(z));
  const float s = 1.f / (1.f + e);
  return z >= 0.f ? s : e * s;
}

__device__ __forceinline__ float act_fwd(int act, float v) {
  if (act == SP_ACT_GELU) return 0.5f * v * (1.f + erff(v * kInvSqrt2));
  return v * stable_sigmoid(kQuickGeluAlpha * v);
}

// GELU: d/dx [x Phi(x)] = Phi(x) + x phi(x). QuickGELU: d/dx [x s(a x)] = s + a x s (1 - s).
__device__ __forceinline__ float act_grad(int act, float v) {
  if (act == SP_ACT_GELU) {
    const float cdf = 0.5f * (1.f + erff(v * kInvSqrt2));
    return cdf + v * kInvSqrt2Pi * expf(-0.5f * v * v);
  }
  const float s = stable_sigmoid(kQuickGeluAlpha * v);
  return s + kQuickGeluAlpha * v * s * (1.f - s);
}

// Row index by division would cost a 64-bit divide per element; a 2-D grid (columns in x,
// rows strided in y) keeps the bias load coalesced and divide-free. act < 0: bias only.
// With y distinct from x, x keeps z = x + bias (what the activation's backward reads); y's
// activation is taken of the unrounded z, as the host form computes it.
__global__ void bias_act_kernel(int act, SpOut x, SpIn bias, SpOut y, int64_t rows,
                                int64_t cols) {
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < cols;
       c += (int64_t)gridDim.x * blockDim.x) {
    const float bc = bias[c];
    for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
      const int64_t i = r * cols + c;
      const float z = x.load(i) + bc;
      if (act < 0) {
        x.store(i, z);
        continue;
      }
      if (y.p != x.p) x.store(i, z);
      y.store(i, act_fwd(act, z));
    }
  }
}

__global__ void axpy_kernel(SpOut y, SpIn x, float alpha, int64_t n) {
  SP_GRID_STRIDE(i, n) y.store(i, fmaf(alpha, x[i], y.load(i)));
}

__global__ void act_fwd_kernel(int act, SpIn x, SpOut y, int64_t n) {
  SP_GRID_STRIDE(i, n) y.store(i, act_fwd(act, x[i]));
}

__global__ void act_bwd_kernel(int act, SpIn x, SpIn dy, SpOut dx, int64_t n) {
  SP_GRID_STRIDE(i, n) dx.store(i, dy[i] * act_grad(act, x[i]));
}

int launch_bias_act(const char* fn, int act, SpOut x, SpIn bias, SpOut y, int64_t rows,
                    int64_t cols, void* stream) {
  SP_CHECK_FN(fn, rows >= 0 && cols >= 0);
  if (rows == 0 || cols == 0) return SP_OK;
  SP_CHECK_FN(fn, !x.null() && !bias.null() && !y.null());
  const int64_t col_blocks = (cols + kThreads - 1) / kThreads;
  const dim3 grid(static_cast<unsigned>(col_blocks < 65535 ? col_blocks : 65535),
                  static_cast<unsigned>(rows < 65535 ? rows : 65535));
  bias_act_kernel<<<grid, kThreads, 0, sp_stream(stream)>>>(act, x, bias, y, rows, cols);
  SP_LAUNCH_CHECK_FN(fn);
  return SP_OK;
}

int launch_axpy(const char* fn, SpOut y, SpIn x, float alpha, int64_t n, void* stream) {
  SP_CHECK_FN(fn, n >= 0);
  if (n == 0) return SP_OK;
  SP_CHECK_FN(fn, !y.null() && !x.null());
  axpy_kernel<<<sp_grid_for(n, kThreads), kThreads, 0, sp_stream(stream)>>>(y, x, alpha, n);
  SP_LAUNCH_CHECK_FN(fn);
  return SP_OK;
}

int launch_act_fwd(const char* fn, int act, SpIn x, SpOut y, int64_t n, void* stream) {
  SP_CHECK_FN(fn, act == SP_ACT_GELU || act == SP_ACT_QUICKGELU);
  SP_CHECK_FN(fn, n >= 0);
  if (n == 0) return SP_OK;
  SP_CHECK_FN(fn, !x.null() && !y.null());
  act_fwd_kernel<<<sp_grid_for(n, kThreads), kThreads, 0, sp_stream(stream)>>>(act, x, y, n);
  SP_LAUNCH_CHECK_FN(fn);
  return SP_OK;
}

int launch_act_bwd(const char* fn, int act, SpIn x, SpIn dy, SpOut dx, int64_t n, void* stream) {
  SP_CHECK_FN(fn, act == SP_ACT_GELU || act == SP_ACT_QUICKGELU);
  SP_CHECK_FN(fn, n >= 0);
  if (n == 0) return SP_OK;
  SP_CHECK_FN(fn, !x.null() && !dy.null() && !dx.null());
  act_bwd_kernel<<<sp_grid_for(n, kThreads), kThreads, 0, sp_stream(stream)>>>(act, x, dy, dx, n);
  SP_LAUNCH_CHECK_FN(fn);
  return SP_OK;
}

}  // namespace

SP_EXPORT int sp_cuda_add_bias(float* x, const float* bias, int64_t rows, int64_t cols,
                               void* stream) {
  return launch_bias_act(__func__, -1, sp_out(x), sp_in(bias), sp_out(x), rows, cols, stream);
}

SP_EXPORT int sp_cuda_axpy(float* y, const float* x, float alpha, int64_t n, void* stream) {
  return launch_axpy(__func__, sp_out(y), sp_in(x), alpha, n, stream);
}

SP_EXPORT int sp_cuda_gelu_fwd(const float* x, float* y, int64_t n, void* stream) {
  return launch_act_fwd(__func__, SP_ACT_GELU, sp_in(x), sp_out(y), n, stream);
}

SP_EXPORT int sp_cuda_gelu_bwd(const float* x, const float* dy, float* dx, int64_t n,
                               void* stream) {
  return launch_act_bwd(__func__, SP_ACT_GELU, sp_in(x), sp_in(dy), sp_out(dx), n, stream);
}

SP_EXPORT int sp_cuda_quickgelu_fwd(const float* x, float* y, int64_t n, void* stream) {
  return launch_act_fwd(__func__, SP_ACT_QUICKGELU, sp_in(x), sp_out(y), n, stream);
}

SP_EXPORT int sp_cuda_quickgelu_bwd(const float* x, const float* dy, float* dx, int64_t n,
                                    void* stream) {
  return launch_act_bwd(__func__, SP_ACT_QUICKGELU, sp_in(x), sp_in(dy), sp_out(dx), n, stream);
}

SP_EXPORT int sp_cuda_add_bias_dt(void* x, int x_dtype, const void* bias, int bias_dtype,
                                  int64_t rows, int64_t cols, void* stream) {
  SP_VIEW_OUT(__func__, x, x_dtype);
  SP_VIEW_IN(__func__, bias, bias_dtype);
  return launch_bias_act(__func__, -1, x_v, bias_v, x_v, rows, cols, stream);
}

SP_EXPORT int sp_cuda_bias_act_fwd_dt(int act, void* x, int x_dtype, const void* bias,
                                      int bias_dtype, void* y, int y_dtype, int64_t rows,
                                      int64_t cols, void* stream) {
  SP_CHECK(act == SP_ACT_GELU || act == SP_ACT_QUICKGELU);
  SP_CHECK(y == x ? y_dtype == x_dtype : true);
  SP_VIEW_OUT(__func__, x, x_dtype);
  SP_VIEW_IN(__func__, bias, bias_dtype);
  SP_VIEW_OUT(__func__, y, y_dtype);
  return launch_bias_act(__func__, act, x_v, bias_v, y_v, rows, cols, stream);
}

SP_EXPORT int sp_cuda_axpy_dt(void* y, int y_dtype, const void* x, int x_dtype, float alpha,
                              int64_t n, void* stream) {
  SP_VIEW_OUT(__func__, y, y_dtype);
  SP_VIEW_IN(__func__, x, x_dtype);
  return launch_axpy(__func__, y_v, x_v, alpha, n, stream);
}

SP_EXPORT int sp_cuda_activation_fwd_dt(int act, const void* x, int x_dtype, void* y,
                                        int y_dtype, int64_t n, void* stream) {
  SP_VIEW_IN(__func__, x, x_dtype);
  SP_VIEW_OUT(__func__, y, y_dtype);
  return launch_act_fwd(__func__, act, x_v, y_v, n, stream);
}

SP_EXPORT int sp_cuda_activation_bwd_dt(int act, const void* x, int x_dtype, const void* dy,
                                        int dy_dtype, void* dx, int dx_dtype, int64_t n,
                                        void* stream) {
  SP_VIEW_IN(__func__, x, x_dtype);
  SP_VIEW_IN(__func__, dy, dy_dtype);
  SP_VIEW_OUT(__func__, dx, dx_dtype);
  return launch_act_bwd(__func__, act, x_v, dy_v, dx_v, n, stream);
}
