// Realistic degradations (hires/degrade.hpp): blur, resize with or without antialiasing, noise
// and JPEG, once or twice, and the named recipes built from them.
#include "hires/degrade.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/resample.hpp"
#include "hires/error.hpp"

namespace hires {
namespace {

std::uint8_t to_u8(float v) {
  return static_cast<std::uint8_t>(std::clamp(std::lround(v), 0L, 255L));
}

// 2-D convolution with a normalised (2r+1)^2 kernel, edges replicated.
RgbImage convolve(const RgbImage& image, const std::vector<float>& k, int r) {
  const int w = image.width, h = image.height, size = 2 * r + 1;
  const int pw = w + 2 * r;
  std::vector<float> pad(static_cast<std::size_t>(pw) * (h + 2 * r) * 3);
  for (int y = 0; y < h + 2 * r; ++y) {
    const int sy = std::clamp(y - r, 0, h - 1);
    for (int x = 0; x < pw; ++x) {
      const int sx = std::clamp(x - r, 0, w - 1);
      const std::uint8_t* s = image.pixels.data() + (static_cast<std::size_t>(sy) * w + sx) * 3;
      float* d = pad.data() + (static_cast<std::size_t>(y) * pw + x) * 3;
      d[0] = s[0];
      d[1] = s[1];
      d[2] = s[2];
    }
  }
  RgbImage out = image;
  std::vector<float> row(static_cast<std::size_t>(w) * 3);
  for (int y = 0; y < h; ++y) {
    std::fill(row.begin(), row.end(), 0.0F);
    for (int ky = 0; ky < size; ++ky) {
      const float* src = pad.data() + static_cast<std::size_t>(y + ky) * pw * 3;
      for (int kx = 0; kx < size; ++kx) {
        const float wt = k[static_cast<std::size_t>(ky) * size + kx];
        if (wt == 0.0F) continue;
        const float* s = src + static_cast<std::size_t>(kx) * 3;
        for (int i = 0; i < w * 3; ++i) row[i] += wt * s[i];
      }
    }
    std::uint8_t* o = out.pixels.data() + static_cast<std::size_t>(y) * w * 3;
    for (int i = 0; i < w * 3; ++i) o[i] = to_u8(row[i]);
  }
  return out;
}

std::vector<float> normalised(std::vector<double> k) {
  double sum = 0;
  for (double v : k) sum += v;
  std::vector<float> out(k.size());
  for (std::size_t i = 0; i < k.size(); ++i) out[i] = static_cast<float>(k[i] / sum);
  return out;
}

double uniform(std::mt19937_64& rng, double lo, double hi) {
  return lo + (hi - lo) * std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}
bool chance(std::mt19937_64& rng, double p) {
  return p > 0 && std::uniform_real_distribution<double>(0.0, 1.0)(rng) < p;
}

RgbImage apply_blur(const RgbImage& x, const DegradeStage& s, std::mt19937_64& rng) {
  if (!chance(rng, s.blur_probability)) return x;
  if (chance(rng, s.defocus_probability)) return defocus_blur(x, uniform(rng, 0.8, s.defocus_max));
  const double sx = uniform(rng, s.blur_min, s.blur_max);
  const bool aniso = chance(rng, s.anisotropic_probability);
  const double sy = aniso ? uniform(rng, s.blur_min, s.blur_max) : sx;
  const double angle = aniso ? uniform(rng, 0.0, std::numbers::pi) : 0.0;
  return gaussian_blur(x, sx, sy, angle);
}

RgbImage apply_noise(const RgbImage& x, const DegradeStage& s, std::mt19937_64& rng) {
  if (!chance(rng, s.noise_probability)) return x;
  const bool grey = chance(rng, s.grey_noise_probability);
  if (chance(rng, s.poisson_probability)) {
    // Log-uniform photon count: as many clean-ish as noisy draws across the decade.
    const double p = std::exp(uniform(rng, std::log(s.poisson_min), std::log(s.poisson_max)));
    return poisson_noise(x, p, grey, rng);
  }
  return gaussian_noise(x, uniform(rng, s.noise_min, s.noise_max), grey, rng);
}

RgbImage apply_jpeg(const RgbImage& x, const DegradeStage& s, std::mt19937_64& rng) {
  if (!chance(rng, s.jpeg_probability)) return x;
  return jpeg_roundtrip(x, std::uniform_int_distribution<int>(s.jpeg_min, s.jpeg_max)(rng));
}

RgbImage apply_resize(const RgbImage& x, int w, int h, const DegradeStage& s,
                      std::mt19937_64& rng) {
  const int filter = std::uniform_int_distribution<int>(0, 3)(rng);
  const bool aa = !chance(rng, s.aliased_probability);
  return resize_rgb(x, std::max(1, w), std::max(1, h), filter, aa);
}

// One round; `last` resizes to (lw, lh) and may put the JPEG before the resize (as Real-ESRGAN's
// final step does half of the time).
RgbImage run_stage(RgbImage x, const DegradeStage& s, int lw, int lh, bool last,
                   std::mt19937_64& rng) {
  x = apply_blur(x, s, rng);
  int w = lw, h = lh;
  if (!last) {
    const double f = uniform(rng, s.resize_min, s.resize_max);
    w = static_cast<int>(std::lround(lw * f));
    h = static_cast<int>(std::lround(lh * f));
  }
  const bool jpeg_first = last && chance(rng, 0.5);
  if (!jpeg_first) x = apply_resize(x, w, h, s, rng);
  x = apply_noise(x, s, rng);
  x = apply_jpeg(x, s, rng);
  if (jpeg_first) x = apply_resize(x, w, h, s, rng);
  return x;
}

std::vector<DegradeRecipe> make_recipes() {
  std::vector<DegradeRecipe> r;
  {
    DegradeRecipe c;
    c.name = "bicubic";
    c.summary = "the protocol: antialiased bicubic, nothing else (clean)";
    c.clean_fraction = 1;
    r.push_back(c);
  }
  {
    DegradeRecipe a;
    a.name = "aliased";
    a.summary = "one resize without antialiasing (bilinear, bicubic or Lanczos, as cv2.resize)";
    a.aliased_fraction = 1;
    r.push_back(a);
  }
  {
    DegradeRecipe l;
    l.name = "light";
    l.summary = "a little blur, faint noise, JPEG quality 75-95";
    l.first.blur_probability = 0.5;
    l.first.blur_min = 0.2;
    l.first.blur_max = 1.0;
    l.first.anisotropic_probability = 0.2;
    l.first.noise_probability = 0.5;
    l.first.noise_min = 1;
    l.first.noise_max = 4;
    l.first.poisson_probability = 0.2;
    l.first.poisson_min = 500;
    l.first.poisson_max = 2000;
    l.first.jpeg_probability = 1;
    l.first.jpeg_min = 75;
    l.first.jpeg_max = 95;
    r.push_back(l);
  }
  {
    DegradeRecipe m;
    m.name = "medium";
    m.summary = "blur, sensor noise, JPEG quality 45-75, sometimes twice over";
    DegradeStage& f = m.first;
    f.blur_probability = 0.8;
    f.blur_min = 0.5;
    f.blur_max = 1.8;
    f.defocus_probability = 0.1;
    f.aliased_probability = 0.1;
    f.resize_min = 1.0;
    f.resize_max = 2.0;
    f.noise_probability = 0.9;
    f.noise_min = 3;
    f.noise_max = 10;
    f.poisson_min = 150;
    f.poisson_max = 500;
    f.jpeg_probability = 1;
    f.jpeg_min = 45;
    f.jpeg_max = 75;
    m.second_probability = 0.3;
    DegradeStage& s = m.second;
    s.blur_probability = 0.5;
    s.blur_min = 0.2;
    s.blur_max = 0.8;
    s.noise_probability = 0.3;
    s.noise_min = 1;
    s.noise_max = 4;
    s.poisson_min = 500;
    s.poisson_max = 2000;
    s.jpeg_probability = 1;
    s.jpeg_min = 60;
    s.jpeg_max = 90;
    r.push_back(m);
  }
  {
    DegradeRecipe h;
    h.name = "heavy";
    h.summary = "strong blur, visible noise, JPEG quality 25-50, twice over";
    DegradeStage& f = h.first;
    f.blur_probability = 1;
    f.blur_min = 1.0;
    f.blur_max = 2.5;
    f.defocus_probability = 0.2;
    f.defocus_max = 3.0;
    f.aliased_probability = 0.1;
    f.resize_min = 1.0;
    f.resize_max = 2.0;
    f.noise_probability = 1;
    f.noise_min = 8;
    f.noise_max = 18;
    f.poisson_min = 30;
    f.poisson_max = 120;
    f.jpeg_probability = 1;
    f.jpeg_min = 25;
    f.jpeg_max = 50;
    h.second_probability = 1;
    DegradeStage& s = h.second;
    s.blur_probability = 0.5;
    s.blur_min = 0.3;
    s.blur_max = 1.0;
    s.noise_probability = 0.5;
    s.noise_min = 2;
    s.noise_max = 6;
    s.poisson_min = 200;
    s.poisson_max = 800;
    s.jpeg_probability = 1;
    s.jpeg_min = 30;
    s.jpeg_max = 60;
    r.push_back(h);
  }
  {
    // Real-ESRGAN's ranges (its first stage: sigma 0.2-3, noise sigma 1-30, JPEG 30-95; its second
    // stage with probability 0.8 blur 0.2-1.5, noise 1-25), with the noise capped lower: a
    // faithful model, not a GAN, learns from these.
    DegradeRecipe x;
    x.name = "real";
    x.summary = "a broad mixture after Real-ESRGAN's second-order model (training)";
    DegradeStage& f = x.first;
    f.blur_probability = 0.8;
    f.blur_min = 0.2;
    f.blur_max = 3.0;
    f.defocus_probability = 0.1;
    f.aliased_probability = 0.15;
    f.resize_min = 0.75;
    f.resize_max = 2.5;
    f.noise_probability = 0.7;
    f.noise_min = 1;
    f.noise_max = 20;
    f.poisson_min = 30;
    f.poisson_max = 2000;
    f.jpeg_probability = 0.9;
    f.jpeg_min = 30;
    f.jpeg_max = 95;
    x.second_probability = 0.5;
    DegradeStage& s = x.second;
    s.blur_probability = 0.6;
    s.blur_min = 0.2;
    s.blur_max = 1.5;
    s.aliased_probability = 0.15;
    s.noise_probability = 0.5;
    s.noise_min = 1;
    s.noise_max = 10;
    s.poisson_min = 100;
    s.poisson_max = 2000;
    s.jpeg_probability = 0.8;
    s.jpeg_min = 30;
    s.jpeg_max = 95;
    r.push_back(x);
    // The restoration models' training mix: some clean and aliased inputs, so that a clean or
    // aliased picture is enlarged, not smeared.
    DegradeRecipe t = x;
    t.name = "train";
    t.summary = "real, plus 15% clean bicubic and 10% aliased inputs (restoration training)";
    t.clean_fraction = 0.15;
    t.aliased_fraction = 0.10;
    r.push_back(t);
  }
  return r;
}

}  // namespace

const std::vector<DegradeRecipe>& degrade_recipes() {
  static const std::vector<DegradeRecipe> recipes = make_recipes();
  return recipes;
}

const DegradeRecipe& degrade_recipe(std::string_view name) {
  std::string names;
  for (const DegradeRecipe& r : degrade_recipes()) {
    if (r.name == name) return r;
    names += names.empty() ? r.name : ", " + r.name;
  }
  throw Error(ErrorKind::usage, "degrade", fmt::format("'{}' is not a degradation recipe", name),
              "expected one of " + names);
}

RgbImage degrade(const RgbImage& hr, int scale, const DegradeRecipe& recipe, std::mt19937_64& rng) {
  if (scale < 1 || hr.width % scale != 0 || hr.height % scale != 0) {
    throw Error(ErrorKind::usage, "degrade",
                fmt::format("{}x{} is not a multiple of the scale {}", hr.width, hr.height, scale));
  }
  const int lw = hr.width / scale, lh = hr.height / scale;
  const double pick = uniform(rng, 0.0, 1.0);
  if (pick < recipe.clean_fraction) return degrade_bicubic(hr, scale);
  if (pick < recipe.clean_fraction + recipe.aliased_fraction) {
    return resize_rgb(hr, lw, lh, std::uniform_int_distribution<int>(1, 3)(rng), false);
  }
  const bool two = chance(rng, recipe.second_probability);
  RgbImage x = run_stage(hr, recipe.first, lw, lh, !two, rng);
  if (two) x = run_stage(std::move(x), recipe.second, lw, lh, true, rng);
  return x;
}

RgbImage degrade_named(const RgbImage& hr, int scale, std::string_view recipe, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  return degrade(hr, scale, degrade_recipe(recipe), rng);
}

std::uint64_t degrade_seed(std::uint64_t seed, std::string_view image_name) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a, then a splitmix64 finish
  for (const char c : image_name) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  std::uint64_t z = h ^ (seed + 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

RgbImage gaussian_blur(const RgbImage& image, double sigma_x, double sigma_y, double angle) {
  const double smax = std::max(sigma_x, sigma_y);
  const int r = std::clamp(static_cast<int>(std::ceil(3.0 * smax)), 1, 10);
  const int size = 2 * r + 1;
  // Inverse covariance of a Gaussian with axes sigma_x, sigma_y rotated by `angle`.
  const double c = std::cos(angle), s = std::sin(angle);
  const double ix = 1.0 / (sigma_x * sigma_x), iy = 1.0 / (sigma_y * sigma_y);
  const double a = c * c * ix + s * s * iy, b = c * s * (ix - iy), d = s * s * ix + c * c * iy;
  std::vector<double> k(static_cast<std::size_t>(size) * size);
  for (int y = -r; y <= r; ++y) {
    for (int x = -r; x <= r; ++x) {
      k[static_cast<std::size_t>(y + r) * size + (x + r)] =
          std::exp(-0.5 * (a * x * x + 2 * b * x * y + d * y * y));
    }
  }
  return convolve(image, normalised(std::move(k)), r);
}

RgbImage defocus_blur(const RgbImage& image, double radius) {
  const int r = std::clamp(static_cast<int>(std::ceil(radius + 0.5)), 1, 10);
  const int size = 2 * r + 1;
  std::vector<double> k(static_cast<std::size_t>(size) * size);
  for (int y = -r; y <= r; ++y) {
    for (int x = -r; x <= r; ++x) {
      // A disk with a one-pixel soft edge (its area coverage, roughly).
      const double dist = std::sqrt(static_cast<double>(x * x + y * y));
      k[static_cast<std::size_t>(y + r) * size + (x + r)] =
          std::clamp(radius + 0.5 - dist, 0.0, 1.0);
    }
  }
  return convolve(image, normalised(std::move(k)), r);
}

RgbImage resize_rgb(const RgbImage& image, int width, int height, int filter, bool antialias) {
  static constexpr core::Filter kFilters[] = {core::Filter::box, core::Filter::triangle,
                                              core::Filter::catmull_rom, core::Filter::lanczos3};
  const core::Filter f = kFilters[std::clamp(filter, 0, 3)];
  const core::AxisWeights wx = core::make_axis_weights(image.width, width, f, antialias);
  const core::AxisWeights wy = core::make_axis_weights(image.height, height, f, antialias);
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

RgbImage gaussian_noise(const RgbImage& image, double sigma, bool grey, std::mt19937_64& rng) {
  std::normal_distribution<float> n(0.0F, static_cast<float>(sigma));
  RgbImage out = image;
  for (std::size_t i = 0; i < out.pixels.size(); i += 3) {
    const float g = grey ? n(rng) : 0.0F;
    for (std::size_t ch = 0; ch < 3; ++ch) {
      out.pixels[i + ch] = to_u8(static_cast<float>(out.pixels[i + ch]) + (grey ? g : n(rng)));
    }
  }
  return out;
}

RgbImage poisson_noise(const RgbImage& image, double photons, bool grey, std::mt19937_64& rng) {
  // Shot noise: a pixel of value v collects about v / 255 * photons photons; the count is
  // Poisson, so the noise grows with the square root of the brightness (approximated by a
  // Gaussian of that variance, which is close from ~10 photons on and much faster).
  std::normal_distribution<float> n(0.0F, 1.0F);
  const auto scale = static_cast<float>(255.0 / photons);
  RgbImage out = image;
  for (std::size_t i = 0; i < out.pixels.size(); i += 3) {
    if (grey) {
      const float luma =
          0.299F * out.pixels[i] + 0.587F * out.pixels[i + 1] + 0.114F * out.pixels[i + 2];
      const float e = n(rng) * std::sqrt(std::max(luma, 0.0F) * scale);
      for (std::size_t ch = 0; ch < 3; ++ch) out.pixels[i + ch] = to_u8(out.pixels[i + ch] + e);
    } else {
      for (std::size_t ch = 0; ch < 3; ++ch) {
        const float v = out.pixels[i + ch];
        out.pixels[i + ch] = to_u8(v + n(rng) * std::sqrt(v * scale));
      }
    }
  }
  return out;
}

}  // namespace hires
