// Reference attention: one (batch, head) at a time, the full score matrix materialised, then
// softmax and the products written as plain loops. Kept simple on purpose: the tiled kernel is
// tested against it.
#include <cmath>
#include <vector>

#include "attention_common.h"
#include "parallel.h"

namespace sp::attn {
namespace {

float dot(const float* x, const float* y, int n) {
  float s = 0.0f;
  for (int i = 0; i < n; ++i) s += x[i] * y[i];
  return s;
}

// s[i * L + t] = scale <q_i, key_t>, -inf where key t is masked for query i.
void scores(const Args& a, int b, int h, std::vector<float>& s) {
  const int L = a.keys();
  s.assign(size_t(a.nq) * L, 0.0f);
  for (int i = 0; i < a.nq; ++i) {
    for (int t = 0; t < L; ++t) {
      s[size_t(i) * L + t] =
          a.visible(t, i) ? a.scale * dot(a.query(b, h, i), a.key(b, h, t), a.hd) : -INFINITY;
    }
  }
}

void forward_head(const Args& a, int b, int h, float* out, float* lse) {
  const int L = a.keys();
  std::vector<float> s;
  scores(a, b, h, s);
  const float* r = a.residual(b, h);
  for (int i = 0; i < a.nq; ++i) {
    float* p = &s[size_t(i) * L];
    float m = -INFINITY;
    for (int t = 0; t < L; ++t) m = std::max(m, p[t]);
    float sum = 0.0f;
    for (int t = 0; t < L; ++t) sum += p[t] = std::exp(p[t] - m);
    for (int t = 0; t < L; ++t) p[t] /= sum;
    if (lse) lse[a.lse_off(b, h) + i] = m + std::log(sum);
    float* o = out + a.qoff(b, h, i);
    for (int d = 0; d < a.hd; ++d) o[d] = r ? r[d] : 0.0f;
    for (int t = 0; t < L; ++t) {
      const float* vt = a.value(b, h, t);
      for (int d = 0; d < a.hd; ++d) o[d] += p[t] * vt[d];
    }
  }
}

void backward_head(const Args& a, int b, int h, const float* lse, const float* dout,
                   const Grads& g) {
  const int L = a.keys();
  std::vector<float> p, dp;
  scores(a, b, h, p);
  dp.assign(p.size(), 0.0f);
  for (int i = 0; i < a.nq; ++i) {
    const float li = lse[a.lse_off(b, h) + i];
    const float* doi = dout + a.qoff(b, h, i);
    float* pi = &p[size_t(i) * L];
    float* dpi = &dp[size_t(i) * L];
    float di = 0.0f;  // D_i = sum_t P_it dP_it
    for (int t = 0; t < L; ++t) {
      pi[t] = std::exp(pi[t] - li);
      dpi[t] = dot(doi, a.value(b, h, t), a.hd);
      di += pi[t] * dpi[t];
    }
    for (int t = 0; t < L; ++t) dpi[t] = pi[t] * (dpi[t] - di);  // dS
  }
  for (int t = 0; t < L; ++t) {
    float* dkt = key_grad_row(a, g.dpk, g.dk, b, h, t);
    float* dvt = key_grad_row(a, g.dpv, g.dv, b, h, t);
    for (int d = 0; d < a.hd; ++d) dkt[d] = dvt[d] = 0.0f;
    for (int i = 0; i < a.nq; ++i) {
      const float ds = a.scale * dp[size_t(i) * L + t], pit = p[size_t(i) * L + t];
      const float* qi = a.query(b, h, i);
      const float* doi = dout + a.qoff(b, h, i);
      for (int d = 0; d < a.hd; ++d) {
        dkt[d] += ds * qi[d];
        dvt[d] += pit * doi[d];
      }
    }
  }
  for (int i = 0; i < a.nq; ++i) {
    float* dqi = g.dq + a.qoff(b, h, i);
    for (int d = 0; d < a.hd; ++d) dqi[d] = 0.0f;
    for (int t = 0; t < L; ++t) {
      const float ds = a.scale * dp[size_t(i) * L + t];
      const float* kt = a.key(b, h, t);
      for (int d = 0; d < a.hd; ++d) dqi[d] += ds * kt[d];
    }
  }
  if (g.dr) {
    float* drh = g.dr + int64_t(b) * a.width() + int64_t(h) * a.hd;
    for (int d = 0; d < a.hd; ++d) drh[d] = 0.0f;
    for (int i = 0; i < a.nq; ++i) {
      const float* doi = dout + a.qoff(b, h, i);
      for (int d = 0; d < a.hd; ++d) drh[d] += doi[d];
    }
  }
}

// Runs fn(b, h) for every (batch, head) pair on the pool.
template <class F>
int for_each_head(const Args& a, F&& fn) {
  const int64_t pairs = int64_t(a.batch) * a.heads;
  return parallel_for(pairs, 1, [&](int64_t begin, int64_t end) {
    for (int64_t bh = begin; bh < end; ++bh) fn(int(bh / a.heads), int(bh % a.heads));
  });
}


}  // namespace
}  // namespace sp::attn

using sp::attn::Args;
using sp::attn::Grads;

SP_EXPORT int sp_cpu_attention_fwd_naive(const float* q, const float* k, const float* v,
                                         const float* pk, const float* pv, const float* r,
                                         float* out, float* lse, int batch, int nq, int nk, int lp,
                                         int heads, int head_dim, float scale, int causal) {
  Args a{q, k, v, pk, pv, r, batch, nq, nk, lp, heads, head_dim, scale, causal != 0};
  int status = sp::attn::check_forward(__func__, a, out);
  if (status != SP_OK) return status;
  status =
      sp::attn::for_each_head(a, [&](int b, int h) { sp::attn::forward_head(a, b, h, out, lse); });
  return sp::finish(__func__, status);
}

SP_EXPORT int sp_cpu_attention_bwd_naive(const float* q, const float* k, const float* v,
                                         const float* pk, const float* pv, const float* r,
                                         const float* out, const float* lse, const float* dout,
                                         float* dq, float* dk, float* dv, float* dpk, float* dpv,
                                         float* dr, int batch, int nq, int nk, int lp, int heads,
                                         int head_dim, float scale, int causal) {
  Args a{q, k, v, pk, pv, r, batch, nq, nk, lp, heads, head_dim, scale, causal != 0};
  Grads g{dq, dk, dv, dpk, dpv, dr};
  int status = sp::attn::check_backward(__func__, a, out, lse, dout, g);
  if (status != SP_OK) return status;
  status = sp::attn::for_each_head(
      a, [&](int b, int h) { sp::attn::backward_head(a, b, h, lse, dout, g); });
  return sp::finish(__func__, status);
}
