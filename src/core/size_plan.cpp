// Output size from a sizing request. Rounding is to the nearest pixel; box-limited requests
// never exceed their box.
#include <fmt/format.h>
#include <algorithm>
#include <cmath>

#include "hires/error.hpp"
#include "hires/plan.hpp"

namespace hires {

SizeRequest SizeRequest::by_scale(double s) {
  SizeRequest r;
  r.mode = SizeMode::scale;
  r.scale = s;
  return r;
}
SizeRequest SizeRequest::by_width(int w) {
  SizeRequest r;
  r.mode = SizeMode::width;
  r.width = w;
  return r;
}
SizeRequest SizeRequest::by_height(int h) {
  SizeRequest r;
  r.mode = SizeMode::height;
  r.height = h;
  return r;
}
SizeRequest SizeRequest::fit_box(int w, int h) {
  SizeRequest r;
  r.mode = SizeMode::fit;
  r.width = w;
  r.height = h;
  return r;
}
SizeRequest SizeRequest::by_long_edge(int n) {
  SizeRequest r;
  r.mode = SizeMode::long_edge;
  r.long_edge = n;
  return r;
}
SizeRequest SizeRequest::for_print(PrintSpec p) {
  SizeRequest r;
  r.mode = SizeMode::print;
  r.print = p;
  return r;
}

namespace {

constexpr double kMaxSide = 1 << 20;

int scaled(int v, double s) {
  return std::max(1, static_cast<int>(std::lround(static_cast<double>(v) * s)));
}

void require_positive(const char* option, double v) {
  if (!(v > 0) || !std::isfinite(v)) {
    throw Error(ErrorKind::usage, option, fmt::format("{} is not a valid value", v),
                "expected a number greater than 0");
  }
}

void require_side(const char* option, int v) {
  if (v <= 0 || v > kMaxSide) {
    throw Error(ErrorKind::usage, option, fmt::format("{} is not a valid size", v),
                fmt::format("expected 1 to {} pixels", static_cast<int>(kMaxSide)));
  }
}

// Largest size with the input's aspect ratio inside bw x bh.
Size fit_inside(Size in, double bw, double bh) {
  const double s = std::min(bw / in.width, bh / in.height);
  Size out{scaled(in.width, s), scaled(in.height, s)};
  out.width = std::min(out.width, std::max(1, static_cast<int>(std::floor(bw + 1e-9))));
  out.height = std::min(out.height, std::max(1, static_cast<int>(std::floor(bh + 1e-9))));
  return out;
}

}  // namespace

SizePlan plan_size(Size in, const SizeRequest& r) {
  if (in.width <= 0 || in.height <= 0) {
    throw Error(ErrorKind::input, "image",
                fmt::format("has no pixels ({}x{})", in.width, in.height));
  }
  SizePlan plan;
  switch (r.mode) {
    case SizeMode::scale:
      require_positive("scale", r.scale);
      if (r.scale > 64) {
        throw Error(ErrorKind::usage, "scale", fmt::format("{} is too large", r.scale),
                    "expected at most 64");
      }
      plan.out = {scaled(in.width, r.scale), scaled(in.height, r.scale)};
      break;
    case SizeMode::width:
      require_side("width", r.width);
      plan.out = {r.width, scaled(in.height, static_cast<double>(r.width) / in.width)};
      break;
    case SizeMode::height:
      require_side("height", r.height);
      plan.out = {scaled(in.width, static_cast<double>(r.height) / in.height), r.height};
      break;
    case SizeMode::fit:
      require_side("fit", r.width);
      require_side("fit", r.height);
      plan.out = fit_inside(in, r.width, r.height);
      break;
    case SizeMode::long_edge: {
      require_side("long_edge", r.long_edge);
      const double s = static_cast<double>(r.long_edge) / std::max(in.width, in.height);
      plan.out = in.width >= in.height ? Size{r.long_edge, scaled(in.height, s)}
                                       : Size{scaled(in.width, s), r.long_edge};
      break;
    }
    case SizeMode::print: {
      const PrintSpec& p = r.print;
      require_positive("print", p.width);
      require_positive("print", p.height);
      require_positive("print", p.dpi);
      const double per_unit = p.unit == LengthUnit::inch ? p.dpi : p.dpi / 2.54;
      double bw = p.width * per_unit;
      double bh = p.height * per_unit;
      // Orientation-aware: a portrait photo goes on the paper in portrait.
      if ((in.width > in.height) != (bw > bh) && in.width != in.height && bw != bh) {
        std::swap(bw, bh);
      }
      if (bw > kMaxSide || bh > kMaxSide) {
        throw Error(ErrorKind::usage, "print", fmt::format("needs {:.0f}x{:.0f} pixels", bw, bh),
                    "too large; lower the DPI or the print size");
      }
      plan.out = fit_inside(in, bw, bh);
      plan.dpi = p.dpi;
      break;
    }
  }
  return plan;
}

int model_passes(double scale, int model_scale) {
  if (scale <= 1.0 + 1e-9 || model_scale < 2) return scale > 1.0 + 1e-9 && model_scale == 1 ? 1 : 0;
  const double n = std::log(scale) / std::log(static_cast<double>(model_scale));
  return std::clamp(static_cast<int>(std::lround(n)), 1, 3);
}

}  // namespace hires
