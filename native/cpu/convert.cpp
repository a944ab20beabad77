// f32 <-> bf16 conversion of host buffers: the load/store step that gives every f32 kernel a
// bf16 storage form (inputs widened exactly, outputs rounded to nearest even).
#include <algorithm>

#include "bf16.h"
#include "check.h"
#include "parallel.h"

namespace sp {
namespace {

constexpr int64_t kMinChunk = 1 << 16;

template <class Src, class Dst, Dst (*F)(Src)>
int convert_all(const void* src, void* dst, int64_t n) {
  const Src* s = static_cast<const Src*>(src);
  Dst* d = static_cast<Dst*>(dst);
  return parallel_for(n, grain_for(n, kMinChunk), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) d[i] = F(s[i]);
  });
}

}  // namespace
}  // namespace sp

SP_EXPORT int sp_cpu_convert(const void* src, int src_dtype, void* dst, int dst_dtype, int64_t n) {
  SP_CHECK(n >= 0);
  SP_CHECK(src_dtype == SP_F32 || src_dtype == SP_BF16);
  SP_CHECK(dst_dtype == SP_F32 || dst_dtype == SP_BF16);
  SP_CHECK(sp::present_or_empty(src, n) && sp::present_or_empty(dst, n));
  if (src_dtype == dst_dtype) {
    if (n > 0 && src != dst) std::memmove(dst, src, size_t(n) * (src_dtype == SP_F32 ? 4 : 2));
    return SP_OK;
  }
  const int status = src_dtype == SP_BF16
                         ? sp::convert_all<uint16_t, float, sp::bf16_to_f32>(src, dst, n)
                         : sp::convert_all<float, uint16_t, sp::f32_to_bf16>(src, dst, n);
  return sp::finish(__func__, status);
}
