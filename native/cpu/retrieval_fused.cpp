// Fused retrieval in GEMM form (ALGORITHM.md §10.2):
//   sims = 5 (Q (sigma*K)^T) / max(sqrt((Q*Q)(sigma*sigma)^T), 1e-12)
// The batch x seen x d products are never formed: per (layer, class block) a task builds the
// rows sigma_c * k_c and sigma_c^2 and multiplies them against the shared, transposed Q and
// Q*Q with the register-blocked tile product. A second pass takes the argmax and gathers the
// prompts. The backward touches only the selected current classes, grouped by class so that
// each softmax Jacobian is applied once per class rather than once per sample.
#include <algorithm>
#include <cmath>
#include <new>
#include <vector>

#include "microkernel.h"
#include "parallel.h"
#include "retrieval_common.h"

namespace sp::retrieval {
namespace {

using mk::AView;
using mk::kNR;

constexpr int kClassBlock = 32;  // classes per task
constexpr int kDepth = 256;      // d per pass of the tile product, so a B panel stays in L1

// Q^T and (Q*Q)^T, d x bp with the batch padded to kNR: the B operands of every task.
struct QueryPanels {
  int bp;
  std::vector<float> qt, q2t;
};

void pack_queries(const Args& a, QueryPanels& qp) {
  qp.bp = int(round_up(a.batch, kNR));
  qp.qt.assign(size_t(a.d) * qp.bp, 0.0f);
  qp.q2t.assign(size_t(a.d) * qp.bp, 0.0f);
  for (int b = 0; b < a.batch; ++b) {
    const float* qb = a.q_row(b);
    for (int j = 0; j < a.d; ++j) {
      qp.qt[size_t(j) * qp.bp + b] = qb[j];
      qp.q2t[size_t(j) * qp.bp + b] = qb[j] * qb[j];
    }
  }
}

// sigma = softmax(a) over d.
template <class V>
SP_INLINE void softmax_row(const float* a, float* sigma, int d) {
  const float inv = 1.0f / exp_shift_sum<V>(a, sigma, d, max_f<V>(a, d));
  for (int j = 0; j < d; ++j) sigma[j] *= inv;
}

// out = A[rows x d] B[d x n] in kDepth slices.
template <class V>
SP_INLINE void product(int rows, int n, int d, const float* a, const float* b, float* out) {
  for (int k0 = 0; k0 < d; k0 += kDepth) {
    const int kc = std::min(kDepth, d - k0);
    AView av{a + k0, d, 1};
    if (k0 == 0) {
      mk::tile_gemm<V, false>(rows, n, kc, av, b, n, out, n);
    } else {
      mk::tile_gemm<V, true>(rows, n, kc, av, b + int64_t(k0) * n, n, out, n);
    }
  }
}

// Similarities of classes [c0, c0 + cb) of layer l against the whole batch.
template <class V>
SP_INLINE void similarity_block_impl(const Args& a, const QueryPanels& qp, int l, int c0, int cb,
                                     float* sims, float* scratch) {
  const int d = a.d, bp = qp.bp;
  float* sk = scratch;                       // cb x d: sigma_c * k_c
  float* ss = sk + size_t(kClassBlock) * d;  // cb x d: sigma_c^2
  float* num = ss + size_t(kClassBlock) * d;
  float* den = num + size_t(kClassBlock) * bp;
  for (int i = 0; i < cb; ++i) {
    float* ski = sk + size_t(i) * d;
    float* ssi = ss + size_t(i) * d;
    softmax_row<V>(a.a_row(l, c0 + i), ssi, d);
    const float* k = a.key(c0 + i);
    for (int j = 0; j < d; ++j) {
      ski[j] = ssi[j] * k[j];
      ssi[j] *= ssi[j];
    }
  }
  product<V>(cb, bp, d, sk, qp.qt.data(), num);
  product<V>(cb, bp, d, ss, qp.q2t.data(), den);
  for (int i = 0; i < cb; ++i) {
    for (int b = 0; b < a.batch; ++b) {
      const float norm = std::sqrt(den[size_t(i) * bp + b]);
      sims[a.sims_off(l, b) + c0 + i] =
          kSimScale * num[size_t(i) * bp + b] / std::max(norm, kMinNorm);
    }
  }
}

SP_DISPATCH(similarity_block,
            (const Args& a, const QueryPanels& qp, int l, int c0, int cb, float* sims,
             float* scratch),
            (a, qp, l, c0, cb, sims, scratch))

void select_and_gather(const Args& a, int l, int b, const float* sims, int32_t* sel, float* sp) {
  const float* s = sims + a.sims_off(l, b);
  int best = 0;
  for (int c = 1; c < a.seen; ++c)
    if (s[c] > s[best]) best = c;  // strict: ties keep the lowest index
  sel[a.sel_off(l, b)] = best;
  const float w = a.modulate ? s[best] : 1.0f;
  const float* pc = a.p_row(l, best);
  float* out = sp + a.sp_off(l, b);
  for (int j = 0; j < a.dp; ++j) out[j] = w * pc[j];
}

float* thread_scratch(size_t floats) {
  thread_local std::vector<float> buf;
  if (buf.size() < floats) buf.resize(floats);
  return buf.data();
}

// ----------------------------------------------------------------------------- backward --

// G += g * ds/dsigma for one sample (see the naive kernel for the formula).
template <class V>
SP_INLINE void add_similarity_grad(const float* qb, const float* sigma, const float* k, int d,
                                   float g, float* grad) {
  V nacc{}, macc{};
  int j = 0;
  for (; j + lanes<V> <= d; j += lanes<V>) {
    V u = loadv<V>(qb + j) * loadv<V>(sigma + j);
    nacc += u * loadv<V>(k + j);
    macc += u * u;
  }
  float n = hsum(nacc), m2 = hsum(macc);
  for (; j < d; ++j) {
    const float u = qb[j] * sigma[j];
    n += u * k[j];
    m2 += u * u;
  }
  const float m = std::sqrt(m2);
  if (m > kMinNorm) {
    const float ck = g * kSimScale / m, cu = -g * kSimScale * n / (m * m * m);
    for (j = 0; j < d; ++j) grad[j] += qb[j] * (ck * k[j] + cu * qb[j] * sigma[j]);
  } else {
    const float ck = g * kSimScale / kMinNorm;
    for (j = 0; j < d; ++j) grad[j] += ck * qb[j] * k[j];
  }
}

// Samples of layer l grouped by selected class: members of class c are
// order[start[c] .. start[c + 1]).
void group_by_class(const Args& a, int l, const int32_t* sel, std::vector<int>& start,
                    std::vector<int>& order) {
  start.assign(size_t(a.seen) + 1, 0);
  for (int b = 0; b < a.batch; ++b) ++start[size_t(sel[a.sel_off(l, b)]) + 1];
  for (int c = 0; c < a.seen; ++c) start[size_t(c) + 1] += start[c];
  std::vector<int> fill(start.begin(), start.end() - 1);
  order.resize(size_t(a.batch));
  for (int b = 0; b < a.batch; ++b) order[size_t(fill[size_t(sel[a.sel_off(l, b)])]++)] = b;
}

template <class V>
SP_INLINE void backward_class_impl(const Args& a, int l, int c, const int* members, int count,
                                   const float* sims, const float* dsp, float* da, float* dpg,
                                   float* sigma, float* grad) {
  const int d = a.d;
  float* dpc = dpg + (int64_t(l) * a.classes + c) * a.dp;
  for (int x = 0; x < count; ++x) {
    const int b = members[x];
    const float w = a.modulate ? sims[a.sims_off(l, b) + c] : 1.0f;
    const float* dspb = dsp + a.sp_off(l, b);
    for (int j = 0; j < a.dp; ++j) dpc[j] += w * dspb[j];
  }
  if (!a.modulate) return;
  softmax_row<V>(a.a_row(l, c), sigma, d);
  for (int j = 0; j < d; ++j) grad[j] = 0.0f;
  const float* pc = a.p_row(l, c);
  for (int x = 0; x < count; ++x) {
    const int b = members[x];
    const float g = dot_f<V>(dsp + a.sp_off(l, b), pc, a.dp);
    add_similarity_grad<V>(a.q_row(b), sigma, a.key(c), d, g, grad);
  }
  // Softmax Jacobian: dA = sigma * (G - <G, sigma>).
  const float inner = dot_f<V>(grad, sigma, d);
  float* dac = da + (int64_t(l) * a.classes + c) * d;
  for (int j = 0; j < d; ++j) dac[j] = sigma[j] * (grad[j] - inner);
}

SP_DISPATCH(backward_class,
            (const Args& a, int l, int c, const int* members, int count, const float* sims,
             const float* dsp, float* da, float* dpg, float* sigma, float* grad),
            (a, l, c, members, count, sims, dsp, da, dpg, sigma, grad))

void backward_layer(const Args& a, int l, int past, const float* sims, const int32_t* sel,
                    const float* dsp, float* da, float* dpg) {
  std::fill(da + int64_t(l) * a.classes * a.d, da + int64_t(l + 1) * a.classes * a.d, 0.0f);
  std::fill(dpg + int64_t(l) * a.classes * a.dp, dpg + int64_t(l + 1) * a.classes * a.dp, 0.0f);
  std::vector<int> start, order;
  group_by_class(a, l, sel, start, order);
  float* sigma = thread_scratch(2 * size_t(a.d));
  float* grad = sigma + a.d;
  for (int c = past; c < a.seen; ++c) {
    const int count = start[size_t(c) + 1] - start[c];
    if (count > 0)
      backward_class(a, l, c, &order[size_t(start[c])], count, sims, dsp, da, dpg, sigma, grad);
  }
}


}  // namespace
}  // namespace sp::retrieval

using sp::retrieval::Args;

SP_EXPORT int sp_cpu_retrieval_fwd_fused(const float* q, const float* keys, const float* a,
                                         const float* p, int batch, int seen, int classes, int d,
                                         int dp, int layers, int modulate, float* sims,
                                         int32_t* sel, float* sp) {
  namespace rt = sp::retrieval;
  Args args{q, keys, a, p, batch, seen, classes, d, dp, layers, modulate != 0};
  int status = rt::check_forward(__func__, args, sims, sel, sp);
  if (status != SP_OK) return status;
  if (batch == 0 || layers == 0) return SP_OK;
  try {
    rt::QueryPanels qp;
    rt::pack_queries(args, qp);
    const int blocks = (seen + rt::kClassBlock - 1) / rt::kClassBlock;
    const size_t floats = 2 * size_t(rt::kClassBlock) * (size_t(d) + size_t(qp.bp));
    status = sp::parallel_for(int64_t(layers) * blocks, 1, [&](int64_t x0, int64_t x1) {
      float* scratch = rt::thread_scratch(floats);
      for (int64_t x = x0; x < x1; ++x) {
        const int l = int(x / blocks), c0 = int(x % blocks) * rt::kClassBlock;
        rt::similarity_block(args, qp, l, c0, std::min(rt::kClassBlock, seen - c0), sims, scratch);
      }
    });
  } catch (const std::bad_alloc&) {
    status = SP_ERR_ALLOC;
  }
  if (status == SP_OK) {
    const int64_t rows = int64_t(layers) * batch;
    status = sp::parallel_for(rows, sp::grain_for(rows, 16), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r)
        rt::select_and_gather(args, int(r / batch), int(r % batch), sims, sel, sp);
    });
  }
  return sp::finish(__func__, status);
}

SP_EXPORT int sp_cpu_retrieval_bwd_fused(const float* q, const float* keys, const float* a,
                                         const float* p, const float* sims, const int32_t* sel,
                                         const float* dsp, int batch, int seen, int classes,
                                         int past, int d, int dp, int layers, int modulate,
                                         float* da, float* dp_grad) {
  namespace rt = sp::retrieval;
  Args args{q, keys, a, p, batch, seen, classes, d, dp, layers, modulate != 0};
  int status = rt::check_backward(__func__, args, past, sims, sel, dsp, da, dp_grad);
  if (status != SP_OK) return status;
  status = sp::parallel_for(layers, 1, [&](int64_t l0, int64_t l1) {
    for (int64_t l = l0; l < l1; ++l)
      rt::backward_layer(args, int(l), past, sims, sel, dsp, da, dp_grad);
  });
  return sp::finish(__func__, status);
}
