// `hires check`: findings with their measured values and a verdict (the recommendation is the
// pipeline's plan: pipeline/check.cpp).
// Thresholds are calibrated in docs/QUALITY.md.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include "guide/check.hpp"

#include "hires/guide.hpp"

namespace hires {

std::string_view finding_kind_name(FindingKind k) {
  switch (k) {
    case FindingKind::small:
      return "small";
    case FindingKind::blur:
      return "blur";
    case FindingKind::blocky:
      return "blocky";
    case FindingKind::banding:
      return "banding";
    case FindingKind::noise:
      return "noise";
    case FindingKind::dark:
      return "dark";
    case FindingKind::bright:
      return "bright";
    case FindingKind::halftone:
      return "halftone";
  }
  return "?";
}

std::string_view severity_name(Severity s) {
  switch (s) {
    case Severity::info:
      return "info";
    case Severity::warn:
      return "warn";
    case Severity::bad:
      return "bad";
  }
  return "?";
}

std::string_view content_name(Content c) {
  switch (c) {
    case Content::photo:
      return "photo";
    case Content::art:
      return "art";
    case Content::text:
      return "text";
    case Content::pixel_art:
      return "pixel art";
  }
  return "?";
}

std::string_view verdict_name(CheckVerdict v) {
  switch (v) {
    case CheckVerdict::good:
      return "good";
    case CheckVerdict::care:
      return "care";
    case CheckVerdict::poor:
      return "poor";
    case CheckVerdict::not_needed:
      return "not_needed";
  }
  return "?";
}

std::string_view verdict_label(CheckVerdict v) {
  switch (v) {
    case CheckVerdict::good:
      return "good candidate";
    case CheckVerdict::care:
      return "usable with care";
    case CheckVerdict::poor:
      return "poor candidate";
    case CheckVerdict::not_needed:
      return "not needed";
  }
  return "?";
}

namespace {

// Thresholds (see docs/QUALITY.md for how they were chosen).
constexpr int kSmallBad = 200;  // pixels, shorter side (the seeds' 200 x 200)
constexpr int kSmallWarn = 256;
constexpr double kBlurWarn = 0.44;  // blur effect
constexpr double kBlurBad = 0.58;
constexpr double kGridWarn = 3.0;  // JPEG grid ratio
constexpr double kGridBad = 6.0;
constexpr double kStairWarn = 0.30;  // staircase score
constexpr double kStairBad = 0.60;
constexpr double kBandWarn = 1.2;  // steps per 1000 pixels
constexpr double kBandBad = 5.0;
constexpr double kNoiseWarn = 6.0;  // luma levels
constexpr double kNoiseBad = 10.0;
constexpr double kDarkWarn = 60.0;  // mean luma
constexpr double kDarkBad = 40.0;
constexpr double kBrightWarn = 15.0;  // % clipped highlights
constexpr double kBrightBad = 35.0;
constexpr double kHalftoneWarn = 0.25;  // autocorrelation peak of a printing screen
constexpr double kLargeScale = 8.0;     // enlargements above this: care, and why
constexpr double kTexturedMin = 0.3;    // below this, too little detail to judge blur

Severity grade(double v, double warn, double bad, bool higher_is_worse = true) {
  if (higher_is_worse)
    return v >= bad ? Severity::bad : v >= warn ? Severity::warn : Severity::info;
  return v <= bad ? Severity::bad : v <= warn ? Severity::warn : Severity::info;
}

// Pixel art is small, hard-edged and blocky by design: those are its nature, not defects, and
// nearest neighbour by whole numbers enlarges it without loss.
void soften_for_pixel_art(std::vector<Finding>& findings, const Measures& m, Size size) {
  for (Finding& f : findings) {
    switch (f.kind) {
      case FindingKind::small:
        f.severity = Severity::info;
        f.message = fmt::format(
            "{}x{} pixel art: nearest neighbour by a whole number (-m nearest -s 4) keeps every "
            "pixel crisp",
            size.width, size.height);
        break;
      case FindingKind::noise:
        f.severity = Severity::info;
        f.message = "hard colour edges of pixel art, not noise";
        break;
      case FindingKind::blocky:
        f.severity = Severity::info;
        f.message = m.staircase_block > 1
                        ? fmt::format(
                              "pixel art already enlarged in {}x{} blocks: scale by whole numbers "
                              "with -m nearest",
                              m.staircase_block, m.staircase_block)
                        : "pixel art: scale by whole numbers with -m nearest";
        break;
      case FindingKind::blur:
        f.severity = Severity::info;
        break;
      default:
        break;
    }
  }
}

std::vector<Finding> findings_for(const Measures& m, Content content, Size size) {
  std::vector<Finding> out;
  {
    Finding f{FindingKind::small, m.min_side, grade(m.min_side, kSmallWarn, kSmallBad, false), {}};
    f.message = f.severity == Severity::bad
                    ? fmt::format("{}x{}: under {} px a side is too small to upscale reliably",
                                  size.width, size.height, kSmallBad)
                : f.severity == Severity::warn
                    ? fmt::format("{}x{}: small; expect invented detail at large scales",
                                  size.width, size.height)
                    : fmt::format("{}x{}: enough pixels to work from", size.width, size.height);
    out.push_back(f);
  }
  {
    Finding f{FindingKind::blur, m.blur, grade(m.blur, kBlurWarn, kBlurBad), {}};
    if (m.flat_fraction > 1.0 - kTexturedMin && f.severity != Severity::info) {
      f.severity = Severity::info;
      f.message = "mostly flat areas: too little detail to judge focus";
    } else {
      f.message = f.severity == Severity::bad    ? "out of focus or motion-blurred: upscaling "
                                                   "enlarges the blur, it cannot undo it"
                  : f.severity == Severity::warn ? "soft: upscaling will help a little"
                                                 : "in focus";
    }
    out.push_back(f);
  }
  {
    Finding f;
    f.kind = FindingKind::blocky;
    const Severity stair = grade(m.staircase, kStairWarn, kStairBad);
    const Severity grid = grade(m.jpeg_grid, kGridWarn, kGridBad);
    if (stair > grid) {
      f.value = m.staircase;
      f.severity = stair;
      f.message = fmt::format("pixelated: nearest-neighbour staircases in {}x{} blocks",
                              m.staircase_block, m.staircase_block);
    } else {
      f.value = m.jpeg_grid;
      f.severity = grid;
      f.message = grid == Severity::info ? "no JPEG block grid"
                                         : "JPEG 8x8 blocks visible: use --denoise, or a model "
                                           "trained on compressed images";
    }
    out.push_back(f);
  }
  {
    Finding f{FindingKind::banding, m.banding, grade(m.banding, kBandWarn, kBandBad), {}};
    f.message = f.severity == Severity::info
                    ? "smooth gradients"
                    : "colour banding: smooth gradients in visible steps (upscaling enlarges them)";
    out.push_back(f);
  }
  {
    Finding f{FindingKind::noise, m.noise, grade(m.noise, kNoiseWarn, kNoiseBad), {}};
    f.message = f.severity == Severity::info
                    ? "clean"
                    : fmt::format("noise of about {:.0f} levels: denoise first", m.noise);
    out.push_back(f);
  }
  {
    Finding f{FindingKind::dark, m.mean_luma, grade(m.mean_luma, kDarkWarn, kDarkBad, false), {}};
    f.message = f.severity == Severity::info ? "exposure fine"
                                             : "low light: models do poorly on dark, murky images";
    out.push_back(f);
  }
  {
    Finding f{
        FindingKind::bright, m.clipped_high, grade(m.clipped_high, kBrightWarn, kBrightBad), {}};
    if (content != Content::photo && f.severity != Severity::info) {
      f.severity = Severity::info;
      f.message = "white areas (normal for art and documents)";
    } else {
      f.message = f.severity == Severity::info
                      ? "highlights kept"
                      : fmt::format("{:.0f} % clipped highlights: no detail there to enlarge",
                                    m.clipped_high);
    }
    out.push_back(f);
  }
  {
    // Warn at most: a screen is removable (--denoise), not a reason to give up on the image.
    Finding f{FindingKind::halftone,
              m.halftone,
              m.halftone >= kHalftoneWarn ? Severity::warn : Severity::info,
              {}};
    f.message = f.severity == Severity::info
                    ? "no printing screen"
                    : fmt::format(
                          "halftone screen (dots every {:.1f} px, a scanned print): use "
                          "--denoise 2 or more, or the model enlarges the dots",
                          m.halftone_period);
    out.push_back(f);
  }
  if (content == Content::pixel_art) soften_for_pixel_art(out, m, size);
  return out;
}

}  // namespace

namespace guide {

int denoise_level(const Measures& m) {
  int level = m.noise >= 14 ? 3 : m.noise >= kNoiseBad ? 2 : m.noise >= kNoiseWarn ? 1 : 0;
  if (m.jpeg_grid >= kGridBad)
    level = std::max(level, 2);
  else if (m.jpeg_grid >= kGridWarn)
    level = std::max(level, 1);
  if (m.halftone >= kHalftoneWarn) level = std::max(level, 2);
  return level;
}

bool has_halftone(const Measures& m) {
  return m.halftone >= kHalftoneWarn;
}

bool is_large_scale(double scale) {
  return scale > kLargeScale;
}

CheckResult assess(const Pixels& image, const CheckOptions& options) {
  CheckResult r;
  r.size = options.whole_size.value_or(Size{image.width, image.height});
  if (options.whole_size) r.measured = Size{image.width, image.height};
  r.measures = measure(image);
  r.measures.jpeg_quality = options.jpeg_quality;
  r.content = classify_content(r.measures);
  r.findings = findings_for(r.measures, r.content, r.size);

  if (options.target) {
    const SizePlan plan = plan_size(r.size, *options.target);
    r.target = plan.out;
    r.scale = std::max(static_cast<double>(plan.out.width) / r.size.width,
                       static_cast<double>(plan.out.height) / r.size.height);
  }

  bool bad = false;
  bool warn = false;
  for (const auto& f : r.findings) {
    bad = bad || f.severity == Severity::bad;
    warn = warn || f.severity == Severity::warn;
  }
  // Beyond 8x the picture is mostly invented: usable with care at best.
  const bool huge = is_large_scale(r.scale);
  r.verdict = r.scale <= 1.0 ? CheckVerdict::not_needed
              : bad          ? CheckVerdict::poor
              : warn || huge ? CheckVerdict::care
                             : CheckVerdict::good;

  return r;
}

}  // namespace guide
}  // namespace hires
