// Internal helpers shared by the CPU and CUDA sources; never seen by Java.
#pragma once
#include <cstdint>
#include "starprompt.h"

#define SP_EXPORT extern "C" __attribute__((visibility("default")))

// Records a printf-style message for sp_last_error() and returns `code`.
int sp_fail(int code, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// Argument check: on failure records "<function>: <condition>" and returns SP_ERR_ARG.
#define SP_CHECK(cond)                                                            \
  do {                                                                            \
    if (!(cond)) return sp_fail(SP_ERR_ARG, "%s: check failed: %s", __func__, #cond); \
  } while (0)

// The patch (un)embedding's arguments, the same on CPU and CUDA: both buffers present, square
// images whose side is a positive multiple of the patch. Returns SP_OK or records the problem.
inline int sp_check_patch_geometry(const char* fn, const void* a, const void* b, int batch,
                                   int channels, int size, int patch) {
  if (a == nullptr || b == nullptr || batch < 0 || channels <= 0 || patch <= 0 || size <= 0 ||
      size % patch != 0) {
    return sp_fail(SP_ERR_ARG, "%s: bad geometry batch=%d channels=%d size=%d patch=%d", fn, batch,
                   channels, size, patch);
  }
  return SP_OK;
}
