// The content-aware default: which built-in model (and how much restoration) an image gets when
// no method is named. `hires IMAGE`, `hires check` and `hires eval -m auto` all ask here.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "pipeline/choose.hpp"

#include "hires/models.hpp"
#include "models/builtin/builtin.hpp"

namespace hires {
namespace {

// Where clean-up starts and where it is full, per measure. Fitted on training images (never the
// bench sets) degraded by the eval recipes: tools/calibrate_choose.sh, docs/QUALITY.md.
constexpr double kGridFrom = 1.25, kGridFull = 2.25;    // JPEG 8x8 grid ratio
constexpr double kNoiseFrom = 2.5, kNoiseFull = 6.5;    // noise sigma, luma levels
constexpr double kBlurFrom = 0.40, kBlurFull = 0.60;    // Crete-Roffet blur effect
constexpr double kAliasFrom = 1.22, kAliasFull = 1.32;  // fine detail: aliasing or noise
constexpr double kSoftFrom = 0.95, kSoftFull = 0.85;    // fine detail: smoothed by blur or JPEG
constexpr double kQualityFrom = 92, kQualityFull = 55;  // a JPEG file's saved quality
constexpr double kMinStrength = 0.1;                    // below: the photo model as it is

double ramp(double v, double from, double full) {
  return std::clamp((v - from) / (full - from), 0.0, 1.0);
}

// By the embedded blobs' names: no weights parsed (this runs for every image).
bool has_builtin(std::string_view name) {
  for (const models::BuiltinBlob& b : models::builtin_blobs()) {
    if (b.name == name) return true;
  }
  return false;
}

}  // namespace

double restore_strength(const Measures& m) {
  const double s =
      std::max({ramp(m.jpeg_grid, kGridFrom, kGridFull), ramp(m.noise, kNoiseFrom, kNoiseFull),
                ramp(m.blur, kBlurFrom, kBlurFull), ramp(m.fine_detail, kAliasFrom, kAliasFull),
                ramp(-m.fine_detail, -kSoftFrom, -kSoftFull),
                m.jpeg_quality > 0 ? ramp(-m.jpeg_quality, -kQualityFrom, -kQualityFull) : 0.0});
  if (s < kMinStrength) return 0.0;
  return std::round(s * 20.0) / 20.0;  // steps of 0.05: the same image, the same model
}

ModelChoice choose_model(const Measures& m, double scale, std::optional<double> restore) {
  ModelChoice c;
  const std::string suffix = scale <= 2.0 ? "x2" : "x4";
  const bool pixel_art = is_pixel_art(m);
  if (!restore && pixel_art) {
    c.model = "nearest";
    c.reason = m.staircase_block > 0
                   ? fmt::format("pixel art ({}x{} blocks): nearest neighbour keeps them crisp",
                                 m.staircase_block, m.staircase_block)
                   : fmt::format(
                         "pixel art ({:.0f} colours, {:.0f} % flat): nearest neighbour "
                         "keeps its pixels crisp",
                         m.palette, m.flat_fraction * 100);
    return c;
  }
  const double strength = restore ? *restore : restore_strength(m);
  const std::string photo = "photo-" + suffix, fix = "restore-" + suffix;
  if (strength > 0 && has_builtin(fix) && has_builtin(photo)) {
    c.model = fix;
    c.restore = strength;
    if (restore) {
      c.reason = fmt::format("restoration strength {:.2f} as asked", strength);
    } else {
      std::vector<std::string> what;
      if (m.jpeg_grid >= kGridFrom) what.push_back(fmt::format("JPEG blocks {:.1f}", m.jpeg_grid));
      if (m.jpeg_quality > 0 && m.jpeg_quality < kQualityFrom) {
        what.push_back(fmt::format("saved as JPEG quality {}", m.jpeg_quality));
      }
      if (m.noise >= kNoiseFrom) what.push_back(fmt::format("noise {:.1f} levels", m.noise));
      if (m.blur >= kBlurFrom) what.push_back(fmt::format("blur {:.2f}", m.blur));
      if (m.fine_detail >= kAliasFrom) {
        what.push_back(fmt::format("aliasing or grain (fine detail {:.2f})", m.fine_detail));
      }
      if (m.fine_detail <= kSoftFrom) {
        what.push_back(fmt::format("smoothed detail (fine detail {:.2f})", m.fine_detail));
      }
      c.reason = fmt::format("{}: restoration strength {:.2f}", fmt::join(what, ", "), strength);
    }
    return c;
  }
  if (has_builtin(photo)) {
    c.model = photo;
    c.reason = "clean image: the photo model";
    return c;
  }
  c.model = "lanczos";
  c.reason = "no built-in model in this build";
  return c;
}

std::shared_ptr<Model> load_choice(const ModelChoice& choice) {
  if (choice.model.rfind("restore-", 0) == 0) {
    const std::string photo = "photo-" + choice.model.substr(std::string("restore-").size());
    return load_builtin_blend(photo, choice.model, choice.restore);
  }
  return load_builtin_model(choice.model);  // nullptr for a classic method
}

}  // namespace hires

namespace hires::pipeline {

int builtin_scale(std::string_view name) {
  if (!has_builtin(name)) return 0;
  const std::size_t x = name.rfind("-x");
  if (x == std::string_view::npos) return 0;
  const int s = std::atoi(std::string(name.substr(x + 2)).c_str());
  return s > 0 ? s : 0;
}

std::string choice_name(const ModelChoice& choice) {
  if (choice.model.rfind("restore-", 0) != 0) return choice.model;
  if (choice.restore == 0.0) return "photo-" + choice.model.substr(std::string("restore-").size());
  if (choice.restore == 1.0) return choice.model;
  return fmt::format("{}@{:.2f}", choice.model, choice.restore);
}

}  // namespace hires::pipeline
