// Argument checks for validators shared by several exported functions: like SP_CHECK, but the
// message names the exported function (passed in) rather than the helper that checks.
#pragma once
#include <cstdint>

#include "internal.h"

#define SP_CHECK_IN(fn, cond)                                                   \
  do {                                                                          \
    if (!(cond)) return sp_fail(SP_ERR_ARG, "%s: check failed: %s", fn, #cond); \
  } while (0)

namespace sp {

// The status of a parallel job, with a message when a chunk ran out of memory.
inline int finish(const char* fn, int status) {
  return status == SP_OK ? SP_OK : sp_fail(status, "%s: out of memory", fn);
}

// A pointer may be NULL only when it addresses no elements.
inline bool present_or_empty(const void* p, int64_t count) { return p != nullptr || count == 0; }

}  // namespace sp
