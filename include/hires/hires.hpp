// hires — local image upscaler.
//
//   hires::UpscaleOptions opt;
//   opt.size = hires::SizeRequest::by_scale(4.0);
//   opt.method = hires::Method::lanczos;
//   hires::FileResult r = hires::upscale_file("in.jpg", "out.jpg", opt, {});
//   // r.out_size holds the written size; errors are thrown as hires::Error.
//
// The library never prints or exits; progress and notices come back through callbacks and results.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hires/error.hpp"
#include "hires/models.hpp"
#include "hires/plan.hpp"

namespace hires {

// Resampling methods. AI models will join through the same option (see issue 3).
enum class Method { nearest, bilinear, bicubic, lanczos };

std::string_view method_name(Method m);
// "nearest|bilinear|bicubic|lanczos" (and lanczos3, linear, cubic); nullopt for anything else
// (a model name, say): the one test of method against model, without exceptions.
std::optional<Method> find_method(std::string_view text);
// As find_method, but throws Error(usage) on anything else.
Method parse_method(std::string_view text);

// Which implementation runs a model: automatic (the fastest this machine has, unless the
// HIRES_BACKEND environment variable forces one: a discrete or integrated GPU through vulkan
// when there is one that runs the model, else cpu), cpu (oneDNN and our own kernels), reference
// (plain loops: the oracle the fast paths are tested against; slow) or vulkan (compute shaders
// on any Vulkan device, software ones such as lavapipe included; see hires/devices.hpp).
enum class BackendKind { automatic, cpu, reference, vulkan };
std::string_view backend_name(BackendKind b);
// "auto|cpu|vulkan|reference"; throws Error(usage) naming `option` on anything else.
BackendKind parse_backend(std::string_view option, std::string_view text);

enum class Format { from_extension, jpeg, png, webp, tiff, avif };

std::string_view format_name(Format f);
// What a format can hold: transparency (all but JPEG), 16 bits per sample (PNG, TIFF).
bool format_has_alpha(Format f);
bool format_has_16bit(Format f);
// Parses "jpg|jpeg|png|webp|tif|tiff|avif".
Format parse_format(std::string_view text);
// Format from a path's extension; std::nullopt when it is not one we write.
std::optional<Format> format_from_path(const std::filesystem::path& path);
// The canonical extension (with dot) written for a format: ".jpg", ".png", ...
std::string_view format_extension(Format f);

struct Rgb {
  std::uint8_t r = 255, g = 255, b = 255;
};
// Parses "white", "black", "#rrggbb", "rrggbb" or "r,g,b".
Rgb parse_color(std::string_view text);

// The quality floor of a size target (--max-bytes): below it JPEG's 8x8 blocks show.
inline constexpr int kDefaultMinQuality = 60;

struct EncodeOptions {
  Format format = Format::from_extension;
  int quality = 0;              // 0 = the format's default (JPEG 90, WebP 90, AVIF 60)
  std::uint64_t max_bytes = 0;  // 0 = no limit; else the highest quality that fits
  // With max_bytes: never below this quality (lower shows JPEG blocks); when the target cannot
  // be met above it, the write fails and says so. 1 allows any quality.
  int min_quality = kDefaultMinQuality;
  bool strip = false;  // drop EXIF/XMP/IPTC (the ICC profile always stays)
  // Drop where the photo was taken: EXIF GPS tags, and XMP and IPTC when they carry location
  // (GPS, city, country, sublocation); camera data stays. The web presets set it.
  bool strip_location = false;
  bool srgb = false;  // convert colours tagged with another ICC profile (P3, Adobe RGB) to sRGB
  std::optional<double> dpi;  // write this resolution (pixels per inch)
  Rgb background;             // alpha is flattened onto this when the format has none
};

struct Limits {
  std::uint64_t max_input_pixels = 268'435'456;     // 16384 x 16384
  std::uint64_t max_output_pixels = 1'073'741'824;  // 32768 x 32768
  // Corrupt data that the decoder only warns about (a bit-flipped JPEG, a PNG with missing rows)
  // fails the file unless this is set; then it is decoded anyway and the result says so.
  bool accept_damaged = false;
};

// Polish around the upscale (see include/hires/guide.hpp for the checks and reviews).
struct PolishOptions {
  bool color_fix = false;  // match the output's low-frequency colour to the input's
  int denoise = 0;         // 0..3: edge-preserving noise reduction before upscaling
  double sharpen = 0;      // unsharp mask amount in linear light after upscaling (0 = off)
};

// The one request object that travels the whole path (see docs/ARCHITECTURE.md).
struct UpscaleOptions {
  Method method = Method::lanczos;  // used when `model` is empty, and for the final exact resize
  std::shared_ptr<Model> model;     // an AI model (see load_model); empty = classic method
  // Choose per image from what `check` measures (hires/guide.hpp, choose_model): the photo or
  // the restore model at a strength from the image's JPEG blocks, noise and blur, nearest for
  // pixel art. `model` and `method` are then ignored (method stays the final resize's).
  bool auto_model = false;
  std::optional<double> restore;  // with auto_model: this restoration strength (0..1) for all
  int tile = 0;                   // model tile size in input pixels; 0 = from memory_budget
  std::uint64_t memory_budget = kDefaultMemoryBudget;  // bytes for a model's activations per tile
  BackendKind backend = BackendKind::automatic;
  int gpu = -1;  // the Vulkan device (list_gpus() index) for vulkan; -1 = the best one
  SizeRequest size = SizeRequest::by_scale(4.0);
  EncodeOptions encode;
  Limits limits;
  bool overwrite = false;  // replace existing outputs (inputs are never replaced)
  int threads = 0;         // 0 = all cores
  PolishOptions polish;
  // Upscale only this region of the input (in upright input pixels), at the enlargement the
  // size request gives the whole image: a preview of what a full run makes of that region. The
  // content-aware default still measures the whole image, so the preview runs the same model.
  std::optional<Rect> crop;
  // Set to true from another thread to stop a run: upscale_file then throws
  // Error(ErrorKind::cancelled) at the next tile and writes nothing.
  std::shared_ptr<const std::atomic<bool>> cancel;
};

// Facts of a decoded image (io::open_image reads them from the file's header).
struct ImageInfo {
  Size size;
  int bands = 0;  // including alpha
  bool has_alpha = false;
  int bits = 8;        // 8 or 16 per sample
  std::string loader;  // libvips loader name, e.g. "jpegload"
  bool has_icc = false;
  int orientation = 1;  // EXIF orientation before it is applied
  std::optional<double> dpi;
};

struct FileResult {
  std::filesystem::path input;
  std::filesystem::path output;
  Size in_size;
  Size out_size;
  std::optional<double> dpi;
  std::uint64_t bytes = 0;
  int quality = 0;                   // the quality used, for lossy formats
  std::vector<std::string> notices;  // one line each, e.g. alpha flattened
  int model_passes = 0;              // how many times the AI model ran
  std::string engine;                // which implementation ran the model, e.g. "cpu: oneDNN ..."
  std::string engine_reason;         // why that one: "asked for", "HIRES_BACKEND=reference", ...
  std::string model;                 // the model or method that ran, e.g. "restore-x4@0.60"
  std::string reason;                // with auto_model: why that one
};

// fraction in [0, 1]
using ProgressFn = std::function<void(double fraction)>;

// Upscales one file. Writes `output` atomically (temp file + rename); refuses to write over
// `input`. Throws Error.
FileResult upscale_file(const std::filesystem::path& input, const std::filesystem::path& output,
                        const UpscaleOptions& options, const ProgressFn& progress);

// Sets the number of worker threads used by image processing (0 = all cores).
void set_threads(int threads);

}  // namespace hires
