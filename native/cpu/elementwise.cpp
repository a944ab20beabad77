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

// Exact (erf) GELU, vectorised: scalar std::erf costs several ns an element, which made GELU
// a visible part of a transformer block. Phi and phi are the standard normal cdf and pdf.

template <class V>
SP_INLINE V normal_cdf(V x) {
  return 0.5f + 0.5f * verf(x * float(M_SQRT1_2));
}

// x Phi(x). Phi is exactly 0 below x ~ -5.5, so clamping x at -8 changes nothing there except
// that -inf gives the limit 0 instead of -inf * 0 = NaN.
template <class V>
SP_INLINE V gelu_v(V x) {
  return vmax(x, splat<V>(-8.0f)) * normal_cdf(x);
}

// d/dx [x Phi(x)] = Phi(x) + x phi(x). phi underflows to 0 beyond |x| ~ 13.2, so clamping the x
// factor at +-16 changes nothing there except that +-inf give the limits 1 and 0, not NaN.
// NaN still propagates (through verf and vexp).
template <class V>
SP_INLINE V gelu_grad_v(V x) {
  const V pdf = vexp(-0.5f * x * x) * float(0.5 * M_2_SQRTPI * M_SQRT1_2);
  const V xc = vmin(vmax(x, splat<V>(-16.0f)), splat<V>(16.0f));
  return normal_cdf(x) + xc * pdf;
}

// y[0..n) = gelu(x[0..n)); the last partial vector goes through a zero-padded buffer.
template <class V>
SP_INLINE void gelu_fwd_range_impl(const float* x, float* y, int64_t n) {
  constexpr int L = lanes<V>;
  int64_t i = 0;
  for (; i + L <= n; i += L) storev(y + i, gelu_v(loadv<V>(x + i)));
  if (i < n) {
    float buf[L] = {};
    std::copy(x + i, x + n, buf);
    storev(buf, gelu_v(loadv<V>(buf)));
    std::copy(buf, buf + (n - i), y + i);
  }
}
SP_DISPATCH(gelu_fwd_range, (const float* x, float* y, int64_t n), (x, y, n))

// dx[0..n) = dy * gelu'(x) over [0, n), tail as above.
template <class V>
SP_INLINE void gelu_bwd_range_impl(const float* x, const float* dy, float* dx, int64_t n) {
  constexpr int L = lanes<V>;
  int64_t i = 0;
  for (; i + L <= n; i += L)
    storev(dx + i, loadv<V>(dy + i) * gelu_grad_v(loadv<V>(x + i)));
  if (i < n) {
    float bx[L] = {}, bdy[L] = {};
    std::copy(x + i, x + n, bx);
    std::copy(dy + i, dy + n, bdy);
    storev(bx, loadv<V>(bdy) * gelu_grad_v(loadv<V>(bx)));
    std::copy(bx, bx + (n - i), dx + i);
  }
}
SP_DISPATCH(gelu_bwd_range, (const float* x, const float* dy, float* dx, int64_t n),
            (x, dy, dx, n))

// One row of the fused MLP epilogue: z = x + bias, y = gelu(z), and x = z when keep (the
// pre-activation the backward needs). One read of x and bias instead of the two passes of
// add_bias followed by gelu; z is the same float sum, so y matches the two-pass result exactly.
template <class V>
SP_INLINE void bias_gelu_row_impl(float* x, const float* bias, float* y, int64_t n, bool keep) {
  constexpr int L = lanes<V>;
  int64_t i = 0;
  for (; i + L <= n; i += L) {
    const V z = loadv<V>(x + i) + loadv<V>(bias + i);
    if (keep) storev(x + i, z);
    storev(y + i, gelu_v(z));
  }
  for (; i < n; ++i) {
    float bz[L] = {};
    bz[0] = x[i] + bias[i];
    if (keep) x[i] = bz[0];
    storev(bz, gelu_v(loadv<V>(bz)));
    y[i] = bz[0];
  }
}
SP_DISPATCH(bias_gelu_row, (float* x, const float* bias, float* y, int64_t n, bool keep),
            (x, bias, y, n, keep))

constexpr float kQuickGeluAlpha = 1.702f;

float sigmoid(float z) { return 1.0f / (1.0f + std::exp(-z)); }

float quickgelu(float x) { return x * sigmoid(kQuickGeluAlpha * x); }

// d/dx [x s(ax)] = s + a x s (1 - s)
float quickgelu_grad(float x) {
  const float s = sigmoid(kQuickGeluAlpha * x);
  return s + kQuickGeluAlpha * x * s * (1.0f - s);
}

// The QuickGELU form of bias_gelu_row (scalar, like quickgelu itself).
void bias_quickgelu_row(float* x, const float* bias, float* y, int64_t n, bool keep) {
  for (int64_t i = 0; i < n; ++i) {
    const float z = x[i] + bias[i];
    if (keep) x[i] = z;
    y[i] = quickgelu(z);
  }
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

SP_EXPORT int sp_cpu_bias_act_fwd(int act, float* x, const float* bias, float* y, int64_t rows,
                                  int64_t cols) {
  SP_CHECK(act == SP_ACT_GELU || act == SP_ACT_QUICKGELU);
  SP_CHECK(rows >= 0 && cols >= 0);
  SP_CHECK(sp::present_or_empty(x, rows * cols) && sp::present_or_empty(y, rows * cols));
  SP_CHECK(sp::present_or_empty(bias, rows > 0 ? cols : 0));
  const bool keep = x != y;
  const auto row_fn = act == SP_ACT_GELU ? sp::bias_gelu_row : sp::bias_quickgelu_row;
  const int64_t grain =
      sp::grain_for(rows, std::max<int64_t>(1, sp::kMinChunk / std::max<int64_t>(cols, 1)));
  int status = sp::parallel_for(rows, grain, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) row_fn(x + r * cols, bias, y + r * cols, cols, keep);
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
  int status = sp::parallel_for(n, sp::grain_for(n, sp::kMinChunk), [&](int64_t b, int64_t e) {
    sp::gelu_fwd_range(x + b, y + b, e - b);
  });
  return sp::finish(__func__, status);
}

SP_EXPORT int sp_cpu_gelu_bwd(const float* x, const float* dy, float* dx, int64_t n) {
  SP_CHECK(n >= 0);
  SP_CHECK(sp::present_or_empty(x, n) && sp::present_or_empty(dy, n) &&
           sp::present_or_empty(dx, n));
  int status = sp::parallel_for(n, sp::grain_for(n, sp::kMinChunk), [&](int64_t b, int64_t e) {
    sp::gelu_bwd_range(x + b, dy + b, dx + b, e - b);
  });
  return sp::finish(__func__, status);
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
