// Input-prompt concatenation (methods/l2p.md §4) and the mean over a token range (§5), with
// their backward passes. Pure row copies and sums: each output row is written by one task.
#include <algorithm>
#include <cstring>
#include <vector>

#include "check.h"
#include "parallel.h"
#include "prompt_common.h"

namespace sp {
namespace {

struct ConcatShape {
  int batch, t, pool, length, top_n;
  int64_t d;
  int64_t prompt_rows() const { return int64_t(top_n) * length; }
  int64_t seq() const { return t + prompt_rows(); }
};

int check_concat(const char* fn, const ConcatShape& s, const int32_t* sel) {
  SP_CHECK_IN(fn, s.batch >= 0 && s.t >= 1 && s.pool >= 1 && s.length >= 1 && s.top_n >= 1 && s.d >= 0);
  SP_CHECK_IN(fn, present_or_empty(sel, int64_t(s.batch) * s.top_n));
  SP_CHECK_IN(fn, prompt::ids_below(sel, int64_t(s.batch) * s.top_n, s.pool));
  return SP_OK;
}

int check_range(const char* fn, int batch, int tokens, int from, int count, int64_t d) {
  SP_CHECK_IN(fn, batch >= 0 && tokens >= 0 && d >= 0);
  SP_CHECK_IN(fn, count >= 1 && from >= 0 && int64_t(from) + count <= tokens);
  return SP_OK;
}

}  // namespace
}  // namespace sp

SP_EXPORT int sp_cpu_prompt_concat(const float* tokens, const float* pool, const int32_t* sel,
                                   const float* shift, float* out, int batch, int t, int pool_size,
                                   int length, int top_n, int64_t d) {
  const sp::ConcatShape s{batch, t, pool_size, length, top_n, d};
  if (int rc = sp::check_concat(__func__, s, sel)) return rc;
  SP_CHECK(sp::present_or_empty(tokens, int64_t(batch) * t * d));
  SP_CHECK(sp::present_or_empty(pool, int64_t(pool_size) * length * d));
  SP_CHECK(sp::present_or_empty(out, int64_t(batch) * s.seq() * d));
  int status = sp::prompt::for_each_row(int64_t(batch) * s.seq(), d, [&](int64_t r) {
    const int64_t b = r / s.seq(), row = r % s.seq();
    float* dst = out + r * d;
    if (row == 0 || row > s.prompt_rows()) {
      const int64_t src_row = row == 0 ? 0 : row - s.prompt_rows();
      std::memcpy(dst, tokens + (b * t + src_row) * d, sizeof(float) * size_t(d));
      return;
    }
    const int64_t p = row - 1;
    const float* src = pool + (int64_t(sel[b * top_n + p / length]) * length + p % length) * d;
    for (int64_t c = 0; c < d; ++c) dst[c] = src[c] + (shift ? shift[c] : 0.0f);
  });
  return sp::finish(__func__, status);
}

SP_EXPORT int sp_cpu_prompt_concat_bwd(const float* dout, const int32_t* sel, float* dpool,
                                       float* dtokens, int batch, int t, int pool_size, int length,
                                       int top_n, int64_t d) {
  const sp::ConcatShape s{batch, t, pool_size, length, top_n, d};
  if (int rc = sp::check_concat(__func__, s, sel)) return rc;
  SP_CHECK(sp::present_or_empty(dout, int64_t(batch) * s.seq() * d));
  SP_CHECK(sp::present_or_empty(dpool, int64_t(pool_size) * length * d));
  // One task per prompt row of the pool: it sums the rows that chose it, in batch order.
  int status = sp::prompt::for_each_row(int64_t(pool_size) * length, d, [&](int64_t r) {
    const int64_t j = r / length, l = r % length;
    float* dst = dpool + r * d;
    std::fill(dst, dst + d, 0.0f);
    for (int64_t b = 0; b < batch; ++b)
      for (int n = 0; n < top_n; ++n) {
        if (sel[b * top_n + n] != j) continue;
        const float* src = dout + (b * s.seq() + 1 + int64_t(n) * length + l) * d;
        for (int64_t c = 0; c < d; ++c) dst[c] += src[c];
      }
  });
  if (status != SP_OK || dtokens == nullptr) return sp::finish(__func__, status);
  for (int64_t b = 0; b < batch; ++b) {
    const float* src = dout + b * s.seq() * d;
    float* dst = dtokens + b * t * d;
    std::memcpy(dst, src, sizeof(float) * size_t(d));
    std::memcpy(dst + d, src + (1 + s.prompt_rows()) * d, sizeof(float) * size_t((t - 1) * d));
  }
  return SP_OK;
}

SP_EXPORT int sp_cpu_token_range_mean(const float* x, float* out, int batch, int tokens, int from,
                                      int count, int64_t d) {
  if (int rc = sp::check_range(__func__, batch, tokens, from, count, d)) return rc;
  SP_CHECK(sp::present_or_empty(x, int64_t(batch) * tokens * d));
  SP_CHECK(sp::present_or_empty(out, int64_t(batch) * d));
  int status = sp::parallel_for(batch, 1, [&](int64_t b0, int64_t b1) {
    std::vector<double> acc(static_cast<size_t>(d));
    for (int64_t b = b0; b < b1; ++b) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int i = from; i < from + count; ++i) {
        const float* row = x + (b * tokens + i) * d;
        for (int64_t c = 0; c < d; ++c) acc[size_t(c)] += row[c];
      }
      for (int64_t c = 0; c < d; ++c) out[b * d + c] = float(acc[size_t(c)] / count);
    }
  });
  return sp::finish(__func__, status);
}

SP_EXPORT int sp_cpu_token_range_mean_bwd(const float* dout, float* dx, int batch, int tokens,
                                          int from, int count, int64_t d) {
  if (int rc = sp::check_range(__func__, batch, tokens, from, count, d)) return rc;
  SP_CHECK(sp::present_or_empty(dout, int64_t(batch) * d));
  SP_CHECK(sp::present_or_empty(dx, int64_t(batch) * tokens * d));
  int status = sp::prompt::for_each_row(int64_t(batch) * tokens, d, [&](int64_t r) {
    const int64_t b = r / tokens, i = r % tokens;
    float* dst = dx + r * d;
    if (i < from || i >= from + count) {
      std::fill(dst, dst + d, 0.0f);
      return;
    }
    for (int64_t c = 0; c < d; ++c) dst[c] = float(double(dout[b * d + c]) / count);
  });
  return sp::finish(__func__, status);
}
