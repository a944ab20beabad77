// Optimiser steps with torch.optim semantics (Adam: L2 decay added to the gradient, bias
// correction; SGD: no momentum).
#include <cmath>

#include "check.h"
#include "parallel.h"

namespace sp {
namespace {

constexpr int64_t kMinChunk = 1 << 15;

struct AdamStep {
  float beta1, beta2, eps, wd;
  float step_size;  // lr / (1 - beta1^t)
  float bc2_sqrt;   // sqrt(1 - beta2^t)
};

// Bias corrections in double, as torch computes them on the Python side.
AdamStep adam_constants(float lr, float beta1, float beta2, float eps, float wd, int step) {
  const double bc1 = 1.0 - std::pow(double(beta1), step);
  const double bc2 = 1.0 - std::pow(double(beta2), step);
  return AdamStep{beta1, beta2, eps, wd, float(lr / bc1), float(std::sqrt(bc2))};
}

void adam_range(const AdamStep& c, float* p, const float* g, float* m, float* v, int64_t b,
                int64_t e) {
  for (int64_t i = b; i < e; ++i) {
    const float gi = g[i] + c.wd * p[i];
    m[i] = c.beta1 * m[i] + (1.0f - c.beta1) * gi;
    v[i] = c.beta2 * v[i] + (1.0f - c.beta2) * gi * gi;
    p[i] -= c.step_size * (m[i] / (std::sqrt(v[i]) / c.bc2_sqrt + c.eps));
  }
}


}  // namespace
}  // namespace sp

SP_EXPORT int sp_cpu_adam_step(float* param, const float* grad, float* m, float* v, int64_t n,
                               float lr, float beta1, float beta2, float eps, float weight_decay,
                               int step) {
  SP_CHECK(n >= 0 && step >= 1);
  SP_CHECK(beta1 >= 0.0f && beta1 < 1.0f && beta2 >= 0.0f && beta2 < 1.0f);
  SP_CHECK(sp::present_or_empty(param, n) && sp::present_or_empty(grad, n));
  SP_CHECK(sp::present_or_empty(m, n) && sp::present_or_empty(v, n));
  const sp::AdamStep c = sp::adam_constants(lr, beta1, beta2, eps, weight_decay, step);
  int status = sp::parallel_for(n, sp::grain_for(n, sp::kMinChunk), [&](int64_t b, int64_t e) {
    sp::adam_range(c, param, grad, m, v, b, e);
  });
  return sp::finish(__func__, status);
}

SP_EXPORT int sp_cpu_sgd_step(float* param, const float* grad, int64_t n, float lr,
                              float weight_decay) {
  SP_CHECK(n >= 0);
  SP_CHECK(sp::present_or_empty(param, n) && sp::present_or_empty(grad, n));
  int status = sp::parallel_for(n, sp::grain_for(n, sp::kMinChunk), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) param[i] -= lr * (grad[i] + weight_decay * param[i]);
  });
  return sp::finish(__func__, status);
}
