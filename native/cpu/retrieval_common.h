// Shapes and argument checks shared by the naive and fused key-query retrieval.
#pragma once
#include <cstdint>

#include "check.h"

namespace sp::retrieval {

// The similarity is 5 cos(q * sigma, k) with the norm of q * sigma clamped from below.
constexpr float kSimScale = 5.0f;
constexpr float kMinNorm = 1e-12f;

struct Args {
  const float *q, *keys, *a, *p;
  int batch, seen, classes, d, dp, layers;
  bool modulate;

  const float* a_row(int l, int c) const { return a + (int64_t(l) * classes + c) * d; }
  const float* p_row(int l, int c) const { return p + (int64_t(l) * classes + c) * dp; }
  const float* q_row(int b) const { return q + int64_t(b) * d; }
  const float* key(int c) const { return keys + int64_t(c) * d; }
  int64_t sims_off(int l, int b) const { return (int64_t(l) * batch + b) * seen; }
  int64_t sel_off(int l, int b) const { return int64_t(l) * batch + b; }
  int64_t sp_off(int l, int b) const { return (int64_t(l) * batch + b) * dp; }
};

inline bool in_range(const int32_t* x, int64_t n, int hi) {
  for (int64_t i = 0; i < n; ++i)
    if (x[i] < 0 || x[i] >= hi) return false;
  return true;
}

inline int check_inputs(const char* fn, const Args& a) {
  SP_CHECK_IN(fn, a.batch >= 0 && a.layers >= 0 && a.d >= 1 && a.dp >= 0);
  SP_CHECK_IN(fn, a.seen >= 1 && a.seen <= a.classes);
  SP_CHECK_IN(fn, present_or_empty(a.q, int64_t(a.batch) * a.d));
  SP_CHECK_IN(fn, a.keys != nullptr);
  SP_CHECK_IN(fn, present_or_empty(a.a, int64_t(a.layers) * a.classes * a.d));
  SP_CHECK_IN(fn, present_or_empty(a.p, int64_t(a.layers) * a.classes * a.dp));
  return SP_OK;
}

inline int check_forward(const char* fn, const Args& a, const float* sims, const int32_t* sel,
                         const float* sp) {
  int status = check_inputs(fn, a);
  if (status != SP_OK) return status;
  const int64_t rows = int64_t(a.layers) * a.batch;
  SP_CHECK_IN(fn, present_or_empty(sims, rows * a.seen));
  SP_CHECK_IN(fn, present_or_empty(sel, rows));
  SP_CHECK_IN(fn, present_or_empty(sp, rows * a.dp));
  return SP_OK;
}

inline int check_backward(const char* fn, const Args& a, int past, const float* sims,
                          const int32_t* sel, const float* dsp, const float* da,
                          const float* dp_grad) {
  int status = check_inputs(fn, a);
  if (status != SP_OK) return status;
  const int64_t rows = int64_t(a.layers) * a.batch;
  SP_CHECK_IN(fn, past >= 0 && past <= a.seen);
  // sims supplies the weights w, which exist only with confidence modulation.
  SP_CHECK_IN(fn, !a.modulate || present_or_empty(sims, rows * a.seen));
  SP_CHECK_IN(fn, present_or_empty(sel, rows) && present_or_empty(dsp, rows * a.dp));
  SP_CHECK_IN(fn, present_or_empty(da, int64_t(a.layers) * a.classes * a.d));
  SP_CHECK_IN(fn, present_or_empty(dp_grad, int64_t(a.layers) * a.classes * a.dp));
  SP_CHECK_IN(fn, in_range(sel, rows, a.seen));
  return SP_OK;
}

}  // namespace sp::retrieval
