// Small image operations on float planes, shared by check, review and polish.
#pragma once

#include <cstddef>
#include <vector>

#include "hires/guide.hpp"

namespace hires::guide {

// One channel of floats.
struct Plane {
  int w = 0;
  int h = 0;
  std::vector<float> v;

  Plane() = default;
  Plane(int width, int height, float fill = 0.0F)
      : w(width), h(height), v(static_cast<std::size_t>(width) * height, fill) {}
  float& operator()(int x, int y) { return v[static_cast<std::size_t>(y) * w + x]; }
  float operator()(int x, int y) const { return v[static_cast<std::size_t>(y) * w + x]; }
};

float srgb_to_linear(float v);
float linear_to_srgb(float v);

// Rec. 601 luma of the gamma-encoded values, scaled to 0..255.
Plane luma255(const Pixels& image);
// One channel scaled to 0..255.
Plane channel255(const Pixels& image, int c);

// Separable Gaussian blur with clamped edges.
Plane gauss_blur(const Plane& in, double sigma);
// Mean over a (2r+1)^2 window, clamped at the edges (summed-area table).
Plane box_mean(const Plane& in, int r);

// Area-average (antialiased) resize to w x h in linear light; any size, used to shrink.
Pixels shrink_area(const Pixels& in, int w, int h);
// Bilinear resize (pixel centres aligned), gamma-encoded values.
Pixels resize_bilinear(const Pixels& in, int w, int h);
// The same image with three channels (grey is repeated).
Pixels as_rgb(const Pixels& in);

struct Lab {
  double l = 0, a = 0, b = 0;
};
// CIE L*a*b* (D65) of a gamma-encoded sRGB colour.
Lab srgb_to_lab(double r, double g, double b);

}  // namespace hires::guide
