// Helpers shared by the input-prompt kernels (prompt_match.cpp, prompt_tokens.cpp).
#pragma once
#include <algorithm>
#include <cstdint>

#include "parallel.h"

namespace sp::prompt {

// Whether every id of v[0, n) lies in [0, hi): checked before the first write, so a bad id
// leaves the outputs untouched.
inline bool ids_below(const int32_t* v, int64_t n, int64_t hi) {
  for (int64_t i = 0; i < n; ++i)
    if (v[i] < 0 || v[i] >= hi) return false;
  return true;
}

// f(r) for every row r in [0, rows) of d floats each, in parallel chunks of about 32k
// elements; returns the job's status.
template <class F>
int for_each_row(int64_t rows, int64_t d, F&& f) {
  const int64_t grain = grain_for(rows, std::max<int64_t>(1, (int64_t(1) << 15) / std::max<int64_t>(d, 1)));
  return parallel_for(rows, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) f(r);
  });
}

}  // namespace sp::prompt
