// Bias, axpy and the two GELU flavours: memory-bound loops split across the pool in large
// chunks (a chunk must be big enough to amortise waking a thread).
#include <algorithm>
#include <cmath>

#include "check.h"
#include "parallel.h"
#include "simd.h"

namespace sp {
namespace {

constexpr int64_t kMinChunk = 1 << 15;

float gelu(float x) { return 0.5f * x * (1.0f + std::erf(x * float(M_SQRT1_2))); }

// d/dx [x Phi(x)] = Phi(x) + x phi(x)
float gelu_grad(float x) {
  const float cdf = 0.5f * (1.0f + std::erf(x * float(M_SQRT1_2)));
  const float pdf = std::exp(-0.5f * x * x) * float(0.5 * M_2_SQRTPI * M_SQRT1_2);
  return cdf + x * pdf;
}

constexpr float kQuickGeluAlpha = 1.702f;

float sigmoid(float z) { return 1.0f / (1.0f + std::exp(-z)); }

float quickgelu(float x) { return x * sigmoid(kQuickGeluAlpha * x); }

// d/dx [x s(ax)] = s + a x s (1 - s)
float quickgelu_grad(float x) {
  const float s = sigmoid(kQuickGeluAlpha * x);
  return s + kQuickGeluAlpha * x * s * (1.0f - s);
}

// y[i] = f(x[i]) in parallel chunks.
template <float (*F)(float)>
int map(const float* x, float* y, int64_t n) {
  return parallel_for(n, grain_for(n, kMinChunk), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = F(x[i]);
  });
}

// dx[i] = dy[i] * f'(x[i]).
template <float (*G)(float)>
int map_grad(const float* x, const float* dy, float* dx, int64_t n) {
  return parallel_for(n, grain_for(n, kMinChunk), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) dx[i] = dy[i] * G(x[i]);
  });
}

int finish(const char* fn, int status) {
  return status == SP_OK ? SP_OK : sp_fail(status, "%s: out of memory", fn);
}

}  // namespace
}  // namespace sp

SP_EXPORT int sp_cpu_add_bias(float* x, const float* bias, int64_t rows, int64_t cols) {
  SP_CHECK(rows >= 0 && cols >= 0);
  SP_CHECK(sp::present_or_empty(x, rows * cols));
  SP_CHECK(sp::present_or_empty(bias, rows > 0 ? cols : 0));
  const int64_t grain =
      sp::grain_for(rows, std::max<int64_t>(1, sp::kMinChunk / std::max<int64_t>(cols, 1)));
  int status = sp::parallel_for(rows, grain, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      float* row = x + r * cols;
      for (int64_t j = 0; j < cols; ++j) row[j] += bias[j];
    }
  });
  return sp::finish(__func__, status);
}

SP_EXPORT int sp_cpu_axpy(float* y, const float* x, float alpha, int64_t n) {
  SP_CHECK(n >= 0);
  SP_CHECK(sp::present_or_empty(y, n) && sp::present_or_empty(x, n));
  int status = sp::parallel_for(n, sp::grain_for(n, sp::kMinChunk), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] += alpha * x[i];
  });
  return sp::finish(__func__, status);
}

SP_EXPORT int sp_cpu_gelu_fwd(const float* x, float* y, int64_t n) {
  SP_CHECK(n >= 0);
  SP_CHECK(sp::present_or_empty(x, n) && sp::present_or_empty(y, n));
  return sp::finish(__func__, sp::map<sp::gelu>(x, y, n));
}

SP_EXPORT int sp_cpu_gelu_bwd(const float* x, const float* dy, float* dx, int64_t n) {
  SP_CHECK(n >= 0);
  SP_CHECK(sp::present_or_empty(x, n) && sp::present_or_empty(dy, n) &&
           sp::present_or_empty(dx, n));
  return sp::finish(__func__, sp::map_grad<sp::gelu_grad>(x, dy, dx, n));
}

SP_EXPORT int sp_cpu_quickgelu_fwd(const float* x, float* y, int64_t n) {
  SP_CHECK(n >= 0);
  SP_CHECK(sp::present_or_empty(x, n) && sp::present_or_empty(y, n));
  return sp::finish(__func__, sp::map<sp::quickgelu>(x, y, n));
}

SP_EXPORT int sp_cpu_quickgelu_bwd(const float* x, const float* dy, float* dx, int64_t n) {
  SP_CHECK(n >= 0);
  SP_CHECK(sp::present_or_empty(x, n) && sp::present_or_empty(dy, n) &&
           sp::present_or_empty(dx, n));
  return sp::finish(__func__, sp::map_grad<sp::quickgelu_grad>(x, dy, dx, n));
}
