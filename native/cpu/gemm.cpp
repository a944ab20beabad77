// Batched GEMM without BLAS: cache blocking and threads, but no hand-written micro-kernel.
// OpenBLAS is the production path (called from Java); this one exists for parity checks and as
// a fallback, so it favours clarity over the last factor of speed.
#include <algorithm>
#include <vector>

#include "check.h"
#include "parallel.h"
#include "simd.h"

namespace sp::gemm {
namespace {

constexpr int kRowBlock = 32;     // rows of C per task
constexpr int kDepthBlock = 256;  // k per packed panel of B
constexpr int kColBlock = 512;    // columns of C per packed panel of B

struct Problem {
  bool ta, tb;
  int m, n, k;
  float alpha, beta;
  const float* a;
  int64_t sa;
  const float* b;
  int64_t sb;
  float* c;
  int64_t sc;
};

SP_INLINE float a_at(const Problem& p, const float* a, int i, int kk) {
  return p.ta ? a[int64_t(kk) * p.m + i] : a[int64_t(i) * p.k + kk];
}

// panel[kk][j] = op(B)[k0 + kk][j0 + j]: whatever the storage of B, the inner loop of the
// product then walks contiguous memory.
void pack_b(const Problem& p, const float* b, int k0, int kc, int j0, int nc, float* panel) {
  for (int kk = 0; kk < kc; ++kk) {
    float* dst = panel + int64_t(kk) * nc;
    if (p.tb) {
      for (int j = 0; j < nc; ++j) dst[j] = b[int64_t(j0 + j) * p.k + (k0 + kk)];
    } else {
      const float* src = b + int64_t(k0 + kk) * p.n + j0;
      for (int j = 0; j < nc; ++j) dst[j] = src[j];
    }
  }
}

// C rows [i0, i1) = beta * C; beta == 0 overwrites, so NaNs in an uninitialised C vanish.
void scale_rows(const Problem& p, float* c, int i0, int i1) {
  for (int i = i0; i < i1; ++i) {
    float* row = c + int64_t(i) * p.n;
    if (p.beta == 0.0f) {
      std::fill(row, row + p.n, 0.0f);
    } else if (p.beta != 1.0f) {
      for (int j = 0; j < p.n; ++j) row[j] *= p.beta;
    }
  }
}

// V is unused: the dispatch only recompiles the auto-vectorised inner loop for AVX2+FMA.
template <class V>
SP_INLINE void panel_product_impl(const Problem& p, const float* a, const float* panel, int k0,
                                  int kc, int j0, int nc, float* c, int i0, int i1) {
  for (int i = i0; i < i1; ++i) {
    float* __restrict crow = c + int64_t(i) * p.n + j0;
    for (int kk = 0; kk < kc; ++kk) {
      const float aik = p.alpha * a_at(p, a, i, k0 + kk);
      const float* __restrict brow = panel + int64_t(kk) * nc;
      for (int j = 0; j < nc; ++j) crow[j] += aik * brow[j];
    }
  }
}

SP_DISPATCH(panel_product,
            (const Problem& p, const float* a, const float* panel, int k0, int kc, int j0, int nc,
             float* c, int i0, int i1),
            (p, a, panel, k0, kc, j0, nc, c, i0, i1))

// One task: rows [i0, i1) of C for batch item `item`.
void row_block(const Problem& p, int item, int i0, int i1, std::vector<float>& panel) {
  const float* a = p.a + item * p.sa;
  const float* b = p.b + item * p.sb;
  float* c = p.c + item * p.sc;
  scale_rows(p, c, i0, i1);
  if (p.alpha == 0.0f || p.k == 0) return;
  for (int j0 = 0; j0 < p.n; j0 += kColBlock) {
    const int nc = std::min(kColBlock, p.n - j0);
    for (int k0 = 0; k0 < p.k; k0 += kDepthBlock) {
      const int kc = std::min(kDepthBlock, p.k - k0);
      panel.resize(size_t(kc) * nc);
      pack_b(p, b, k0, kc, j0, nc, panel.data());
      panel_product(p, a, panel.data(), k0, kc, j0, nc, c, i0, i1);
    }
  }
}

}  // namespace
}  // namespace sp::gemm

SP_EXPORT int sp_cpu_gemm_naive(int trans_a, int trans_b, int m, int n, int k, float alpha,
                                const float* a, int64_t stride_a, const float* b, int64_t stride_b,
                                float beta, float* c, int64_t stride_c, int batch) {
  SP_CHECK(m >= 0 && n >= 0 && k >= 0 && batch >= 0);
  SP_CHECK(stride_a >= 0 && stride_b >= 0 && stride_c >= 0);
  const int64_t mn = int64_t(m) * n;
  // Batch items must not share output elements (they run concurrently).
  SP_CHECK(batch <= 1 || mn == 0 || stride_c >= mn);
  const bool any = batch > 0 && mn > 0;
  SP_CHECK(sp::present_or_empty(a, any ? int64_t(m) * k : 0));
  SP_CHECK(sp::present_or_empty(b, any ? int64_t(k) * n : 0));
  SP_CHECK(sp::present_or_empty(c, any ? mn : 0));
  if (!any) return SP_OK;

  sp::gemm::Problem p{trans_a != 0, trans_b != 0, m, n, k, alpha, beta, a, stride_a, b, stride_b, c,
                      stride_c};
  const int64_t row_blocks = (m + sp::gemm::kRowBlock - 1) / sp::gemm::kRowBlock;
  int status = sp::parallel_for(int64_t(batch) * row_blocks, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> panel;
    for (int64_t x = begin; x < end; ++x) {
      const int item = int(x / row_blocks);
      const int i0 = int(x % row_blocks) * sp::gemm::kRowBlock;
      sp::gemm::row_block(p, item, i0, std::min(m, i0 + sp::gemm::kRowBlock), panel);
    }
  });
  return status == SP_OK ? SP_OK : sp_fail(status, "%s: out of memory", __func__);
}
