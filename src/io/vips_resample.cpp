// Adapts core::resample_rect to a lazy libvips image (io/lazy_image.cpp), so resampling streams
// through the libvips pipeline (threads, regions, sequential reads) strip by strip.
#include <fmt/format.h>
#include <memory>
#include <vips/vips8>

#include "core/resample.hpp"
#include "hires/error.hpp"
#include "io/io.hpp"

namespace hires::io {
namespace {

struct Weights {
  core::AxisWeights x;
  core::AxisWeights y;
};

float to_space(std::uint8_t v, bool linear) {
  const double s = v / 255.0;
  return static_cast<float>(linear ? core::srgb_to_linear(s) : s);
}

}  // namespace

vips::VImage resample(const vips::VImage& in, const ResampleRequest& req) {
  if (in.format() != VIPS_FORMAT_UCHAR && in.format() != VIPS_FORMAT_USHORT) {
    throw Error(ErrorKind::internal, "resample", "expects 8- or 16-bit samples");
  }
  auto w = std::make_shared<Weights>();
  w->x = core::make_axis_weights(in.width(), req.out.width, req.filter);
  w->y = core::make_axis_weights(in.height(), req.out.height, req.filter);
  core::ResampleSpec s;
  s.x = &w->x;
  s.y = &w->y;
  s.bands = in.bands();
  s.has_alpha = in.bands() == 2 || in.bands() == 4;
  s.linear_light = req.filter != core::Filter::nearest && !req.linear_data;
  s.in_type = in.format() == VIPS_FORMAT_UCHAR ? core::SampleType::u8 : core::SampleType::u16;
  s.out_type = req.out_type;
  if (req.flatten && s.has_alpha) {
    const Rgb& c = *req.flatten;
    std::array<float, 3> bg{to_space(c.r, s.linear_light), to_space(c.g, s.linear_light),
                            to_space(c.b, s.linear_light)};
    if (s.bands == 2) {  // grey: the background's luminance
      const float y = 0.2126F * bg[0] + 0.7152F * bg[1] + 0.0722F * bg[2];
      bg = {y, y, y};
    }
    s.flatten = bg;
  }
  LazyLayout layout;
  layout.width = req.out.width;
  layout.height = req.out.height;
  layout.bands = s.out_bands();
  layout.u16 = s.out_type == core::SampleType::u16;
  return lazy_image(
      in, layout,
      [w, s](const LazyInput& input, const core::Rect& out, std::uint8_t* dst,
             std::ptrdiff_t stride) {
        const InputRegion r = input.read(core::input_rect_for(s, out));
        core::resample_rect(s, r.data, r.stride, r.rect, dst, stride, out);
      },
      "resample");
}

}  // namespace hires::io
