// Polish on float pixels: edge-preserving noise reduction before upscaling.
#include <algorithm>
#include <array>
#include <cmath>

#include "hires/error.hpp"
#include "hires/guide.hpp"

namespace hires {

void denoise(Pixels& image, int level) {
  if (level < 0 || level > 3) {
    throw Error(ErrorKind::usage, "denoise", std::to_string(level) + " is out of range",
                "expected 0 (off) to 3 (strong)");
  }
  if (level == 0 || image.width == 0 || image.height == 0) return;
  // A bilateral filter: neighbours count by distance and by how close their colour is, so
  // noise (small differences) is averaged away and edges (large ones) are kept.
  constexpr std::array<double, 3> kSpace{1.0, 1.5, 2.0};
  constexpr std::array<double, 3> kRange{0.035, 0.06, 0.10};
  const double ss = kSpace[level - 1];
  const double sr = kRange[level - 1];
  const int r = static_cast<int>(std::ceil(2.0 * ss));
  std::vector<float> spatial(static_cast<std::size_t>(2 * r + 1) * (2 * r + 1));
  for (int dy = -r; dy <= r; ++dy) {
    for (int dx = -r; dx <= r; ++dx) {
      spatial[(dy + r) * (2 * r + 1) + dx + r] =
          static_cast<float>(std::exp(-0.5 * (dx * dx + dy * dy) / (ss * ss)));
    }
  }
  const int c = image.channels;
  const auto inv_r = static_cast<float>(-0.5 / (sr * sr * c));
  const Pixels in = image;
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      std::array<float, 4> acc{};
      float wsum = 0;
      for (int dy = -r; dy <= r; ++dy) {
        const int yy = std::clamp(y + dy, 0, image.height - 1);
        for (int dx = -r; dx <= r; ++dx) {
          const int xx = std::clamp(x + dx, 0, image.width - 1);
          float d2 = 0;
          for (int ch = 0; ch < c; ++ch) {
            const float d = in.at(xx, yy, ch) - in.at(x, y, ch);
            d2 += d * d;
          }
          const float w = spatial[(dy + r) * (2 * r + 1) + dx + r] * std::exp(d2 * inv_r);
          wsum += w;
          for (int ch = 0; ch < c; ++ch) acc[ch] += w * in.at(xx, yy, ch);
        }
      }
      for (int ch = 0; ch < c; ++ch) image.at(x, y, ch) = acc[ch] / wsum;
    }
  }
}

}  // namespace hires
