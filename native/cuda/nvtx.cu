// NVTX ranges for Nsight Systems (see sp_nvtx_range_push in starprompt.h). NVTX3 is header-only:
// the first call looks for an attached tool (NSYS_NVTX_PROFILER_ID / NVTX_INJECTION64_PATH) and,
// finding none, every later call returns at once.
#include <nvtx3/nvToolsExt.h>

#include "internal.h"

SP_EXPORT int sp_nvtx_range_push(const char* name) {
  if (name != nullptr) nvtxRangePushA(name);
  return SP_OK;
}

SP_EXPORT int sp_nvtx_range_pop(void) {
  nvtxRangePop();
  return SP_OK;
}
