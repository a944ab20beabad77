// Shapes, argument checks and key addressing shared by the naive and tiled CPU attention.
#pragma once
#include <algorithm>
#include <cstdint>

#include "check.h"

namespace sp::attn {

struct Args {
  const float *q, *k, *v, *pk, *pv, *r;
  int batch, nq, nk, lp, heads, hd;
  float scale;
  bool causal;

  int64_t width() const { return int64_t(heads) * hd; }  // row stride of q, k, v, pk, pv, out
  int keys() const { return lp + nk; }                   // logical keys [pk; k]

  // Logical keys [0, key_end(i)) are visible to query i: all prefix keys, and main keys j <= i
  // when causal.
  int key_end(int i) const { return causal ? lp + std::min(nk, i + 1) : lp + nk; }
  bool visible(int t, int i) const { return !causal || t < lp || t - lp <= i; }

  const float* key(int b, int h, int t) const { return row(pk, k, b, h, t); }
  const float* value(int b, int h, int t) const { return row(pv, v, b, h, t); }
  const float* query(int b, int h, int i) const {
    return q + (int64_t(b) * nq + i) * width() + int64_t(h) * hd;
  }

  // Offset of (b, i, h) in a [batch, nq, heads*hd] tensor (out, dout, dq).
  int64_t qoff(int b, int h, int i) const {
    return (int64_t(b) * nq + i) * width() + int64_t(h) * hd;
  }
  int64_t lse_off(int b, int h) const { return (int64_t(b) * heads + h) * nq; }
  const float* residual(int b, int h) const {
    return r ? r + int64_t(b) * width() + int64_t(h) * hd : nullptr;
  }

 private:
  const float* row(const float* prefix, const float* main, int b, int h, int t) const {
    int64_t col = int64_t(h) * hd;
    if (t < lp) return prefix + (int64_t(b) * lp + t) * width() + col;
    return main + (int64_t(b) * nk + (t - lp)) * width() + col;
  }
};

struct Grads {
  float *dq, *dk, *dv, *dpk, *dpv, *dr;
};

// Gradient row of logical key t: dpk/dpv for the prefix, dk/dv for the main keys.
inline float* key_grad_row(const Args& a, float* dprefix, float* dmain, int b, int h, int t) {
  int64_t col = int64_t(h) * a.hd;
  if (t < a.lp) return dprefix + (int64_t(b) * a.lp + t) * a.width() + col;
  return dmain + (int64_t(b) * a.nk + (t - a.lp)) * a.width() + col;
}

inline int check_forward(const char* fn, const Args& a, const float* out) {
  SP_CHECK_IN(fn, a.batch >= 0 && a.nq >= 0 && a.nk >= 0 && a.lp >= 0);
  SP_CHECK_IN(fn, a.heads >= 1 && a.hd >= 1);
  SP_CHECK_IN(fn, a.scale == a.scale);
  const int64_t w = a.width();
  const int64_t queries = int64_t(a.batch) * a.nq;
  SP_CHECK_IN(fn, queries == 0 || a.nk + a.lp >= 1);  // a softmax over no keys is undefined
  SP_CHECK_IN(fn, present_or_empty(a.q, queries * w));
  SP_CHECK_IN(fn, present_or_empty(a.k, int64_t(a.batch) * a.nk * w));
  SP_CHECK_IN(fn, present_or_empty(a.v, int64_t(a.batch) * a.nk * w));
  SP_CHECK_IN(fn, a.lp == 0 || a.batch == 0 || (a.pk != nullptr && a.pv != nullptr));
  SP_CHECK_IN(fn, present_or_empty(out, queries * w));
  return SP_OK;
}

inline int check_backward(const char* fn, const Args& a, const float* out, const float* lse,
                          const float* dout, const Grads& g) {
  int status = check_forward(fn, a, out);
  if (status != SP_OK) return status;
  const int64_t w = a.width();
  const int64_t queries = int64_t(a.batch) * a.nq;
  SP_CHECK_IN(fn, present_or_empty(lse, queries * a.heads));
  SP_CHECK_IN(fn, present_or_empty(dout, queries * w));
  SP_CHECK_IN(fn, present_or_empty(g.dq, queries * w));
  SP_CHECK_IN(fn, present_or_empty(g.dk, int64_t(a.batch) * a.nk * w));
  SP_CHECK_IN(fn, present_or_empty(g.dv, int64_t(a.batch) * a.nk * w));
  SP_CHECK_IN(fn, (g.dpk == nullptr) == (a.pk == nullptr));
  SP_CHECK_IN(fn, (g.dpv == nullptr) == (a.pv == nullptr));
  SP_CHECK_IN(fn, (g.dr == nullptr) == (a.r == nullptr));
  return SP_OK;
}

}  // namespace sp::attn
