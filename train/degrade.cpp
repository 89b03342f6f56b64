#include "degrade.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vips/vips8>

#include "core/resample.hpp"
#include "hires/error.hpp"
#include "io/io.hpp"

namespace hires::train {
namespace {

std::uint8_t to_u8(double v) {
  return static_cast<std::uint8_t>(std::clamp(std::lround(v), 0L, 255L));
}

}  // namespace

RgbImage resize_rgb(const RgbImage& image, int width, int height, int filter_index) {
  static constexpr core::Filter kFilters[] = {core::Filter::catmull_rom, core::Filter::triangle,
                                              core::Filter::lanczos3};
  const core::Filter f = kFilters[std::clamp(filter_index, 0, 2)];
  const core::AxisWeights wx = core::make_axis_weights(image.width, width, f);
  const core::AxisWeights wy = core::make_axis_weights(image.height, height, f);
  core::ResampleSpec spec;
  spec.x = &wx;
  spec.y = &wy;
  spec.bands = 3;
  spec.linear_light = false;
  RgbImage out{width, height,
               std::vector<std::uint8_t>(static_cast<std::size_t>(width) * height * 3)};
  core::resample_rect(spec, image.pixels.data(), static_cast<std::ptrdiff_t>(image.width) * 3,
                      {0, 0, image.width, image.height}, out.pixels.data(),
                      static_cast<std::ptrdiff_t>(width) * 3, {0, 0, width, height});
  return out;
}

RgbImage blur(const RgbImage& image, double sigma_x, double sigma_y, double angle) {
  const double smax = std::max(sigma_x, sigma_y);
  const int radius = std::clamp(static_cast<int>(std::ceil(3.0 * smax)), 1, 10);
  const int size = 2 * radius + 1;
  // Covariance of a Gaussian with axes sigma_x, sigma_y rotated by `angle`.
  const double c = std::cos(angle), s = std::sin(angle);
  const double a = c * c / (sigma_x * sigma_x) + s * s / (sigma_y * sigma_y);
  const double b = c * s * (1.0 / (sigma_x * sigma_x) - 1.0 / (sigma_y * sigma_y));
  const double d = s * s / (sigma_x * sigma_x) + c * c / (sigma_y * sigma_y);
  std::vector<double> k(static_cast<std::size_t>(size) * size);
  double sum = 0;
  for (int y = -radius; y <= radius; ++y) {
    for (int x = -radius; x <= radius; ++x) {
      const double v = std::exp(-0.5 * (a * x * x + 2 * b * x * y + d * y * y));
      k[static_cast<std::size_t>(y + radius) * size + (x + radius)] = v;
      sum += v;
    }
  }
  for (double& v : k) v /= sum;
  RgbImage out = image;
  const int w = image.width, h = image.height;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      double acc[3] = {0, 0, 0};
      for (int ky = -radius; ky <= radius; ++ky) {
        const int yy = std::clamp(y + ky, 0, h - 1);
        const double* kr = k.data() + static_cast<std::size_t>(ky + radius) * size;
        for (int kx = -radius; kx <= radius; ++kx) {
          const int xx = std::clamp(x + kx, 0, w - 1);
          const std::uint8_t* p = image.pixels.data() + (static_cast<std::size_t>(yy) * w + xx) * 3;
          const double wt = kr[kx + radius];
          acc[0] += wt * p[0];
          acc[1] += wt * p[1];
          acc[2] += wt * p[2];
        }
      }
      std::uint8_t* o = out.pixels.data() + (static_cast<std::size_t>(y) * w + x) * 3;
      for (int ch = 0; ch < 3; ++ch) o[ch] = to_u8(acc[ch]);
    }
  }
  return out;
}

RgbImage add_noise(const RgbImage& image, double sigma, bool grey, std::mt19937& rng) {
  std::normal_distribution<double> n(0.0, sigma);
  RgbImage out = image;
  for (std::size_t i = 0; i < out.pixels.size(); i += 3) {
    const double g = grey ? n(rng) : 0.0;
    for (std::size_t ch = 0; ch < 3; ++ch) {
      out.pixels[i + ch] = to_u8(out.pixels[i + ch] + (grey ? g : n(rng)));
    }
  }
  return out;
}

RgbImage jpeg_roundtrip(const RgbImage& image, int quality) {
  io::ensure_vips();
  try {
    const vips::VImage in = vips::VImage::new_from_memory(
        const_cast<std::uint8_t*>(image.pixels.data()), image.pixels.size(), image.width,
        image.height, 3, VIPS_FORMAT_UCHAR);
    void* buf = nullptr;
    std::size_t len = 0;
    in.write_to_buffer(".jpg", &buf, &len, vips::VImage::option()->set("Q", quality));
    std::vector<std::uint8_t> bytes(static_cast<std::uint8_t*>(buf),
                                    static_cast<std::uint8_t*>(buf) + len);
    g_free(buf);
    const vips::VImage back = vips::VImage::new_from_buffer(bytes.data(), bytes.size(), "");
    std::size_t size = 0;
    void* mem = back.write_to_memory(&size);
    RgbImage out{image.width, image.height, {}};
    out.pixels.assign(static_cast<std::uint8_t*>(mem), static_cast<std::uint8_t*>(mem) + size);
    g_free(mem);
    if (out.pixels.size() != image.pixels.size()) {
      throw Error(ErrorKind::internal, "jpeg", "JPEG round trip changed the image layout");
    }
    return out;
  } catch (const vips::VError& e) {
    throw Error(ErrorKind::internal, "jpeg", e.what());
  }
}

RgbImage degrade_realistic(const RgbImage& hr, const DegradeOptions& o, std::mt19937& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  RgbImage x = hr;
  if (u(rng) < o.blur_probability) {
    std::uniform_real_distribution<double> sig(0.2, o.max_sigma);
    const double sx = sig(rng);
    const double sy = u(rng) < 0.5 ? sx : sig(rng);  // isotropic or anisotropic
    x = blur(x, sx, sy, u(rng) * std::numbers::pi);
  }
  const int lw = hr.width / o.scale, lh = hr.height / o.scale;
  std::uniform_int_distribution<int> filter(0, 2);
  if (u(rng) < 0.4) {
    // A resize chain: through an intermediate size between 0.75x and 2x the LR size.
    const double f = 0.75 + u(rng) * 1.25;
    const int iw = std::max(1, static_cast<int>(std::lround(lw * f)));
    const int ih = std::max(1, static_cast<int>(std::lround(lh * f)));
    x = resize_rgb(x, iw, ih, filter(rng));
  }
  x = resize_rgb(x, lw, lh, filter(rng));
  if (u(rng) < o.noise_probability) {
    x = add_noise(x, 1.0 + u(rng) * (o.max_noise - 1.0), u(rng) < 0.4, rng);
  }
  if (u(rng) < o.jpeg_probability) {
    std::uniform_int_distribution<int> q(o.min_quality, 95);
    x = jpeg_roundtrip(x, q(rng));
  }
  return x;
}

RgbImage degrade(const RgbImage& hr, const DegradeOptions& o, std::mt19937& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  if (u(rng) < o.bicubic_fraction) return degrade_bicubic(hr, o.scale);
  return degrade_realistic(hr, o, rng);
}

}  // namespace hires::train
