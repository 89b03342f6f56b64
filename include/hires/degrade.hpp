// Realistic degradations: low-resolution inputs made the way users' files are made — blurred,
// resized with or without antialiasing, noisy, JPEG-compressed, once or twice over — for
// training restoration models and for scoring methods on such inputs (`hires eval --degrade`).
//
//   hires::RgbImage lr = hires::degrade_named(hr, 4, "medium", hires::degrade_seed(7, "baby"));
//   // Same image, scale, recipe and seed: the same bytes, on every run.
//
// After Real-ESRGAN's second-order degradation model (Wang et al., "Real-ESRGAN: Training
// Real-World Blind Super-Resolution with Pure Synthetic Data", ICCVW 2021): blur → resize →
// noise → JPEG, applied once or twice, with the order of the last resize and JPEG random.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "hires/eval.hpp"

namespace hires {

// One round of blur → resize → noise → JPEG; each step happens with its probability and draws
// its strength uniformly from its range.
struct DegradeStage {
  double blur_probability = 0;
  double blur_min = 0.2, blur_max = 2.0;  // Gaussian sigma in pixels of the stage's input
  double anisotropic_probability = 0.5;   // else isotropic; anisotropic ones are rotated
  double defocus_probability = 0;         // a disk (out of focus) instead of a Gaussian
  double defocus_max = 2.0;               // disk radius range [0.8, defocus_max] pixels
  // Resize (for a first stage of two: to this factor of the final LR size, e.g. 1.0 .. 2.0;
  // for the last stage always to the LR size). Filters drawn from area, bilinear, bicubic and
  // Lanczos-3; without antialiasing with `aliased_probability`.
  double resize_min = 1.0, resize_max = 1.0;
  double aliased_probability = 0;
  double noise_probability = 0;
  double poisson_probability = 0.3;            // shot noise instead of Gaussian
  double noise_min = 1, noise_max = 10;        // Gaussian sigma in 8-bit levels
  double poisson_min = 50, poisson_max = 500;  // photons at white (fewer: noisier)
  double grey_noise_probability = 0.4;         // same noise in R, G and B (else per channel)
  double jpeg_probability = 0;
  int jpeg_min = 30, jpeg_max = 95;  // quality range; 4:2:0 chroma subsampling
};

struct DegradeRecipe {
  std::string name;
  std::string summary;  // one line, for --help and docs
  // Shares of plain inputs: the evaluation protocol's antialiased bicubic (clean), and a single
  // resize without antialiasing (aliased, filter drawn); the rest goes through the stages.
  double clean_fraction = 0;
  double aliased_fraction = 0;
  DegradeStage first;
  double second_probability = 0;  // a second round after the first
  DegradeStage second;
};

// The named recipes: bicubic (the protocol, clean), aliased, light, medium, heavy, real
// (Real-ESRGAN's broad mixture: the training default).
const std::vector<DegradeRecipe>& degrade_recipes();
// The recipe called `name`; throws Error(usage) naming it and listing the others.
const DegradeRecipe& degrade_recipe(std::string_view name);

// `hr` (sides multiples of `scale`) degraded to hr / scale by `recipe`, drawing from `rng`.
RgbImage degrade(const RgbImage& hr, int scale, const DegradeRecipe& recipe, std::mt19937_64& rng);
// Deterministic form for evaluation: the generator seeded with `seed`.
RgbImage degrade_named(const RgbImage& hr, int scale, std::string_view recipe, std::uint64_t seed);
// A per-image seed from a run seed and the image's name (so adding images changes no others).
std::uint64_t degrade_seed(std::uint64_t seed, std::string_view image_name);

// Building blocks (exposed for tests and tools).
RgbImage gaussian_blur(const RgbImage& image, double sigma_x, double sigma_y, double angle);
RgbImage defocus_blur(const RgbImage& image, double radius);
// Filter index: 0 area, 1 bilinear, 2 bicubic, 3 Lanczos-3; on gamma-encoded values.
RgbImage resize_rgb(const RgbImage& image, int width, int height, int filter, bool antialias);
RgbImage gaussian_noise(const RgbImage& image, double sigma, bool grey, std::mt19937_64& rng);
RgbImage poisson_noise(const RgbImage& image, double photons, bool grey, std::mt19937_64& rng);
// Encoded as JPEG at `quality` (4:2:0) and decoded again.
RgbImage jpeg_roundtrip(const RgbImage& image, int quality);

}  // namespace hires
