// LayerNorm over the last dimension. Row statistics use two passes (mean, then the centred
// sum of squares) so that rows with a large mean keep their variance accurate in float.
#include <algorithm>
#include <cmath>
#include <vector>

#include "check.h"
#include "parallel.h"
#include "simd.h"

namespace sp {
namespace {

constexpr int64_t kMinChunk = 1 << 14;  // elements per task
constexpr int64_t kColBlock = 64;       // columns per task of the dgamma/dbeta reduction

int64_t row_grain(int64_t rows, int64_t cols) {
  return grain_for(rows, std::max<int64_t>(1, kMinChunk / std::max<int64_t>(cols, 1)));
}

template <class V>
SP_INLINE float centred_sum_squares(const float* x, int64_t n, float mean) {
  V acc{};
  int64_t i = 0;
  for (; i + lanes<V> <= n; i += lanes<V>) {
    V d = loadv<V>(x + i) - mean;
    acc += d * d;
  }
  float s = hsum(acc);
  for (; i < n; ++i) s += (x[i] - mean) * (x[i] - mean);
  return s;
}

template <class V>
SP_INLINE void normalise_row(const float* x, const float* gamma, const float* beta, float eps,
                             float* y, float* mean_out, float* rstd_out, int64_t cols) {
  const float mean = sum_f<V>(x, cols) / float(cols);
  const float var = centred_sum_squares<V>(x, cols, mean) / float(cols);
  const float rstd = 1.0f / std::sqrt(var + eps);
  for (int64_t j = 0; j < cols; ++j) y[j] = (x[j] - mean) * rstd * gamma[j] + beta[j];
  *mean_out = mean;
  *rstd_out = rstd;
}

// dx = rstd (g dy - mean(g dy) - xhat mean(g dy xhat))
template <class V>
SP_INLINE void backward_row(const float* dy, const float* x, const float* gamma, float mean,
                            float rstd, float* dx, int64_t cols) {
  V acc_g{}, acc_gx{};
  int64_t j = 0;
  for (; j + lanes<V> <= cols; j += lanes<V>) {
    V gdy = loadv<V>(gamma + j) * loadv<V>(dy + j);
    V xhat = (loadv<V>(x + j) - mean) * rstd;
    acc_g += gdy;
    acc_gx += gdy * xhat;
  }
  float sum_g = hsum(acc_g), sum_gx = hsum(acc_gx);
  for (; j < cols; ++j) {
    const float gdy = gamma[j] * dy[j];
    sum_g += gdy;
    sum_gx += gdy * (x[j] - mean) * rstd;
  }
  const float mean_g = sum_g / float(cols), mean_gx = sum_gx / float(cols);
  for (j = 0; j < cols; ++j) {
    const float xhat = (x[j] - mean) * rstd;
    dx[j] = rstd * (gamma[j] * dy[j] - mean_g - xhat * mean_gx);
  }
}

template <class V>
SP_INLINE void normalise_rows_impl(const float* x, const float* gamma, const float* beta, float eps,
                                   float* y, float* mean, float* rstd, int64_t cols, int64_t r0,
                                   int64_t r1) {
  for (int64_t r = r0; r < r1; ++r)
    normalise_row<V>(x + r * cols, gamma, beta, eps, y + r * cols, mean + r, rstd + r, cols);
}

SP_DISPATCH(normalise_rows,
            (const float* x, const float* gamma, const float* beta, float eps, float* y,
             float* mean, float* rstd, int64_t cols, int64_t r0, int64_t r1),
            (x, gamma, beta, eps, y, mean, rstd, cols, r0, r1))

template <class V>
SP_INLINE void backward_rows_impl(const float* dy, const float* x, const float* gamma,
                                  const float* mean, const float* rstd, float* dx, int64_t cols,
                                  int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; ++r)
    backward_row<V>(dy + r * cols, x + r * cols, gamma, mean[r], rstd[r], dx + r * cols, cols);
}

SP_DISPATCH(backward_rows,
            (const float* dy, const float* x, const float* gamma, const float* mean,
             const float* rstd, float* dx, int64_t cols, int64_t r0, int64_t r1),
            (dy, x, gamma, mean, rstd, dx, cols, r0, r1))

// dgamma[c] += sum_r dy xhat, dbeta[c] += sum_r dy for columns [c0, c1), summed in double so
// that long batches (rows = batch x tokens) do not lose the small contributions.
void reduce_columns(const float* dy, const float* x, const float* mean, const float* rstd,
                    float* dgamma, float* dbeta, int64_t rows, int64_t cols, int64_t c0,
                    int64_t c1) {
  double sg[kColBlock] = {}, sb[kColBlock] = {};
  const int64_t w = c1 - c0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* dyr = dy + r * cols + c0;
    const float* xr = x + r * cols + c0;
    const float m = mean[r], s = rstd[r];
    for (int64_t j = 0; j < w; ++j) {
      sg[j] += double(dyr[j]) * double((xr[j] - m) * s);
      sb[j] += double(dyr[j]);
    }
  }
  for (int64_t j = 0; j < w; ++j) {
    if (dgamma) dgamma[c0 + j] += float(sg[j]);
    if (dbeta) dbeta[c0 + j] += float(sb[j]);
  }
}


}  // namespace
}  // namespace sp

SP_EXPORT int sp_cpu_layernorm_fwd(const float* x, const float* gamma, const float* beta, float eps,
                                   float* y, float* mean, float* rstd, int64_t rows, int64_t cols) {
  SP_CHECK(rows >= 0 && cols >= 0);
  SP_CHECK(rows == 0 || cols >= 1);
  SP_CHECK(eps >= 0.0f);
  const int64_t n = rows * cols;
  SP_CHECK(sp::present_or_empty(x, n) && sp::present_or_empty(y, n));
  SP_CHECK(sp::present_or_empty(gamma, rows > 0 ? cols : 0));
  SP_CHECK(sp::present_or_empty(beta, rows > 0 ? cols : 0));
  SP_CHECK(sp::present_or_empty(mean, rows) && sp::present_or_empty(rstd, rows));
  int status = sp::parallel_for(rows, sp::row_grain(rows, cols), [&](int64_t b, int64_t e) {
    sp::normalise_rows(x, gamma, beta, eps, y, mean, rstd, cols, b, e);
  });
  return sp::finish(__func__, status);
}

SP_EXPORT int sp_cpu_layernorm_bwd(const float* dy, const float* x, const float* gamma,
                                   const float* mean, const float* rstd, float* dx, float* dgamma,
                                   float* dbeta, int64_t rows, int64_t cols) {
  SP_CHECK(rows >= 0 && cols >= 0);
  SP_CHECK(rows == 0 || cols >= 1);
  const int64_t n = rows * cols;
  SP_CHECK(sp::present_or_empty(dy, n) && sp::present_or_empty(x, n) &&
           sp::present_or_empty(dx, n));
  SP_CHECK(sp::present_or_empty(gamma, rows > 0 ? cols : 0));
  SP_CHECK(sp::present_or_empty(mean, rows) && sp::present_or_empty(rstd, rows));
  int status = sp::parallel_for(rows, sp::row_grain(rows, cols), [&](int64_t b, int64_t e) {
    sp::backward_rows(dy, x, gamma, mean, rstd, dx, cols, b, e);
  });
  if (status == SP_OK && (dgamma || dbeta) && rows > 0) {
    // A separate pass over column blocks: each task owns its columns, so the sums need no
    // locks and do not depend on the thread count.
    const int64_t blocks = (cols + sp::kColBlock - 1) / sp::kColBlock;
    status = sp::parallel_for(blocks, 1, [&](int64_t b, int64_t e) {
      for (int64_t blk = b; blk < e; ++blk) {
        const int64_t c0 = blk * sp::kColBlock;
        sp::reduce_columns(dy, x, mean, rstd, dgamma, dbeta, rows, cols, c0,
                           std::min(cols, c0 + sp::kColBlock));
      }
    });
  }
  return sp::finish(__func__, status);
}
