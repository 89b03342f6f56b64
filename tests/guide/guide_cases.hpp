// Generated test images for the guide: a "photo" with edges and texture, gradients, noise.
#pragma once

#include <cmath>
#include <random>

#include "guide/image_ops.hpp"
#include "hires/guide.hpp"

namespace hires::test {

// Discs and bars of different colours over a textured background, with a flat "sky" band at
// the top when `flat_sky` (rows 0 .. h/3).
inline Pixels scene(int w, int h, bool flat_sky = false, unsigned seed = 7) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.0F, 1.0F);
  // Texture: white noise smoothed at two scales (roughly the spectrum of natural images).
  guide::Plane fine(w, h), coarse(w, h);
  for (auto& v : fine.v) v = u(rng) - 0.5F;
  for (auto& v : coarse.v) v = u(rng) - 0.5F;
  fine = guide::gauss_blur(fine, 0.7);
  coarse = guide::gauss_blur(coarse, 3.0);
  Pixels p(w, h, 3);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const float t = 0.5F + 0.35F * fine(x, y) + 1.2F * coarse(x, y) + 0.1F * y / h;
      p.at(x, y, 0) = t * 0.8F;
      p.at(x, y, 1) = t * 0.7F + 0.1F;
      p.at(x, y, 2) = t * 0.5F;
    }
  }
  for (int k = 0; k < 14; ++k) {
    const float cx = u(rng) * w, cy = u(rng) * h, r = 6 + u(rng) * w / 6.0F;
    const float col[3] = {0.1F + 0.8F * u(rng), 0.1F + 0.8F * u(rng), 0.1F + 0.8F * u(rng)};
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        const float d = std::hypot(x - cx, y - cy);
        if (k % 2 == 0 ? d < r : (std::abs(x - cx) < r / 4 && std::abs(y - cy) < r)) {
          for (int c = 0; c < 3; ++c) p.at(x, y, c) = col[c] + 0.5F * fine(x, y);
        }
      }
    }
  }
  if (flat_sky) {
    for (int y = 0; y < h / 3; ++y) {
      for (int x = 0; x < w; ++x) {
        p.at(x, y, 0) = 0.45F;
        p.at(x, y, 1) = 0.62F;
        p.at(x, y, 2) = 0.85F;
      }
    }
  }
  for (auto& v : p.data) v = std::round(std::clamp(v, 0.0F, 1.0F) * 255.0F) / 255.0F;
  return p;
}

inline Pixels blurred(const Pixels& in, double sigma) {
  Pixels out = in;
  for (int c = 0; c < in.channels; ++c) {
    const guide::Plane b = guide::gauss_blur(guide::channel255(in, c), sigma);
    for (std::size_t i = 0; i < b.v.size(); ++i) {
      out.data[i * in.channels + c] = std::round(b.v[i]) / 255.0F;
    }
  }
  return out;
}

inline Pixels with_noise(const Pixels& in, double sigma, unsigned seed = 3) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0F, static_cast<float>(sigma));
  Pixels out = in;
  for (auto& v : out.data) v = std::round(std::clamp(v * 255.0F + n(rng), 0.0F, 255.0F)) / 255.0F;
  return out;
}

// A horizontal grey-blue gradient in `levels` steps (256 = plain 8-bit).
inline Pixels gradient(int w, int h, int levels) {
  Pixels p(w, h, 3);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const float t = static_cast<float>(x) / (w - 1);
      const float q = std::round(t * (levels - 1)) / (levels - 1);
      const float v[3] = {0.2F + 0.5F * q, 0.3F + 0.5F * q, 0.5F + 0.45F * q};
      for (int c = 0; c < 3; ++c) p.at(x, y, c) = std::round(v[c] * 255.0F) / 255.0F;
    }
  }
  return p;
}

// `in` printed with a clustered-dot screen (period `period` px at `angle_deg`, the classic
// 45 degrees) and scanned: each pixel is ink or paper (1 bit a channel), then softened a little
// (sigma 0.7, the scanner's optics).
inline Pixels halftoned(const Pixels& in, double period, double angle_deg = 45.0) {
  const double a = angle_deg * 3.14159265358979 / 180.0;
  const double k = 2.0 * 3.14159265358979 / period;
  Pixels out(in.width, in.height, in.channels);
  for (int y = 0; y < in.height; ++y) {
    for (int x = 0; x < in.width; ++x) {
      const double u = x * std::cos(a) + y * std::sin(a);
      const double v = -x * std::sin(a) + y * std::cos(a);
      const double threshold = 0.5 + 0.25 * (std::cos(k * u) + std::cos(k * v));
      for (int c = 0; c < in.channels; ++c) {
        out.at(x, y, c) = in.at(x, y, c) > threshold ? 1.0F : 0.0F;
      }
    }
  }
  return blurred(out, 0.7);
}

}  // namespace hires::test
