#include <cstdarg>
#include <cstdio>
#include "internal.h"

namespace {
thread_local char g_last_error[512] = "";
}

int sp_fail(int code, const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(g_last_error, sizeof g_last_error, fmt, args);
  va_end(args);
  return code;
}

SP_EXPORT const char* sp_last_error(void) { return g_last_error; }
SP_EXPORT const char* sp_version(void) {
#ifdef SP_WITH_CUDA
  return "starprompt-native 0.1.0 (cpu+cuda)";
#else
  return "starprompt-native 0.1.0 (cpu)";
#endif
}
