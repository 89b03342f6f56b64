// IEEE 754 binary16 <-> binary32 for the vulkan backend's fp16 storage (shaders/value.glsl): the
// host writes a tile's input and reads its output and global statistics through these. Rounding
// to nearest, ties to even, subnormals kept, overflow to infinity.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace hires::engine::vk {

inline std::uint16_t float_to_half(float f) {
  const auto bits = std::bit_cast<std::uint32_t>(f);
  const auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000U);
  const int exponent = static_cast<int>((bits >> 23) & 0xffU);
  std::uint32_t mantissa = bits & 0x7fffffU;
  if (exponent == 0xff) {  // infinity, or NaN (kept a quiet NaN)
    return static_cast<std::uint16_t>(sign | 0x7c00U | (mantissa != 0 ? 0x200U : 0U));
  }
  const int e = exponent - 127 + 15;  // the half's biased exponent
  if (e >= 31) return static_cast<std::uint16_t>(sign | 0x7c00U);
  int shift = 13;  // mantissa bits dropped
  std::uint32_t base = static_cast<std::uint32_t>(e) << 10;
  if (e <= 0) {  // a subnormal half (or zero): the implicit bit joins the mantissa
    if (e < -10) return sign;
    mantissa |= 0x800000U;
    shift = 14 - e;
    base = 0;
  }
  std::uint32_t h = base | (mantissa >> shift);
  const std::uint32_t rest = mantissa & ((1U << shift) - 1U);
  const std::uint32_t half_way = 1U << (shift - 1);
  if (rest > half_way || (rest == half_way && (h & 1U) != 0)) ++h;  // may carry into exponent
  return static_cast<std::uint16_t>(sign | h);
}

inline float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000U) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1fU;
  const std::uint32_t mantissa = h & 0x3ffU;
  if (exponent == 0) {  // zero or subnormal: mantissa x 2^-24
    const float v = std::ldexp(static_cast<float>(mantissa), -24);
    return sign != 0 ? -v : v;
  }
  if (exponent == 31) return std::bit_cast<float>(sign | 0x7f800000U | (mantissa << 13));
  return std::bit_cast<float>(sign | ((exponent - 15 + 127) << 23) | (mantissa << 13));
}

}  // namespace hires::engine::vk
