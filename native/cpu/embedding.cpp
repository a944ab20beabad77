// Row gathers and scatter-adds: embedding tables and per-sample token rows. Every index is
// validated before the first write, so a bad id leaves the outputs untouched.
#include <algorithm>
#include <cstring>

#include "check.h"
#include "parallel.h"

namespace sp {
namespace {

constexpr int64_t kMinChunk = 1 << 15;  // elements per task

bool all_in_range(const int32_t* ids, int64_t n, int64_t hi) {
  for (int64_t i = 0; i < n; ++i)
    if (ids[i] < 0 || ids[i] >= hi) return false;
  return true;
}

int64_t row_grain(int64_t rows, int64_t dim) {
  return grain_for(rows, std::max<int64_t>(1, kMinChunk / std::max<int64_t>(dim, 1)));
}


// The arguments of a token gather or scatter: tokens [batch, tokens, dim], one index in
// [0, tokens) per batch item, rows [batch, dim].
bool token_rows_ok(const float* tokens_array, const int32_t* idx, const float* rows, int batch,
                   int tokens, int64_t dim) {
  return batch >= 0 && tokens >= 0 && dim >= 0 &&
         present_or_empty(tokens_array, int64_t(batch) * tokens * dim) &&
         present_or_empty(idx, batch) && present_or_empty(rows, int64_t(batch) * dim) &&
         all_in_range(idx, batch, tokens);
}

}  // namespace
}  // namespace sp

SP_EXPORT int sp_cpu_embedding_gather(const float* table, const int32_t* ids, float* out, int64_t n,
                                      int64_t dim, int64_t vocab) {
  SP_CHECK(n >= 0 && dim >= 0 && vocab >= 0);
  SP_CHECK(sp::present_or_empty(ids, n) && sp::present_or_empty(out, n * dim));
  SP_CHECK(sp::present_or_empty(table, n > 0 ? vocab * dim : 0));
  SP_CHECK(sp::all_in_range(ids, n, vocab));
  int status = sp::parallel_for(n, sp::row_grain(n, dim), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      std::memcpy(out + i * dim, table + int64_t(ids[i]) * dim, sizeof(float) * size_t(dim));
  });
  return sp::finish(__func__, status);
}

SP_EXPORT int sp_cpu_embedding_scatter_add(const float* dout, const int32_t* ids, float* dtable,
                                           int64_t n, int64_t dim, int64_t vocab) {
  SP_CHECK(n >= 0 && dim >= 0 && vocab >= 0);
  SP_CHECK(sp::present_or_empty(ids, n) && sp::present_or_empty(dout, n * dim));
  SP_CHECK(sp::present_or_empty(dtable, n > 0 ? vocab * dim : 0));
  SP_CHECK(sp::all_in_range(ids, n, vocab));
  // Ids may repeat, so tasks split the columns rather than the rows: each task owns a column
  // range of every table row, and rows are added in input order (deterministic sums).
  const int64_t col_grain = std::max<int64_t>(64, sp::grain_for(dim, 64));
  int status = sp::parallel_for(n > 0 ? dim : 0, col_grain, [&](int64_t c0, int64_t c1) {
    for (int64_t i = 0; i < n; ++i) {
      const float* src = dout + i * dim;
      float* dst = dtable + int64_t(ids[i]) * dim;
      for (int64_t c = c0; c < c1; ++c) dst[c] += src[c];
    }
  });
  return sp::finish(__func__, status);
}

SP_EXPORT int sp_cpu_token_sum(const float* x, float* out, int batch, int tokens, int64_t dim) {
  SP_CHECK(batch >= 0 && tokens >= 0 && dim >= 0);
  SP_CHECK(sp::present_or_empty(x, int64_t(batch) * tokens * dim));
  SP_CHECK(sp::present_or_empty(out, int64_t(batch) * dim));
  int status = sp::parallel_for(batch, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      float* o = out + b * dim;
      std::fill(o, o + dim, 0.0f);
      for (int n = 0; n < tokens; ++n) {
        const float* row = x + (b * tokens + n) * dim;
        for (int64_t c = 0; c < dim; ++c) o[c] += row[c];
      }
    }
  });
  return sp::finish(__func__, status);
}

SP_EXPORT int sp_cpu_token_gather(const float* x, const int32_t* idx, float* out, int batch,
                                  int tokens, int64_t dim) {
  SP_CHECK(sp::token_rows_ok(x, idx, out, batch, tokens, dim));
  for (int64_t b = 0; b < batch; ++b)
    std::memcpy(out + b * dim, x + (b * tokens + idx[b]) * dim, sizeof(float) * size_t(dim));
  return SP_OK;
}

SP_EXPORT int sp_cpu_token_scatter_add(const float* dout, const int32_t* idx, float* dx, int batch,
                                       int tokens, int64_t dim) {
  SP_CHECK(sp::token_rows_ok(dx, idx, dout, batch, tokens, dim));
  for (int64_t b = 0; b < batch; ++b) {
    const float* src = dout + b * dim;
    float* dst = dx + (b * tokens + idx[b]) * dim;
    for (int64_t c = 0; c < dim; ++c) dst[c] += src[c];
  }
  return SP_OK;
}
