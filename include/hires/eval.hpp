// Quality evaluation with the standard super-resolution protocol:
//
//   hires::EvalOptions opt;
//   opt.scale = 4;
//   opt.method = "bicubic";  // a classic method, a model file or a model name
//   hires::EvalReport r = hires::evaluate("bench/Set5", opt, {});
//   // r.mean_psnr, r.mean_ssim: PSNR/SSIM on the Y channel, border of `scale` pixels cropped.
//
// Each high-resolution (HR) image is cropped to a multiple of the scale, shrunk to the
// low-resolution (LR) input by bicubic (Keys a = -0.5, kernel widened by the scale =
// antialiasing, on gamma-encoded values, rounded to 8 bits — as MATLAB's imresize), upscaled by
// the method and compared with the HR image on Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "hires/hires.hpp"
#include "hires/plan.hpp"

namespace hires {

// An 8-bit RGB image, pixels interleaved row by row (width * height * 3 bytes).
struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;
};

// PSNR is capped at this value (identical images would give infinity).
inline constexpr double kMaxPsnr = 100.0;

// PSNR in dB between the Y channels of two images of the same size, leaving out `border` pixels
// on every side; capped at kMaxPsnr. Throws Error(usage) when sizes differ or the border leaves
// nothing.
double psnr_y(const RgbImage& a, const RgbImage& b, int border);

// SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03, valid region)
// between the Y channels, leaving out `border` pixels on every side. 1 for identical images.
double ssim_y(const RgbImage& a, const RgbImage& b, int border);

// The HR image cropped (top-left kept) to width and height multiples of `scale`.
RgbImage crop_to_multiple(const RgbImage& image, int scale);

// The LR input of the protocol: `hr` (sides multiples of `scale`) shrunk by `scale` with
// antialiased bicubic on gamma-encoded values, rounded to 8 bits.
RgbImage degrade_bicubic(const RgbImage& hr, int scale);

struct EvalOptions {
  int scale = 4;
  // nearest | bilinear | bicubic | lanczos | auto (the content-aware default) | model file or name
  std::string method = "bicubic";
  std::vector<std::filesystem::path> model_dirs;
  // Classic methods filter in linear light, as `hires` upscales, when true; the protocol's
  // baseline (MATLAB's imresize) filters gamma-encoded values (false).
  bool linear_light = false;
  BackendKind backend = BackendKind::automatic;
  int threads = 0;
  int gpu = -1;  // the Vulkan device for the vulkan backend (-1 = the best one)
  std::uint64_t memory_budget = kDefaultMemoryBudget;  // for a model's tiles
  int limit = 0;                   // evaluate only the first `limit` images (by file name); 0 = all
  std::filesystem::path save_dir;  // when set, each upscaled image is written there as PNG
  bool save_lr = false;            // with save_dir: the LR input too, as NAME-lr.png
  // How the LR input is made (hires/degrade.hpp): "bicubic" is the protocol; other recipes draw
  // their steps from a generator seeded per image with degrade_seed(seed, file name).
  std::string degrade = "bicubic";
  std::uint64_t seed = 1;
  // For method "auto" (what `hires IMAGE` picks per image) and the restore models: this
  // restoration strength instead of the measured one.
  std::optional<double> restore;
};

struct EvalImage {
  std::filesystem::path file;
  Size size;  // HR size after cropping
  double psnr = 0;
  double ssim = 0;
  double seconds = 0;  // time to upscale the LR image
  std::string method;  // what ran (for auto: the model and strength chosen for this image)
};

struct EvalReport {
  std::string method;  // the method or the model's name
  int scale = 0;
  std::vector<EvalImage> images;
  double mean_psnr = 0;
  double mean_ssim = 0;
  double mean_seconds = 0;
};

// Called after each image with its result, its 0-based index and the number of images.
using EvalProgressFn = std::function<void(const EvalImage&, std::size_t, std::size_t)>;

// Evaluates every image file in `dir` (not descending into sub-folders), in file-name order.
// Throws Error(usage) for a bad scale or method or an empty folder, Error(input) for a file that
// cannot be read.
EvalReport evaluate(const std::filesystem::path& dir, const EvalOptions& options,
                    const EvalProgressFn& progress);

// Upscales `lr` by `scale` with `options.method` (as evaluate does). Throws like evaluate.
RgbImage upscale_for_eval(const RgbImage& lr, int scale, const EvalOptions& options);

// Reads an image file as 8-bit RGB (alpha flattened onto white, grey expanded, 16-bit narrowed).
RgbImage read_rgb(const std::filesystem::path& path);
// Writes an 8-bit RGB image (format from the extension). Throws Error(output).
void write_rgb(const std::filesystem::path& path, const RgbImage& image);

}  // namespace hires
