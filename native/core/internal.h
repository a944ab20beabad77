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
