// Optimiser steps, torch.optim semantics (Adam: L2 weight decay folded into the gradient,
// bias-corrected moments; SGD without momentum).
#include <cmath>

#include "common.cuh"

namespace {

constexpr int kThreads = 256;

// step_size = lr / (1 - beta1^t) and inv_sqrt_bc2 = 1 / sqrt(1 - beta2^t) come from the host
// in double precision, as torch computes them on the host.
__global__ void adam_kernel(float* __restrict__ param, const float* __restrict__ grad,
                            float* __restrict__ m, float* __restrict__ v, int64_t n,
                            float beta1, float beta2, float eps, float weight_decay,
                            float step_size, float inv_sqrt_bc2) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    const float p = param[i];
    const float g = fmaf(weight_decay, p, grad[i]);
    const float mi = fmaf(beta1, m[i], (1.f - beta1) * g);
    const float vi = fmaf(beta2, v[i], (1.f - beta2) * g * g);
    m[i] = mi;
    v[i] = vi;
    const float denom = sqrtf(vi) * inv_sqrt_bc2 + eps;
    param[i] = p - step_size * (mi / denom);
  }
}

__global__ void sgd_kernel(float* __restrict__ param, const float* __restrict__ grad, int64_t n,
                           float lr, float weight_decay) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    const float p = param[i];
    param[i] = p - lr * fmaf(weight_decay, p, grad[i]);
  }
}

}  // namespace

SP_EXPORT int sp_cuda_adam_step(float* param, const float* grad, float* m, float* v, int64_t n,
                                float lr, float beta1, float beta2, float eps,
                                float weight_decay, int step, void* stream) {
  SP_CHECK(n >= 0);
  SP_CHECK(step >= 1);
  SP_CHECK(beta1 >= 0.f && beta1 < 1.f && beta2 >= 0.f && beta2 < 1.f);
  if (n == 0) return SP_OK;
  SP_CHECK(param != nullptr && grad != nullptr && m != nullptr && v != nullptr);
  const double bc1 = 1.0 - std::pow(static_cast<double>(beta1), step);
  const double bc2 = 1.0 - std::pow(static_cast<double>(beta2), step);
  const float step_size = static_cast<float>(lr / bc1);
  const float inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
  adam_kernel<<<sp_grid_for(n, kThreads), kThreads, 0, sp_stream(stream)>>>(
      param, grad, m, v, n, beta1, beta2, eps, weight_decay, step_size, inv_sqrt_bc2);
  SP_LAUNCH_CHECK();
  return SP_OK;
}

SP_EXPORT int sp_cuda_sgd_step(float* param, const float* grad, int64_t n, float lr,
                               float weight_decay, void* stream) {
  SP_CHECK(n >= 0);
  if (n == 0) return SP_OK;
  SP_CHECK(param != nullptr && grad != nullptr);
  sgd_kernel<<<sp_grid_for(n, kThreads), kThreads, 0, sp_stream(stream)>>>(param, grad, n, lr,
                                                                          weight_decay);
  SP_LAUNCH_CHECK();
  return SP_OK;
}
