// CODA-Prompt component weighting (methods/coda-prompt.md §3, §6) for all prompted layers:
//   alpha[l,b,k] = <u/max(|u|,eps), K_k/max(|K_k|,eps)>, u = q_b * A_k, for k < used
//   out[l,b,:]   = sum_k alpha[l,b,k] P_k
// The backward never forms the batch x used x D products u either: with g = <dout_b, P_k>,
// c1 = g/max(m,eps) and c2 = g*alpha/m^2 (0 when m is at the floor) per (image, component),
//   dA_k = Khat_k * sum_b c1 q_b - A_k * sum_b c2 q_b^2
//   dK_k = (A_k * sum_b c1 q_b - [n > eps] (sum_b g alpha) K_k / n) / max(n, eps)
// so one task per (layer, component) reduces over the batch in a fixed order: deterministic
// and independent of the thread count. Reductions over D and R run in double.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "check.h"
#include "parallel.h"

namespace sp::weighting {
namespace {

constexpr double kMinNorm = 1e-12;

struct Args {
  const float *q, *keys, *attn, *comps;
  int batch, components, used, d, row, layers;

  int64_t vec(int l, int k) const { return (int64_t(l) * components + k) * d; }
  int64_t comp(int l, int k) const { return (int64_t(l) * components + k) * row; }
  int64_t out(int l, int b) const { return (int64_t(l) * batch + b) * row; }
  int64_t alpha(int l, int b) const { return (int64_t(l) * batch + b) * used; }
};

int check_inputs(const char* fn, const Args& a) {
  SP_CHECK_IN(fn, a.batch >= 0 && a.layers >= 0 && a.d >= 1 && a.row >= 0);
  SP_CHECK_IN(fn, a.used >= 1 && a.used <= a.components);
  SP_CHECK_IN(fn, present_or_empty(a.q, int64_t(a.batch) * a.d));
  SP_CHECK_IN(fn, present_or_empty(a.keys, int64_t(a.layers) * a.components * a.d));
  SP_CHECK_IN(fn, present_or_empty(a.attn, int64_t(a.layers) * a.components * a.d));
  SP_CHECK_IN(fn, present_or_empty(a.comps, int64_t(a.layers) * a.components * a.row));
  return SP_OK;
}

double norm(const float* x, int n) {
  double s = 0.0;
  for (int j = 0; j < n; ++j) s += double(x[j]) * x[j];
  return std::sqrt(s);
}

// The cosine of q_b * A_k to K_k, and |q_b * A_k|.
struct Cosine {
  double alpha, m;
};

Cosine cosine(const float* qb, const float* a, const float* k, double key_norm, int d) {
  double dot = 0.0, uu = 0.0;
  for (int j = 0; j < d; ++j) {
    const double u = double(qb[j]) * a[j];
    dot += u * k[j];
    uu += u * u;
  }
  const double m = std::sqrt(uu);
  return {dot / (std::max(m, kMinNorm) * std::max(key_norm, kMinNorm)), m};
}

void forward_alpha(const Args& a, int l, int k, float* alpha) {
  const float *ak = a.attn + a.vec(l, k), *kk = a.keys + a.vec(l, k);
  const double n = norm(kk, a.d);
  for (int b = 0; b < a.batch; ++b)
    alpha[a.alpha(l, b) + k] = float(cosine(a.q + int64_t(b) * a.d, ak, kk, n, a.d).alpha);
}

void forward_sum(const Args& a, int l, int b, const float* alpha, float* out) {
  float* o = out + a.out(l, b);
  std::fill(o, o + a.row, 0.0f);
  for (int k = 0; k < a.used; ++k) {
    const float w = alpha[a.alpha(l, b) + k];
    const float* p = a.comps + a.comp(l, k);
    for (int j = 0; j < a.row; ++j) o[j] += w * p[j];
  }
}

// Gradients of one trained component of one layer (rows of dkeys, dattn, dcomps overwritten).
void backward_component(const Args& a, int l, int k, const float* dout, float* dkeys, float* dattn,
                        float* dcomps) {
  const int d = a.d;
  const float *ak = a.attn + a.vec(l, k), *kk = a.keys + a.vec(l, k), *pk = a.comps + a.comp(l, k);
  const double n = norm(kk, d), nc = std::max(n, kMinNorm);
  std::vector<double> w1(d, 0.0), w2(d, 0.0);
  double g_alpha = 0.0;
  float* dp = dcomps + a.comp(l, k);
  std::fill(dp, dp + a.row, 0.0f);
  for (int b = 0; b < a.batch; ++b) {
    const float* qb = a.q + int64_t(b) * d;
    const float* db = dout + a.out(l, b);
    const Cosine c = cosine(qb, ak, kk, n, d);
    double g = 0.0;
    for (int j = 0; j < a.row; ++j) g += double(db[j]) * pk[j];
    const float w = float(c.alpha);
    for (int j = 0; j < a.row; ++j) dp[j] += w * db[j];
    const double c1 = g / std::max(c.m, kMinNorm);
    const double c2 = c.m > kMinNorm ? g * c.alpha / (c.m * c.m) : 0.0;
    for (int j = 0; j < d; ++j) {
      w1[j] += c1 * qb[j];
      w2[j] += c2 * double(qb[j]) * qb[j];
    }
    g_alpha += g * c.alpha;
  }
  float *dkk = dkeys + a.vec(l, k), *dak = dattn + a.vec(l, k);
  const double pull = n > kMinNorm ? g_alpha / n : 0.0;
  for (int j = 0; j < d; ++j) {
    dak[j] = float(kk[j] / nc * w1[j] - ak[j] * w2[j]);
    dkk[j] = float((ak[j] * w1[j] - pull * kk[j]) / nc);
  }
}

void zero_rows(float* x, const Args& a, int l, int k0, int k1, int width) {
  const int64_t base = int64_t(l) * a.components;
  std::fill(x + (base + k0) * width, x + (base + k1) * width, 0.0f);
}

}  // namespace
}  // namespace sp::weighting

using sp::weighting::Args;

SP_EXPORT int sp_cpu_component_weighting_fwd(const float* q, const float* keys, const float* attn,
                                             const float* comps, int batch, int components,
                                             int used, int d, int row, int layers, float* alpha,
                                             float* out) {
  Args a{q, keys, attn, comps, batch, components, used, d, row, layers};
  int status = sp::weighting::check_inputs(__func__, a);
  if (status != SP_OK) return status;
  SP_CHECK(sp::present_or_empty(alpha, int64_t(layers) * batch * used));
  SP_CHECK(sp::present_or_empty(out, int64_t(layers) * batch * row));
  if (batch == 0 || layers == 0) return SP_OK;
  status = sp::parallel_for(int64_t(layers) * used, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i)
      sp::weighting::forward_alpha(a, int(i / used), int(i % used), alpha);
  });
  if (status != SP_OK) return sp::finish(__func__, status);
  status = sp::parallel_for(int64_t(layers) * batch, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i)
      sp::weighting::forward_sum(a, int(i / batch), int(i % batch), alpha, out);
  });
  return sp::finish(__func__, status);
}

SP_EXPORT int sp_cpu_component_weighting_bwd(const float* q, const float* keys, const float* attn,
                                             const float* comps, const float* dout, int batch,
                                             int components, int used, int from, int d, int row,
                                             int layers, float* dkeys, float* dattn,
                                             float* dcomps) {
  Args a{q, keys, attn, comps, batch, components, used, d, row, layers};
  int status = sp::weighting::check_inputs(__func__, a);
  if (status != SP_OK) return status;
  SP_CHECK(from >= 0 && from <= used);
  SP_CHECK(sp::present_or_empty(dout, int64_t(layers) * batch * row));
  const int64_t vecs = int64_t(layers) * components * d;
  SP_CHECK(sp::present_or_empty(dkeys, vecs) && sp::present_or_empty(dattn, vecs));
  SP_CHECK(sp::present_or_empty(dcomps, int64_t(layers) * components * row));
  for (int l = 0; l < layers; ++l) {
    // Frozen components were used but get nothing; unused ones get nothing either.
    for (float* x : {dkeys, dattn}) {
      sp::weighting::zero_rows(x, a, l, 0, from, d);
      sp::weighting::zero_rows(x, a, l, used, components, d);
    }
    sp::weighting::zero_rows(dcomps, a, l, 0, from, row);
    sp::weighting::zero_rows(dcomps, a, l, used, components, row);
  }
  const int trained = used - from;
  if (layers == 0 || trained == 0) return SP_OK;
  status = sp::parallel_for(int64_t(layers) * trained, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i)
      sp::weighting::backward_component(a, int(i / trained), from + int(i % trained), dout, dkeys,
                                        dattn, dcomps);
  });
  return sp::finish(__func__, status);
}
