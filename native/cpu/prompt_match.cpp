// Cosine top-N prompt match (methods/l2p.md §3, §6): scores, per-row top-N, the optional batch
// vote, and the gradient of the selected scores to keys and queries. Pools are small (tens of
// keys), so the kernels are the plain loops with double accumulation, parallel over rows.
#include <algorithm>
#include <cmath>
#include <vector>

#include "check.h"
#include "parallel.h"
#include "prompt_common.h"

namespace sp {
namespace {

constexpr double kMinNormSquared = 1e-12;

double dot(const float* x, const float* y, int n) {
  double s = 0.0;
  for (int i = 0; i < n; ++i) s += double(x[i]) * double(y[i]);
  return s;
}

double clamped_norm(double squared) { return std::sqrt(std::max(squared, kMinNormSquared)); }

// The n best entries of v in decreasing order, ties to the lower index: n passes, each taking
// the first strictly better untaken entry (the reference's rule, NaN included).
template <class T>
void top_indices(const T* v, int count, int n, int32_t* out) {
  std::vector<char> taken(static_cast<size_t>(count), 0);
  for (int i = 0; i < n; ++i) {
    int best = -1;
    for (int j = 0; j < count; ++j)
      if (!taken[size_t(j)] && (best < 0 || v[j] > v[best])) best = j;
    taken[size_t(best)] = 1;
    out[i] = best;
  }
}

void batch_vote(int32_t* sel, int batch, int pool, int top_n) {
  std::vector<int64_t> counts(static_cast<size_t>(pool), 0);
  for (int64_t i = 0; i < int64_t(batch) * top_n; ++i) ++counts[size_t(sel[i])];
  std::vector<int32_t> winners(static_cast<size_t>(top_n));
  top_indices(counts.data(), pool, top_n, winners.data());
  for (int b = 0; b < batch; ++b) std::copy(winners.begin(), winners.end(), sel + int64_t(b) * top_n);
}

// One chosen (query, key) pair: the clamped norms, whether each was clamped, and the cosine.
struct Pair {
  double nq, nk, s;
  bool q_free, k_free;  // norm above the clamp: the normaliser depends on the vector
};

Pair pair_of(const float* q, const float* k, int d) {
  const double qq = dot(q, q, d), kk = dot(k, k, d);
  Pair p{clamped_norm(qq), clamped_norm(kk), 0.0, qq > kMinNormSquared, kk > kMinNormSquared};
  p.s = dot(q, k, d) / (p.nq * p.nk);
  return p;
}

}  // namespace
}  // namespace sp

SP_EXPORT int sp_cpu_cosine_match(const float* q, const float* keys, int batch, int pool, int d,
                                  int top_n, int batchwise, float* scores, int32_t* sel) {
  SP_CHECK(batch >= 0 && pool >= 1 && d >= 0 && top_n >= 1 && top_n <= pool);
  SP_CHECK(sp::present_or_empty(q, int64_t(batch) * d) && sp::present_or_empty(keys, int64_t(pool) * d));
  SP_CHECK(sp::present_or_empty(scores, int64_t(batch) * pool));
  SP_CHECK(sp::present_or_empty(sel, int64_t(batch) * top_n));
  std::vector<double> key_norm(static_cast<size_t>(pool));
  for (int j = 0; j < pool; ++j) {
    const float* kj = keys + int64_t(j) * d;
    key_norm[size_t(j)] = sp::clamped_norm(sp::dot(kj, kj, d));
  }
  int status = sp::parallel_for(batch, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const float* qb = q + b * d;
      const double nq = sp::clamped_norm(sp::dot(qb, qb, d));
      float* row = scores + b * pool;
      for (int j = 0; j < pool; ++j)
        row[j] = float(sp::dot(qb, keys + int64_t(j) * d, d) / (nq * key_norm[size_t(j)]));
      sp::top_indices(row, pool, top_n, sel + b * top_n);
    }
  });
  if (status != SP_OK) return sp::finish(__func__, status);
  if (batchwise && batch > 0) sp::batch_vote(sel, batch, pool, top_n);
  return SP_OK;
}

SP_EXPORT int sp_cpu_cosine_match_bwd(const float* q, const float* keys, const int32_t* sel,
                                      const float* w, int batch, int pool, int d, int top_n,
                                      float* dkeys, float* dq) {
  SP_CHECK(batch >= 0 && pool >= 1 && d >= 0 && top_n >= 1);
  const int64_t chosen = int64_t(batch) * top_n;
  SP_CHECK(sp::present_or_empty(q, int64_t(batch) * d) && sp::present_or_empty(keys, int64_t(pool) * d));
  SP_CHECK(sp::present_or_empty(sel, chosen) && sp::present_or_empty(w, chosen));
  SP_CHECK(sp::present_or_empty(dkeys, int64_t(pool) * d));
  SP_CHECK(sp::prompt::ids_below(sel, chosen, pool));
  std::vector<sp::Pair> pairs(static_cast<size_t>(chosen));
  for (int64_t i = 0; i < chosen; ++i)
    pairs[size_t(i)] = sp::pair_of(q + (i / top_n) * d, keys + int64_t(sel[i]) * d, d);
  // Each key's rows are written by one task only: no races, and a fixed summation order.
  int status = sp::parallel_for(pool, 1, [&](int64_t j0, int64_t j1) {
    std::vector<double> acc(static_cast<size_t>(d));
    for (int64_t j = j0; j < j1; ++j) {
      std::fill(acc.begin(), acc.end(), 0.0);
      const float* kj = keys + j * d;
      for (int64_t i = 0; i < chosen; ++i) {
        if (sel[i] != j) continue;
        const sp::Pair& p = pairs[size_t(i)];
        const float* qb = q + (i / top_n) * d;
        const double proj = p.k_free ? p.s : 0.0;
        for (int c = 0; c < d; ++c) acc[size_t(c)] += w[i] * (qb[c] / p.nq - proj * kj[c] / p.nk) / p.nk;
      }
      for (int c = 0; c < d; ++c) dkeys[j * d + c] = float(acc[size_t(c)]);
    }
  });
  if (status != SP_OK || dq == nullptr) return sp::finish(__func__, status);
  status = sp::parallel_for(batch, 1, [&](int64_t b0, int64_t b1) {
    std::vector<double> acc(static_cast<size_t>(d));
    for (int64_t b = b0; b < b1; ++b) {
      std::fill(acc.begin(), acc.end(), 0.0);
      const float* qb = q + b * d;
      for (int n = 0; n < top_n; ++n) {
        const int64_t i = b * top_n + n;
        const sp::Pair& p = pairs[size_t(i)];
        const float* kj = keys + int64_t(sel[i]) * d;
        const double proj = p.q_free ? p.s : 0.0;
        for (int c = 0; c < d; ++c) acc[size_t(c)] += w[i] * (kj[c] / p.nk - proj * qb[c] / p.nq) / p.nq;
      }
      for (int c = 0; c < d; ++c) dq[b * d + c] = float(acc[size_t(c)]);
    }
  });
  return sp::finish(__func__, status);
}
