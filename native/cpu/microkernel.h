// Register-blocked tile product used inside the fused attention and retrieval kernels.
//
// C[m x n] = (or +=) A[m x k] * B[k x n] for small, cache-resident tiles. A is read by scalar
// broadcast through two strides, so any A layout (row-major, transposed, strided rows of a
// larger tensor) works without packing; B rows must be contiguous with n a multiple of kNR,
// which the callers guarantee by zero-padding the operands they pack. A 6 x 16 block keeps 12
// accumulators in registers (of 16 ymm) and issues 12 FMAs per 2 loads + 6 broadcasts.
#pragma once
#include <cstdint>

#include "simd.h"

namespace sp::mk {

constexpr int kMR = 6;
constexpr int kNR = 16;  // padding granularity of n; a multiple of every block width

struct AView {
  const float* p;
  int64_t row_stride;  // between rows i (the m dimension)
  int64_t col_stride;  // between columns p (the k dimension)
};

template <class V, int M, bool kAccumulate>
SP_INLINE void block(int k, AView a, const float* b, int64_t ldb, float* c, int64_t ldc) {
  constexpr int L = lanes<V>;
  V lo[M], hi[M];
#pragma GCC unroll 6
  for (int i = 0; i < M; ++i) {
    if (kAccumulate) {
      lo[i] = loadv<V>(c + i * ldc);
      hi[i] = loadv<V>(c + i * ldc + L);
    } else {
      lo[i] = V{};
      hi[i] = V{};
    }
  }
  const float* ap = a.p;
  for (int p = 0; p < k; ++p) {
    V b0 = loadv<V>(b), b1 = loadv<V>(b + L);
#pragma GCC unroll 6
    for (int i = 0; i < M; ++i) {
      V ai = splat<V>(ap[i * a.row_stride]);
      lo[i] += ai * b0;
      hi[i] += ai * b1;
    }
    ap += a.col_stride;
    b += ldb;
  }
#pragma GCC unroll 6
  for (int i = 0; i < M; ++i) {
    storev(c + i * ldc, lo[i]);
    storev(c + i * ldc + L, hi[i]);
  }
}

// m rows of one column panel (two vectors wide); the last rows use a shorter block.
template <class V, bool kAccumulate>
SP_INLINE void panel(int m, int k, AView a, const float* b, int64_t ldb, float* c, int64_t ldc) {
  int i = 0;
  for (; i + kMR <= m; i += kMR) {
    AView ai{a.p + i * a.row_stride, a.row_stride, a.col_stride};
    block<V, kMR, kAccumulate>(k, ai, b, ldb, c + i * ldc, ldc);
  }
  AView ai{a.p + i * a.row_stride, a.row_stride, a.col_stride};
  float* ci = c + i * ldc;
  switch (m - i) {
    case 1:
      block<V, 1, kAccumulate>(k, ai, b, ldb, ci, ldc);
      break;
    case 2:
      block<V, 2, kAccumulate>(k, ai, b, ldb, ci, ldc);
      break;
    case 3:
      block<V, 3, kAccumulate>(k, ai, b, ldb, ci, ldc);
      break;
    case 4:
      block<V, 4, kAccumulate>(k, ai, b, ldb, ci, ldc);
      break;
    case 5:
      block<V, 5, kAccumulate>(k, ai, b, ldb, ci, ldc);
      break;
    default:
      break;
  }
}

// C = A B (kAccumulate false) or C += A B; n % kNR == 0. Column panels outermost so that one
// panel of B stays in L1 while all rows of A stream past it.
template <class V, bool kAccumulate>
SP_INLINE void tile_gemm(int m, int n, int k, AView a, const float* b, int64_t ldb, float* c,
                         int64_t ldc) {
  constexpr int kWidth = 2 * lanes<V>;
  static_assert(kNR % kWidth == 0, "panel width must divide the padding granularity");
  for (int j = 0; j < n; j += kWidth) panel<V, kAccumulate>(m, k, a, b + j, ldb, c + j, ldc);
}

}  // namespace sp::mk
