// Reference retrieval: the literal composition of the definition, one layer per task. It
// materialises sigma for every seen class and the batch x seen x d products q * sigma, and
// differentiates sample by sample; the fused kernel is tested against it.
#include <algorithm>
#include <cmath>
#include <vector>

#include "parallel.h"
#include "retrieval_common.h"

namespace sp::retrieval {
namespace {

void softmax_row(const float* a, float* sigma, int d) {
  float m = a[0];
  for (int j = 1; j < d; ++j) m = std::max(m, a[j]);
  float sum = 0.0f;
  for (int j = 0; j < d; ++j) sum += sigma[j] = std::exp(a[j] - m);
  for (int j = 0; j < d; ++j) sigma[j] /= sum;
}

float dot(const float* x, const float* y, int n) {
  float s = 0.0f;
  for (int j = 0; j < n; ++j) s += x[j] * y[j];
  return s;
}

void forward_layer(const Args& a, int l, float* sims, int32_t* sel, float* sp) {
  const int B = a.batch, S = a.seen, d = a.d;
  std::vector<float> sigma(size_t(S) * d), u(size_t(B) * S * d);
  for (int c = 0; c < S; ++c) softmax_row(a.a_row(l, c), &sigma[size_t(c) * d], d);
  for (int b = 0; b < B; ++b)
    for (int c = 0; c < S; ++c)
      for (int j = 0; j < d; ++j)
        u[(size_t(b) * S + c) * d + j] = a.q_row(b)[j] * sigma[size_t(c) * d + j];
  for (int b = 0; b < B; ++b) {
    float* s = sims + a.sims_off(l, b);
    for (int c = 0; c < S; ++c) {
      const float* ubc = &u[(size_t(b) * S + c) * d];
      const float norm = std::sqrt(dot(ubc, ubc, d));
      s[c] = kSimScale * dot(ubc, a.key(c), d) / std::max(norm, kMinNorm);
    }
    int best = 0;
    for (int c = 1; c < S; ++c)
      if (s[c] > s[best]) best = c;
    sel[a.sel_off(l, b)] = best;
    const float w = a.modulate ? s[best] : 1.0f;
    const float* pc = a.p_row(l, best);
    float* out = sp + a.sp_off(l, b);
    for (int j = 0; j < a.dp; ++j) out[j] = w * pc[j];
  }
}

// ds/dsigma of s = 5 <u, k> / max(|u|, eps) with u = q * sigma:
// 5 q (k / m - n u / m^3) for m = |u| above the clamp, 5 q k / eps below it.
void similarity_grad(const float* qb, const float* sigma, const float* k, int d, float* out) {
  std::vector<float> u(d);
  for (int j = 0; j < d; ++j) u[j] = qb[j] * sigma[j];
  const float n = dot(u.data(), k, d);
  const float m = std::sqrt(dot(u.data(), u.data(), d));
  if (m > kMinNorm) {
    for (int j = 0; j < d; ++j) out[j] = kSimScale * qb[j] * (k[j] / m - n * u[j] / (m * m * m));
  } else {
    for (int j = 0; j < d; ++j) out[j] = kSimScale * qb[j] * k[j] / kMinNorm;
  }
}

void backward_layer(const Args& a, int l, int past, const float* sims, const int32_t* sel,
                    const float* dsp, float* da, float* dpg) {
  const int d = a.d;
  std::fill(da + int64_t(l) * a.classes * d, da + int64_t(l + 1) * a.classes * d, 0.0f);
  std::fill(dpg + int64_t(l) * a.classes * a.dp, dpg + int64_t(l + 1) * a.classes * a.dp, 0.0f);
  std::vector<float> sigma(d), ds(d);
  for (int b = 0; b < a.batch; ++b) {
    const int c = sel[a.sel_off(l, b)];
    if (c < past) continue;  // past classes are frozen
    const float* dspb = dsp + a.sp_off(l, b);
    const float w = a.modulate ? sims[a.sims_off(l, b) + c] : 1.0f;
    float* dpc = dpg + (int64_t(l) * a.classes + c) * a.dp;
    for (int j = 0; j < a.dp; ++j) dpc[j] += w * dspb[j];
    if (!a.modulate) continue;  // without modulation nothing depends on A
    const float g = dot(dspb, a.p_row(l, c), a.dp);
    softmax_row(a.a_row(l, c), sigma.data(), d);
    similarity_grad(a.q_row(b), sigma.data(), a.key(c), d, ds.data());
    for (int j = 0; j < d; ++j) ds[j] *= g;
    const float inner = dot(ds.data(), sigma.data(), d);
    float* dac = da + (int64_t(l) * a.classes + c) * d;
    for (int j = 0; j < d; ++j) dac[j] += sigma[j] * (ds[j] - inner);
  }
}


}  // namespace
}  // namespace sp::retrieval

using sp::retrieval::Args;

SP_EXPORT int sp_cpu_retrieval_fwd_naive(const float* q, const float* keys, const float* a,
                                         const float* p, int batch, int seen, int classes, int d,
                                         int dp, int layers, int modulate, float* sims,
                                         int32_t* sel, float* sp) {
  Args args{q, keys, a, p, batch, seen, classes, d, dp, layers, modulate != 0};
  int status = sp::retrieval::check_forward(__func__, args, sims, sel, sp);
  if (status != SP_OK) return status;
  if (batch == 0) return SP_OK;
  status = sp::parallel_for(layers, 1, [&](int64_t l0, int64_t l1) {
    for (int64_t l = l0; l < l1; ++l) sp::retrieval::forward_layer(args, int(l), sims, sel, sp);
  });
  return sp::finish(__func__, status);
}

SP_EXPORT int sp_cpu_retrieval_bwd_naive(const float* q, const float* keys, const float* a,
                                         const float* p, const float* sims, const int32_t* sel,
                                         const float* dsp, int batch, int seen, int classes,
                                         int past, int d, int dp, int layers, int modulate,
                                         float* da, float* dp_grad) {
  Args args{q, keys, a, p, batch, seen, classes, d, dp, layers, modulate != 0};
  int status = sp::retrieval::check_backward(__func__, args, past, sims, sel, dsp, da, dp_grad);
  if (status != SP_OK) return status;
  status = sp::parallel_for(layers, 1, [&](int64_t l0, int64_t l1) {
    for (int64_t l = l0; l < l1; ++l)
      sp::retrieval::backward_layer(args, int(l), past, sims, sel, dsp, da, dp_grad);
  });
  return sp::finish(__func__, status);
}
