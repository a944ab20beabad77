// Row softmax over the last dimension (max-shifted, vectorised exp) and its backward.
#include <algorithm>

#include "check.h"
#include "parallel.h"
#include "simd.h"

namespace sp {
namespace {

constexpr int64_t kMinChunk = 1 << 14;

int64_t row_grain(int64_t rows, int64_t cols) {
  return grain_for(rows, std::max<int64_t>(1, kMinChunk / std::max<int64_t>(cols, 1)));
}

template <class V>
SP_INLINE void softmax_rows_impl(const float* x, float* y, int64_t r0, int64_t r1, int64_t cols) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;  // may alias xr: every element is read before it is written
    const float m = max_f<V>(xr, cols);
    const float inv = 1.0f / exp_shift_sum<V>(xr, yr, cols, m);
    for (int64_t j = 0; j < cols; ++j) yr[j] *= inv;
  }
}

SP_DISPATCH(softmax_rows, (const float* x, float* y, int64_t r0, int64_t r1, int64_t cols),
            (x, y, r0, r1, cols))

template <class V>
SP_INLINE void softmax_grad_rows_impl(const float* y, const float* dy, float* dx, int64_t r0,
                                      int64_t r1, int64_t cols) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* yr = y + r * cols;
    const float* dyr = dy + r * cols;
    float* dxr = dx + r * cols;
    const float inner = dot_f<V>(dyr, yr, cols);
    for (int64_t j = 0; j < cols; ++j) dxr[j] = yr[j] * (dyr[j] - inner);
  }
}

SP_DISPATCH(softmax_grad_rows,
            (const float* y, const float* dy, float* dx, int64_t r0, int64_t r1, int64_t cols),
            (y, dy, dx, r0, r1, cols))


}  // namespace
}  // namespace sp

SP_EXPORT int sp_cpu_softmax_fwd(const float* x, float* y, int64_t rows, int64_t cols) {
  SP_CHECK(rows >= 0 && cols >= 0);
  SP_CHECK(sp::present_or_empty(x, rows * cols) && sp::present_or_empty(y, rows * cols));
  int status = sp::parallel_for(rows, sp::row_grain(rows, cols),
                                [&](int64_t b, int64_t e) { sp::softmax_rows(x, y, b, e, cols); });
  return sp::finish(__func__, status);
}

SP_EXPORT int sp_cpu_softmax_bwd(const float* y, const float* dy, float* dx, int64_t rows,
                                 int64_t cols) {
  SP_CHECK(rows >= 0 && cols >= 0);
  const int64_t n = rows * cols;
  SP_CHECK(sp::present_or_empty(y, n) && sp::present_or_empty(dy, n) &&
           sp::present_or_empty(dx, n));
  int status = sp::parallel_for(rows, sp::row_grain(rows, cols), [&](int64_t b, int64_t e) {
    sp::softmax_grad_rows(y, dy, dx, b, e, cols);
  });
  return sp::finish(__func__, status);
}
