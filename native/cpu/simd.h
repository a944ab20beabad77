// Float vectors (GCC vector extensions) and the helpers the hot kernels share.
//
// The library is built without -march flags so that it loads on any x86-64 CPU. Hot kernels
// are written once as templates over the vector type V and compiled twice through
// SP_DISPATCH: with V = v8f for AVX2+FMA, and with V = v4f for the baseline (SSE2 has no
// 32-byte registers, so 8-lane vectors there would live on the stack). Everything they call is
// SP_INLINE so that it is compiled for the caller's target.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

// Passing 32-byte vectors between inlined helpers triggers an ABI note on the baseline target;
// nothing crosses a real call boundary, so the note is noise.
#pragma GCC diagnostic ignored "-Wpsabi"

#define SP_INLINE inline __attribute__((always_inline))

// SP_DISPATCH(name, (params), (args)) defines void name(params) that runs name##_impl<V>
// (an SP_INLINE template) compiled for AVX2+FMA with V = v8f when the CPU has them, else for
// the baseline with V = v4f. (target_clones would split "avx2,fma" into two clones, neither
// with both features.)
#if defined(__x86_64__) && !(defined(__AVX2__) && defined(__FMA__))
#define SP_DISPATCH(name, params, args)                                                        \
  __attribute__((target("avx2,fma"))) void name##_avx2 params { name##_impl<::sp::v8f> args; } \
  void name##_base params { name##_impl<::sp::v4f> args; }                                     \
  void name params {                                                                           \
    if (::sp::has_avx2_fma())                                                                  \
      name##_avx2 args;                                                                        \
    else                                                                                       \
      name##_base args;                                                                        \
  }
#else
#define SP_DISPATCH(name, params, args) \
  void name params { name##_impl<::sp::v8f> args; }
#endif

namespace sp {

inline bool has_avx2_fma() {
#if defined(__x86_64__)
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
#else
  return false;
#endif
}

typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

template <class V>
struct VecInt;
template <>
struct VecInt<v8f> {
  using type = v8i;
};
template <>
struct VecInt<v4f> {
  using type = v4i;
};

// Lanes of V; every padded width in the kernels (16) is a multiple of it.
template <class V>
constexpr int lanes = int(sizeof(V) / sizeof(float));

template <class V>
SP_INLINE V loadv(const float* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class V>
SP_INLINE void storev(float* p, V v) {
  std::memcpy(p, &v, sizeof v);
}
template <class V>
SP_INLINE V splat(float x) {
  return V{} + x;
}
template <class V>
SP_INLINE V vmax(V a, V b) {
  return a > b ? a : b;
}
template <class V>
SP_INLINE V vmin(V a, V b) {
  return a < b ? a : b;
}
template <class V>
SP_INLINE float hsum(V v) {
  float s = 0.0f;
  for (int i = 0; i < lanes<V>; ++i) s += v[i];
  return s;
}
template <class V>
SP_INLINE float hmax(V v) {
  float m = v[0];
  for (int i = 1; i < lanes<V>; ++i) m = v[i] > m ? v[i] : m;
  return m;
}

// exp(x) to about 2 ulp, for x known to lie in [-87, 88] (no checks: callers whose argument is
// bounded by construction skip the clamps). Split x = n ln2 + r with |r| <= ln2/2, then
// 2^n * poly(r).
template <class V>
SP_INLINE V vexp_in_range(V x) {
  using I = typename VecInt<V>::type;
  const float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer in the mantissa
  V t = x * 1.44269504088896341f + kRound;
  I n = (I)t - (I)splat<V>(kRound);
  V nf = t - kRound;
  V r = x - nf * 0.693359375f;  // ln2 split in two so that n * ln2_hi is exact
  r = r - nf * -2.12194440e-4f;
  V p = splat<V>(1.0f / 5040.0f);
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  return p * (V)((n + 127) << 23);
}

// exp(x) to about 2 ulp for x in [-87, 88]; exactly 0 below -87 (including -inf), which the
// masked softmax relies on; NaN stays NaN.
template <class V>
SP_INLINE V vexp(V x) {
  V y = vexp_in_range(vmin(vmax(x, splat<V>(-87.0f)), splat<V>(88.0f)));
  y = x == x ? y : x;
  return x < splat<V>(-87.0f) ? V{} : y;
}

// |x| and the sign of x moved onto the non-negative m, by bit operations (exact, also for
// -0, infinities and NaN).
template <class V>
SP_INLINE V vabs(V x) {
  using I = typename VecInt<V>::type;
  return (V)((I)x & 0x7fffffff);
}
template <class V>
SP_INLINE V with_sign_of(V m, V x) {
  using I = typename VecInt<V>::type;
  return (V)((I)m | ((I)x & (int32_t)0x80000000u));
}

// erf(x) to within 1e-7 absolute for every float x: exactly +-1 for |x| >= ~3.9 (where erfc
// is below half an ulp of 1) and for +-inf; NaN stays NaN. Both pieces are evaluated for every
// lane and blended, since lanes of real data straddle the split point too often for a branch
// to pay. Coefficients are minimax fits (Lawson iteration in double, rounded to float).
//  |x| < 0.921875: erf(x) = x + x P(x^2), the odd Taylor shape, so that erf keeps its relative
//                  accuracy (and the sign of zero) near 0. Fit error 1.6e-8 relative.
//  beyond:         erf(|x|) = 1 - exp(Q(|x|)): log erfc is smooth, so a short polynomial in |x|
//                  fits it, and its error is scaled down by erfc itself. Fit error 1.5e-9
//                  absolute on [0.921875, 4]; |x| is clamped to 4, where the result already
//                  rounds to 1.
template <class V>
SP_INLINE V verf(V x) {
  const V s = x * x;
  V p = splat<V>(-5.99086576e-4f);
  p = p * s + 4.99318307e-3f;
  p = p * s + -2.67666187e-2f;
  p = p * s + 1.12818159e-1f;
  p = p * s + -3.76124948e-1f;
  p = p * s + 1.28379151e-1f;  // 2/sqrt(pi) - 1: the leading term is x itself, exactly
  const V near_zero = x + x * p;

  const V a = vabs(x);
  const V t = vmin(a, splat<V>(4.0f));  // NaN becomes 4 here; restored below
  V q = splat<V>(1.94733599e-4f);
  q = q * t + -3.03159235e-3f;
  q = q * t + 2.21813675e-2f;
  q = q * t + -1.03838846e-1f;
  q = q * t + -6.37285829e-1f;
  q = q * t + -1.12761545e+0f;
  q = q * t + -2.09922888e-4f;
  const V tail = with_sign_of(1.0f - vexp_in_range(q), x);  // q lies in [-18.1, 0]

  const V r = a < splat<V>(0.921875f) ? near_zero : tail;
  return x == x ? r : x;
}

// Sum of x[0..n) in vector partial sums (a plain loop would not be vectorised without
// -ffast-math, and the partials also reduce rounding error).
template <class V>
SP_INLINE float sum_f(const float* x, int64_t n) {
  constexpr int L = lanes<V>;
  V acc{};
  int64_t i = 0;
  for (; i + L <= n; i += L) acc += loadv<V>(x + i);
  float s = hsum(acc);
  for (; i < n; ++i) s += x[i];
  return s;
}

template <class V>
SP_INLINE float dot_f(const float* x, const float* y, int64_t n) {
  constexpr int L = lanes<V>;
  V a0{}, a1{};
  int64_t i = 0;
  for (; i + 2 * L <= n; i += 2 * L) {
    a0 += loadv<V>(x + i) * loadv<V>(y + i);
    a1 += loadv<V>(x + i + L) * loadv<V>(y + i + L);
  }
  for (; i + L <= n; i += L) a0 += loadv<V>(x + i) * loadv<V>(y + i);
  float s = hsum(a0 + a1);
  for (; i < n; ++i) s += x[i] * y[i];
  return s;
}

template <class V>
SP_INLINE float max_f(const float* x, int64_t n) {
  constexpr int L = lanes<V>;
  float m = -INFINITY;
  int64_t i = 0;
  if (n >= L) {
    V acc = splat<V>(-INFINITY);
    for (; i + L <= n; i += L) acc = vmax(acc, loadv<V>(x + i));
    m = hmax(acc);
  }
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

// y[i] = exp(x[i] - shift) for i < n; returns the sum of the y. y may alias x.
template <class V>
SP_INLINE float exp_shift_sum(const float* x, float* y, int64_t n, float shift) {
  constexpr int L = lanes<V>;
  V acc{};
  int64_t i = 0;
  for (; i + L <= n; i += L) {
    V e = vexp(loadv<V>(x + i) - shift);
    storev(y + i, e);
    acc += e;
  }
  if (i < n) {
    // Tail through a padded buffer: the padding (-inf) contributes exp = 0.
    float buf[L];
    const int64_t rem = n - i;
    for (int j = 0; j < L; ++j) buf[j] = j < rem ? x[i + j] : -INFINITY;
    V e = vexp(loadv<V>(buf) - shift);
    storev(buf, e);
    for (int64_t j = 0; j < rem; ++j) y[i + j] = buf[j];
    acc += e;
  }
  return hsum(acc);
}

SP_INLINE int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

}  // namespace sp
