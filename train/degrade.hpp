// Low-resolution inputs made on the fly from HR patches: the evaluation protocol's bicubic
// (hires/eval.hpp) and a realistic mode with what real photos carry — Gaussian blur (isotropic or
// anisotropic, rotated), resize chains with different filters, sensor noise and JPEG at a random
// quality (after Real-ESRGAN's first-order degradation model, Wang et al. 2021).
#pragma once

#include <random>

#include "hires/eval.hpp"

namespace hires::train {

struct DegradeOptions {
  int scale = 4;
  double bicubic_fraction = 0.5;  // share of patches degraded by plain bicubic
  double blur_probability = 0.7;
  double max_sigma = 2.5;  // blur sigma range in HR pixels: [0.2, max_sigma]
  double noise_probability = 0.5;
  double max_noise = 12.0;  // Gaussian noise sigma range in 8-bit steps: [1, max_noise]
  double jpeg_probability = 0.6;
  int min_quality = 35;  // JPEG quality range [min_quality, 95]
};

// `hr` has sides that are multiples of options.scale; the result is hr / scale.
RgbImage degrade(const RgbImage& hr, const DegradeOptions& options, std::mt19937& rng);

// The realistic mode alone (for tests and samples).
RgbImage degrade_realistic(const RgbImage& hr, const DegradeOptions& options, std::mt19937& rng);

// Building blocks.
RgbImage blur(const RgbImage& image, double sigma_x, double sigma_y, double angle);
RgbImage add_noise(const RgbImage& image, double sigma, bool grey, std::mt19937& rng);
RgbImage jpeg_roundtrip(const RgbImage& image, int quality);
RgbImage resize_rgb(const RgbImage& image, int width, int height, int filter_index);

}  // namespace hires::train
