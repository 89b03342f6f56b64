// PSNR and SSIM on the BT.601 Y channel, cropping, and the protocol's bicubic degradation.
#include <fmt/format.h>
#include <algorithm>
#include <cmath>

#include "core/resample.hpp"
#include "hires/error.hpp"
#include "hires/eval.hpp"

namespace hires {
namespace {

// Y in [16, 235] for RGB in [0, 255], as double (no rounding).
std::vector<double> luma(const RgbImage& im, int border, int& w, int& h) {
  w = im.width - 2 * border;
  h = im.height - 2 * border;
  std::vector<double> y(static_cast<std::size_t>(std::max(0, w)) * std::max(0, h));
  for (int r = 0; r < h; ++r) {
    const std::uint8_t* p =
        im.pixels.data() + (static_cast<std::size_t>(r + border) * im.width + border) * 3;
    for (int c = 0; c < w; ++c, p += 3) {
      y[static_cast<std::size_t>(r) * w + c] =
          16.0 + (65.481 * p[0] + 128.553 * p[1] + 24.966 * p[2]) / 255.0;
    }
  }
  return y;
}

void check_pair(const RgbImage& a, const RgbImage& b, int border, int min_side) {
  if (a.width != b.width || a.height != b.height) {
    throw Error(ErrorKind::usage, "eval",
                fmt::format("images differ in size: {}x{} and {}x{}", a.width, a.height, b.width,
                            b.height));
  }
  if (border < 0 || a.width - 2 * border < min_side || a.height - 2 * border < min_side) {
    throw Error(ErrorKind::usage, "eval",
                fmt::format("a {}x{} image with a border of {} leaves less than {}x{} pixels",
                            a.width, a.height, border, min_side, min_side));
  }
}

}  // namespace

double psnr_y(const RgbImage& a, const RgbImage& b, int border) {
  check_pair(a, b, border, 1);
  int w = 0, h = 0;
  const auto ya = luma(a, border, w, h);
  const auto yb = luma(b, border, w, h);
  double sum = 0;
  for (std::size_t i = 0; i < ya.size(); ++i) sum += (ya[i] - yb[i]) * (ya[i] - yb[i]);
  const double mse = sum / static_cast<double>(ya.size());
  if (mse <= 0) return kMaxPsnr;
  return std::min(kMaxPsnr, 10.0 * std::log10(255.0 * 255.0 / mse));
}

double ssim_y(const RgbImage& a, const RgbImage& b, int border) {
  constexpr int kWin = 11;
  constexpr double kSigma = 1.5;
  check_pair(a, b, border, kWin);
  int w = 0, h = 0;
  const auto x = luma(a, border, w, h);
  const auto y = luma(b, border, w, h);
  // Separable Gaussian window, normalised.
  double g[kWin];
  double gsum = 0;
  for (int i = 0; i < kWin; ++i) {
    constexpr int kHalf = kWin / 2;
    const double d = i - kHalf;
    g[i] = std::exp(-d * d / (2 * kSigma * kSigma));
    gsum += g[i];
  }
  for (double& v : g) v /= gsum;
  const std::size_t n = x.size();
  std::vector<double> xx(n), yy(n), xy(n);
  for (std::size_t i = 0; i < n; ++i) {
    xx[i] = x[i] * x[i];
    yy[i] = y[i] * y[i];
    xy[i] = x[i] * y[i];
  }
  // Valid-region filtering: output (w - 10) x (h - 10).
  const int ow = w - kWin + 1;
  const int oh = h - kWin + 1;
  auto filter = [&](const std::vector<double>& src) {
    std::vector<double> tmp(static_cast<std::size_t>(h) * ow);
    for (int r = 0; r < h; ++r) {
      for (int c = 0; c < ow; ++c) {
        double s = 0;
        for (int k = 0; k < kWin; ++k) s += g[k] * src[static_cast<std::size_t>(r) * w + c + k];
        tmp[static_cast<std::size_t>(r) * ow + c] = s;
      }
    }
    std::vector<double> out(static_cast<std::size_t>(oh) * ow);
    for (int r = 0; r < oh; ++r) {
      for (int c = 0; c < ow; ++c) {
        double s = 0;
        for (int k = 0; k < kWin; ++k) s += g[k] * tmp[static_cast<std::size_t>(r + k) * ow + c];
        out[static_cast<std::size_t>(r) * ow + c] = s;
      }
    }
    return out;
  };
  const auto mx = filter(x), my = filter(y), sxx = filter(xx), syy = filter(yy), sxy = filter(xy);
  constexpr double c1 = (0.01 * 255) * (0.01 * 255);
  constexpr double c2 = (0.03 * 255) * (0.03 * 255);
  double total = 0;
  for (std::size_t i = 0; i < mx.size(); ++i) {
    const double vx = sxx[i] - mx[i] * mx[i];
    const double vy = syy[i] - my[i] * my[i];
    const double cov = sxy[i] - mx[i] * my[i];
    total += ((2 * mx[i] * my[i] + c1) * (2 * cov + c2)) /
             ((mx[i] * mx[i] + my[i] * my[i] + c1) * (vx + vy + c2));
  }
  return total / static_cast<double>(mx.size());
}

RgbImage crop_to_multiple(const RgbImage& image, int scale) {
  if (scale < 1) throw Error(ErrorKind::usage, "scale", fmt::format("{} is below 1", scale));
  RgbImage out;
  out.width = image.width / scale * scale;
  out.height = image.height / scale * scale;
  out.pixels.resize(static_cast<std::size_t>(out.width) * out.height * 3);
  for (int r = 0; r < out.height; ++r) {
    const auto* src = image.pixels.data() + static_cast<std::size_t>(r) * image.width * 3;
    std::copy(src, src + static_cast<std::size_t>(out.width) * 3,
              out.pixels.data() + static_cast<std::size_t>(r) * out.width * 3);
  }
  return out;
}

RgbImage degrade_bicubic(const RgbImage& hr, int scale) {
  if (scale < 1 || hr.width % scale != 0 || hr.height % scale != 0 || hr.width < scale ||
      hr.height < scale) {
    throw Error(ErrorKind::usage, "eval",
                fmt::format("a {}x{} image cannot be shrunk by {}", hr.width, hr.height, scale),
                "crop it to a multiple of the scale first");
  }
  RgbImage lr;
  lr.width = hr.width / scale;
  lr.height = hr.height / scale;
  lr.pixels.resize(static_cast<std::size_t>(lr.width) * lr.height * 3);
  const core::AxisWeights wx =
      core::make_axis_weights(hr.width, lr.width, core::Filter::catmull_rom);
  const core::AxisWeights wy =
      core::make_axis_weights(hr.height, lr.height, core::Filter::catmull_rom);
  core::ResampleSpec spec;
  spec.x = &wx;
  spec.y = &wy;
  spec.bands = 3;
  spec.linear_light = false;
  core::resample_rect(spec, hr.pixels.data(), static_cast<std::ptrdiff_t>(hr.width) * 3,
                      {0, 0, hr.width, hr.height}, lr.pixels.data(),
                      static_cast<std::ptrdiff_t>(lr.width) * 3, {0, 0, lr.width, lr.height});
  return lr;
}

}  // namespace hires
