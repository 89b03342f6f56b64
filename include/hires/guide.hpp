// Guidance: check an image before upscaling it, review a result after, presets.
//
//   hires::CheckResult c = hires::check_file("photo.jpg", {});
//   // c.verdict, c.findings (each with its measured value), c.recommendation
//   hires::ReviewResult r = hires::review_files("photo.jpg", "photo-x4.png", {});
//   // r.resemblance_psnr, r.artifact_fraction, r.color_shift, r.verdict, r.reasons
//
// The measures work on plain float buffers (Pixels), so they can be used and tested without
// any image file.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hires/hires.hpp"
#include "hires/options.hpp"
#include "hires/plan.hpp"

namespace hires {

// An image as gamma-encoded sRGB (or grey) values in [0, 1], interleaved, 1 or 3 channels.
struct Pixels {
  int width = 0;
  int height = 0;
  int channels = 3;
  std::vector<float> data;

  Pixels() = default;
  Pixels(int w, int h, int c, float fill = 0.0F);
  float& at(int x, int y, int c) {
    return data[(static_cast<std::size_t>(y) * width + x) * channels + c];
  }
  float at(int x, int y, int c) const {
    return data[(static_cast<std::size_t>(y) * width + x) * channels + c];
  }
};

// ---- check: before upscaling ------------------------------------------------------------------

enum class FindingKind { small, blur, blocky, banding, noise, dark, bright, halftone };
enum class Severity { info, warn, bad };
enum class Content { photo, art, text, pixel_art };
enum class CheckVerdict { good, care, poor, not_needed };

std::string_view finding_kind_name(FindingKind k);  // "small", "blur", ..., "halftone"
std::string_view severity_name(Severity s);         // "info", "warn", "bad"
std::string_view content_name(Content c);           // "photo", "art", "text", "pixel art"
std::string_view verdict_name(CheckVerdict v);      // "good", "care", "poor", "not_needed"
std::string_view verdict_label(CheckVerdict v);     // "good candidate", "usable with care", ...

// The raw measures behind the findings (units in the comments; luma is 0..255).
struct Measures {
  double min_side = 0;       // pixels
  double blur = 0;           // Crete-Roffet blur effect: 0 sharp .. 1 very blurred
  double jpeg_grid = 1;      // edge strength on the best 8x8 grid / elsewhere (1 = no grid)
  double fine_detail = 0;    // mean |Laplacian| / mean |gradient|: aliasing and noise raise it
  double staircase = 0;      // nearest-neighbour staircases: 0 none .. 1 pure blocks
  int staircase_block = 0;   // their block size in pixels (0 = none)
  double banding = 0;        // staircase gradient steps per 1000 pixels
  double noise = 0;          // estimated noise sigma in levels (median of the channels)
  double mean_luma = 0;      // 0..255
  double clipped_high = 0;   // % of pixels at luma >= 250
  double flat_fraction = 0;  // share of pixels equal to their right/lower neighbour
  double flat_midtone_fraction = 0;  // the same, leaving out near-black and near-white ones
  double top2_luma_share = 0;        // share of pixels in the two most common luma bins
  double colourfulness = 0;          // Hasler-Suesstrunk M (0 grey .. ~100 vivid)
  double palette = 0;                // 12-bit colours needed to cover 90 % of the pixels
  double top32_colour_share = 0;     // share of pixels in the 32 most common exact colours
  double halftone = 0;               // printing screen: autocorrelation peak at 2.5..12 px, 0..1
  double halftone_period = 0;        // its distance in pixels (0 = none)
  // A fact of the file rather than the pixels: the quality a JPEG file was saved at (from its
  // quantisation table), 0 when not a JPEG. Set by check_file and the upscale path.
  int jpeg_quality = 0;
};
Measures measure(const Pixels& image);
Content classify_content(const Measures& m);
// Sprites and icons drawn from a few exact colours, or art enlarged with nearest neighbour.
bool is_pixel_art(const Measures& m);

struct Finding {
  FindingKind kind = FindingKind::small;
  double value = 0;
  Severity severity = Severity::info;
  std::string message;  // one line, what the value means
};

struct Recommendation {
  std::string model;   // as choose_model picks it: photo-x2/x4, restore-x2/x4, nearest, lanczos
  double restore = 0;  // the restoration strength (--restore) for the restore models
  std::string reason;  // why that model
  int denoise = 0;     // 0..3, the --denoise level to use
  int passes = 1;      // passes of that model for the target (0: no model pass)
  std::string plan;    // the pass plan in words
};

struct CheckOptions {
  std::optional<SizeRequest> target;  // what the image is for (--print, --width, ...)
  int jpeg_quality = 0;  // the file's saved JPEG quality, when it is one (check_file sets it)
  // Set when the pixels are a part (the centre) of a larger image of this size: the size facts
  // and the plan are the whole image's, the measures the part's (check_file on a huge image).
  std::optional<Size> whole_size;
};

struct CheckResult {
  Size size;
  Content content = Content::photo;
  Measures measures;
  std::vector<Finding> findings;  // one per kind, severity info when fine
  CheckVerdict verdict = CheckVerdict::good;
  Recommendation recommendation;
  std::optional<Size> target;    // the pixels the target needs
  double scale = 4.0;            // the enlargement the target asks for
  std::optional<Size> measured;  // when only a part was measured: its size (the image's centre)
};

CheckResult check_pixels(const Pixels& image, const CheckOptions& options);
// Decodes `path` (upright, flattened onto white) and checks it. Throws Error.
CheckResult check_file(const std::filesystem::path& path, const CheckOptions& options,
                       const Limits& limits = {});

// The result as one JSON object (one line): input, size, content, findings, verdict,
// recommendation, measures and the target when one was asked.
std::string check_json(const std::string& input, const CheckResult& r);

// ---- review: after upscaling ------------------------------------------------------------------

enum class ReviewVerdict { ok, warn, fail };
std::string_view review_verdict_name(ReviewVerdict v);  // "ok", "warn", "fail"

// A rectangle of the upscaled image with a name such as "top left".
struct Region {
  int x = 0, y = 0, width = 0, height = 0;
  std::string name;
  std::string problem;  // "invented texture", "halo / over-sharpening", "colour shift"
  double score = 0;
};

struct ReviewResult {
  Size original;
  Size upscaled;
  double resemblance_psnr = 0;   // dB, upscaled shrunk back (antialiased) vs original
  double resemblance_ssim = 0;   // 0..1, luma
  double artifact_fraction = 0;  // share of the image with invented texture or halos
  double color_shift = 0;        // largest per-region mean colour difference (CIE76 delta E)
  ReviewVerdict verdict = ReviewVerdict::ok;
  std::vector<std::string> reasons;
  std::vector<Region> regions;  // the worst regions, worst first
  Pixels heat;                  // per original pixel: channel 0 invented texture, 1 halos, 0..1
  // review_files: the quality the upscaled file was saved at when it is a JPEG (0 otherwise);
  // below kDefaultMinQuality its 8x8 blocks show and the verdict is at least warn.
  int jpeg_quality = 0;
};

ReviewResult review_pixels(const Pixels& original, const Pixels& upscaled);
ReviewResult review_files(const std::filesystem::path& original,
                          const std::filesystem::path& upscaled, const Limits& limits = {});
// Writes DIR/index.html with the images side by side, the heat map and 100 % crops of the worst
// regions (PNG files beside it); readable offline. Returns the page's path. Throws Error.
std::filesystem::path write_review_report(const std::filesystem::path& dir,
                                          const std::filesystem::path& original,
                                          const std::filesystem::path& upscaled,
                                          const ReviewResult& result, const Limits& limits = {});

// ---- polish -----------------------------------------------------------------------------------

// Edge-preserving noise reduction, level 1..3 (0 leaves the image alone). Colour channels only.
void denoise(Pixels& image, int level);

// Presets: see hires/options.hpp.

}  // namespace hires
