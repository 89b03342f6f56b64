// Adapts core::resample_rect to a libvips generate function, so resampling streams through the
// libvips pipeline (threads, regions, sequential reads) strip by strip.
#include <fmt/format.h>
#include <atomic>
#include <memory>
#include <vips/vips8>

#include "core/resample.hpp"
#include "hires/error.hpp"
#include "io/io.hpp"

namespace hires::io {
namespace {

struct State {
  core::AxisWeights x;
  core::AxisWeights y;
  core::ResampleSpec spec;
  VipsImage* input = nullptr;             // a reference we hold while the output lives
  std::atomic<bool> input_failed{false};  // the decoder upstream reported an error
};

constexpr const char* kStateKey = "hires-resample-state";

void free_state(gpointer data) {
  auto* st = static_cast<State*>(data);
  if (st->input != nullptr) g_object_unref(st->input);
  delete st;  // NOLINT(cppcoreguidelines-owning-memory): owned by the GObject data slot
}

int generate(VipsRegion* out, void* seq, void* /*a*/, void* b, gboolean* /*stop*/) {
  auto* ir = static_cast<VipsRegion*>(seq);
  auto* st = static_cast<State*>(b);
  const VipsRect& r = out->valid;
  const core::Rect out_rect{r.left, r.top, r.width, r.height};
  const core::Rect need = core::input_rect_for(st->spec, out_rect);
  VipsRect vneed{need.left, need.top, need.width, need.height};
  if (vips_region_prepare(ir, &vneed) != 0) {
    st->input_failed = true;
    return -1;
  }
  try {
    core::resample_rect(st->spec, VIPS_REGION_ADDR(ir, need.left, need.top), VIPS_REGION_LSKIP(ir),
                        need, VIPS_REGION_ADDR(out, r.left, r.top), VIPS_REGION_LSKIP(out),
                        out_rect);
  } catch (const std::exception& e) {
    vips_error("hires", "resample: %s", e.what());
    return -1;
  }
  return 0;
}

float to_space(std::uint8_t v, bool linear) {
  const double s = v / 255.0;
  return static_cast<float>(linear ? core::srgb_to_linear(s) : s);
}

}  // namespace

vips::VImage resample(const vips::VImage& in, const ResampleRequest& req) {
  if (in.format() != VIPS_FORMAT_UCHAR && in.format() != VIPS_FORMAT_USHORT) {
    throw Error(ErrorKind::internal, "resample", "expects 8- or 16-bit samples");
  }
  auto st = std::make_unique<State>();
  st->x = core::make_axis_weights(in.width(), req.out.width, req.filter);
  st->y = core::make_axis_weights(in.height(), req.out.height, req.filter);
  core::ResampleSpec& s = st->spec;
  s.x = &st->x;
  s.y = &st->y;
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

  VipsImage* out = vips_image_new();
  if (vips_image_pipelinev(out, VIPS_DEMAND_STYLE_FATSTRIP, in.get_image(), nullptr) != 0) {
    g_object_unref(out);
    throw Error(ErrorKind::internal, "resample", take_vips_error("pipeline failed"));
  }
  const bool u16 = s.out_type == core::SampleType::u16;
  out->Xsize = req.out.width;
  out->Ysize = req.out.height;
  out->Bands = s.out_bands();
  out->BandFmt = u16 ? VIPS_FORMAT_USHORT : VIPS_FORMAT_UCHAR;
  const bool grey = s.out_bands() <= 2;
  out->Type = grey ? (u16 ? VIPS_INTERPRETATION_GREY16 : VIPS_INTERPRETATION_B_W)
                   : (u16 ? VIPS_INTERPRETATION_RGB16 : VIPS_INTERPRETATION_sRGB);

  st->input = in.get_image();
  g_object_ref(st->input);
  State* raw = st.release();
  g_object_set_data_full(G_OBJECT(out), kStateKey, raw, free_state);
  if (vips_image_generate(out, vips_start_one, generate, vips_stop_one, raw->input, raw) != 0) {
    g_object_unref(out);
    throw Error(ErrorKind::internal, "resample", take_vips_error("generate failed"));
  }
  return vips::VImage(out);
}

bool resample_input_failed(const vips::VImage& resampled) {
  const auto* st =
      static_cast<const State*>(g_object_get_data(G_OBJECT(resampled.get_image()), kStateKey));
  return st != nullptr && st->input_failed;
}

}  // namespace hires::io
