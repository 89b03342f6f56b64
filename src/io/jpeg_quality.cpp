// The quality a JPEG file was saved at, estimated from its luminance quantisation table (the
// DQT segment) against the IJG/libjpeg scaling of the standard table (ITU-T T.81, Annex K).
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <vector>

#include "io/io.hpp"

namespace hires::io {
namespace {

// Annex K.1, table K.1 (any order: only the sum is compared).
constexpr std::array<int, 64> kStandardLuma = {
    16, 11, 10, 16, 24,  40,  51,  61,  12, 12, 14, 19, 26,  58,  60,  55,
    14, 13, 16, 24, 40,  57,  69,  56,  14, 17, 22, 29, 51,  87,  80,  62,
    18, 22, 37, 56, 68,  109, 103, 77,  24, 35, 55, 64, 81,  104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99};

long scaled_sum(int quality) {
  const long scale = quality < 50 ? 5000 / quality : 200 - 2 * quality;
  long sum = 0;
  for (const int q : kStandardLuma) {
    sum += std::clamp<long>((q * scale + 50) / 100, 1, 255);
  }
  return sum;
}

}  // namespace

int estimate_jpeg_quality(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<std::uint8_t> b(1 << 20);
  f.read(reinterpret_cast<char*>(b.data()), static_cast<std::streamsize>(b.size()));
  b.resize(static_cast<std::size_t>(f.gcount()));
  if (b.size() < 4 || b[0] != 0xFF || b[1] != 0xD8) return 0;
  std::size_t i = 2;
  while (i + 4 <= b.size()) {
    if (b[i] != 0xFF) return 0;
    const std::uint8_t marker = b[i + 1];
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {
      i += 2;
      continue;
    }
    const std::size_t len = (static_cast<std::size_t>(b[i + 2]) << 8) | b[i + 3];
    if (len < 2 || i + 2 + len > b.size()) return 0;
    if (marker == 0xDA) return 0;  // start of scan: no table found before it
    if (marker == 0xDB) {
      std::size_t p = i + 4;
      while (p < i + 2 + len) {
        const int precision = b[p] >> 4, id = b[p] & 15;
        const std::size_t size = precision == 0 ? 64 : 128;
        if (p + 1 + size > i + 2 + len) return 0;
        if (id == 0) {
          long sum = 0;
          for (std::size_t k = 0; k < 64; ++k) {
            sum += precision == 0 ? b[p + 1 + k]
                                  : (static_cast<long>(b[p + 1 + 2 * k]) << 8) | b[p + 2 + 2 * k];
          }
          int best = 1;
          long best_err = -1;
          for (int q = 1; q <= 100; ++q) {
            const long err = std::abs(scaled_sum(q) - sum);
            if (best_err < 0 || err < best_err) {
              best = q;
              best_err = err;
            }
          }
          return best;
        }
        p += 1 + size;
      }
    }
    i += 2 + len;
  }
  return 0;
}

}  // namespace hires::io
