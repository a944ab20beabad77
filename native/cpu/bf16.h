// bfloat16 storage for the CPU kernels: a bf16 value is the top 16 bits of an f32, so widening
// is a shift and narrowing rounds the dropped 16 bits to nearest, ties to even.
#pragma once
#include <cstdint>
#include <cstring>

namespace sp {

inline float bf16_to_f32(uint16_t h) {
  const uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// Round to nearest even; a NaN stays a (quiet) NaN instead of rounding into infinity.
inline uint16_t f32_to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return uint16_t((bits >> 16) | 0x0040u);
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  return uint16_t(bits >> 16);
}

}  // namespace sp
