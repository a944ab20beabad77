// Helpers shared by the input-prompt kernels (prompt_match.cpp, prompt_tokens.cpp).
#pragma once
#include <cstdint>

namespace sp::prompt {

// Whether every id of v[0, n) lies in [0, hi): checked before the first write, so a bad id
// leaves the outputs untouched.
inline bool ids_below(const int32_t* v, int64_t n, int64_t hi) {
  for (int64_t i = 0; i < n; ++i)
    if (v[i] < 0 || v[i] >= hi) return false;
  return true;
}

}  // namespace sp::prompt
