// The generic lazy libvips image: hires' own computations (the resampler, a model pass) plug
// into libvips' demand-driven pipeline through one generate function, so outputs stream to the
// encoder strip by strip, with libvips' threads and regions.
#include <atomic>
#include <exception>
#include <memory>
#include <mutex>
#include <vips/vips8>

#include "hires/error.hpp"
#include "io/io.hpp"

namespace hires::io {
namespace {

struct LazyState {
  FillFn fill;
  std::string what;
  VipsImage* input = nullptr;             // a reference held while the output lives
  std::atomic<bool> input_failed{false};  // the decoder upstream reported an error
  std::mutex error_mutex;
  std::exception_ptr fill_error;  // the first error of this image's own computation
};

constexpr const char* kLazyKey = "hires-lazy-image";

void free_state(gpointer data) {
  auto* st = static_cast<LazyState*>(data);
  if (st->input != nullptr) g_object_unref(st->input);
  delete st;  // NOLINT(cppcoreguidelines-owning-memory): owned by the GObject data slot
}

struct ReadFailed {};

int generate(VipsRegion* out, void* seq, void* /*a*/, void* b, gboolean* /*stop*/) {
  auto* ir = static_cast<VipsRegion*>(seq);
  auto* st = static_cast<LazyState*>(b);
  const VipsRect& r = out->valid;
  const LazyInput input([ir, st](const core::Rect& rect) {
    VipsRect vr{rect.left, rect.top, rect.width, rect.height};
    if (vips_region_prepare(ir, &vr) != 0) {
      st->input_failed = true;
      throw ReadFailed{};
    }
    return InputRegion{VIPS_REGION_ADDR(ir, rect.left, rect.top),
                       static_cast<std::ptrdiff_t>(VIPS_REGION_LSKIP(ir)), rect};
  });
  try {
    st->fill(input, {r.left, r.top, r.width, r.height}, VIPS_REGION_ADDR(out, r.left, r.top),
             VIPS_REGION_LSKIP(out));
  } catch (const ReadFailed&) {
    return -1;
  } catch (const std::exception& e) {
    {
      const std::lock_guard<std::mutex> lock(st->error_mutex);
      if (!st->fill_error) st->fill_error = std::current_exception();
    }
    vips_error("hires", "%s: %s", st->what.c_str(), e.what());
    return -1;
  }
  return 0;
}

VipsInterpretation interpretation(const LazyLayout& l) {
  const bool grey = l.bands <= 2;
  if (l.u16) return grey ? VIPS_INTERPRETATION_GREY16 : VIPS_INTERPRETATION_RGB16;
  return grey ? VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB;
}

}  // namespace

vips::VImage lazy_image(const vips::VImage& in, const LazyLayout& layout, FillFn fill,
                        std::string_view what) {
  auto st = std::make_unique<LazyState>();
  st->fill = std::move(fill);
  st->what = std::string(what);
  VipsImage* out = vips_image_new();
  if (vips_image_pipelinev(out, VIPS_DEMAND_STYLE_FATSTRIP, in.get_image(), nullptr) != 0) {
    g_object_unref(out);
    throw Error(ErrorKind::internal, st->what, take_vips_error("pipeline failed"));
  }
  out->Xsize = layout.width;
  out->Ysize = layout.height;
  out->Bands = layout.bands;
  out->BandFmt = layout.u16 ? VIPS_FORMAT_USHORT : VIPS_FORMAT_UCHAR;
  out->Type = interpretation(layout);
  st->input = in.get_image();
  g_object_ref(st->input);
  LazyState* raw = st.release();
  g_object_set_data_full(G_OBJECT(out), kLazyKey, raw, free_state);
  if (vips_image_generate(out, vips_start_one, generate, vips_stop_one, raw->input, raw) != 0) {
    g_object_unref(out);
    throw Error(ErrorKind::internal, raw->what, take_vips_error("generate failed"));
  }
  return vips::VImage(out);
}

bool lazy_input_failed(const vips::VImage& image) {
  const auto* st =
      static_cast<const LazyState*>(g_object_get_data(G_OBJECT(image.get_image()), kLazyKey));
  return st != nullptr && st->input_failed;
}

std::exception_ptr lazy_fill_error(const vips::VImage& image) {
  if (image.get_image() == nullptr) return nullptr;
  auto* st = static_cast<LazyState*>(g_object_get_data(G_OBJECT(image.get_image()), kLazyKey));
  if (st == nullptr) return nullptr;
  const std::lock_guard<std::mutex> lock(st->error_mutex);
  return st->fill_error;
}

}  // namespace hires::io
