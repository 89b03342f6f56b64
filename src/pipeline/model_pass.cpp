// A model pass as a lazy libvips image (io/lazy_image.cpp): output rows are computed a band of
// tiles at a time and kept in a small cache, so the encoder downstream streams and memory follows
// the band, not the image.
#include <fmt/format.h>
#include <algorithm>
#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <vips/vips8>

#include "pipeline/model_pass.hpp"

#include "hires/error.hpp"
#include "io/io.hpp"
#include "models/model.hpp"

namespace hires::pipeline {
namespace {

// Runs the model's backend under the model's lock (backends are single-run).
class LockedBackend final : public engine::Backend {
 public:
  LockedBackend(Model& m, BackendKind kind, int threads, int gpu)
      : m_(m), kind_(kind), threads_(threads), gpu_(gpu) {}
  std::string_view name() const override { return "locked"; }
  engine::Tensor run(const engine::Tensor& x) override {
    return m_.with_backend(kind_, threads_, gpu_, [&](engine::Backend& b) {
      b.set_global_means(global_means_);
      engine::Tensor y = b.run(x);
      last_means_ = b.last_global_means();
      b.set_global_means({});
      return y;
    });
  }

 private:
  Model& m_;
  BackendKind kind_;
  int threads_;
  int gpu_;
};

struct Band {
  int index = -1;
  int width = 0;                      // output pixels
  std::vector<std::uint16_t> pixels;  // interleaved RGB, rows * width * 3
};

struct PassState {
  std::shared_ptr<Model> model;
  std::shared_ptr<TileProgress> progress;
  engine::TilePlan plan;
  std::unique_ptr<LockedBackend> backend;
  int in_w = 0, in_h = 0;
  bool in_u16 = false;
  std::shared_ptr<const std::atomic<bool>> cancel;
  std::mutex cache_mutex;
  std::list<std::shared_ptr<const Band>> cache;  // most recent first, at most 2
};

// 8- or 16-bit interleaved RGB as planar float 0..1.
engine::Tensor to_tensor(const io::InputRegion& r, bool u16) {
  engine::Tensor t(3, r.rect.height, r.rect.width);
  const float unit = u16 ? 1.0F / 65535.0F : 1.0F / 255.0F;
  for (int y = 0; y < r.rect.height; ++y) {
    const std::uint8_t* row = r.data + y * r.stride;
    for (int x = 0; x < r.rect.width; ++x) {
      for (int c = 0; c < 3; ++c) {
        const float v =
            u16 ? static_cast<float>(reinterpret_cast<const std::uint16_t*>(row)[x * 3 + c])
                : static_cast<float>(row[x * 3 + c]);
        t.at(c, y, x) = v * unit;
      }
    }
  }
  return t;
}

std::shared_ptr<const Band> compute_band(PassState& st, const io::LazyInput& input, int index) {
  const auto& g = st.model->graph();
  const int s = g.scale;
  const int y0 = index * st.plan.band;
  const int y1 = std::min(st.in_h, y0 + st.plan.band);
  auto band = std::make_shared<Band>();
  band->index = index;
  band->width = st.in_w * s;
  band->pixels.resize(static_cast<std::size_t>(y1 - y0) * s * band->width * 3);
  engine::run_band(
      g, *st.backend, st.plan, st.in_w, st.in_h, y0, y1,
      [&](const core::Rect& r) {
        if (st.cancel && st.cancel->load()) {
          throw Error(ErrorKind::cancelled, "model pass", "stopped");
        }
        return to_tensor(input.read(r), st.in_u16);
      },
      [&](const engine::Tensor& out, int src_y, int src_x, int rows, int cols, int dst_x) {
        for (int y = 0; y < rows; ++y) {
          std::uint16_t* dst =
              band->pixels.data() + (static_cast<std::size_t>(y) * band->width + dst_x) * 3;
          for (int c = 0; c < 3; ++c) {
            const float* src = out.channel(c) + static_cast<std::size_t>(src_y + y) * out.w + src_x;
            for (int x = 0; x < cols; ++x) {
              float v = src[x];
              v = v < 0.0F ? 0.0F : (v > 1.0F ? 1.0F : v);
              dst[x * 3 + c] = static_cast<std::uint16_t>(
                  v * 65535.0F + 0.5F);  // NOLINT(bugprone-incorrect-roundings)
            }
          }
        }
        if (st.progress) st.progress->add_done(static_cast<double>(rows) * cols / (s * s));
      });
  return band;
}

std::shared_ptr<const Band> get_band(PassState& st, const io::LazyInput& input, int index) {
  std::lock_guard<std::mutex> lock(st.cache_mutex);
  for (auto it = st.cache.begin(); it != st.cache.end(); ++it) {
    if ((*it)->index == index) {
      auto band = *it;
      st.cache.erase(it);
      st.cache.push_front(band);
      return band;
    }
  }
  auto band = compute_band(st, input, index);
  st.cache.push_front(band);
  while (st.cache.size() > 2) st.cache.pop_back();
  return band;
}

void fill(PassState& st, const io::LazyInput& input, const core::Rect& r, std::uint8_t* dst,
          std::ptrdiff_t stride) {
  const int band_rows = st.plan.band * st.model->graph().scale;
  for (int y = r.top; y < r.top + r.height;) {
    const int index = y / band_rows;
    const auto band = get_band(st, input, index);
    const int band_end = std::min((index + 1) * band_rows, r.top + r.height);
    for (; y < band_end; ++y) {
      const std::uint16_t* src =
          band->pixels.data() +
          (static_cast<std::size_t>(y - index * band_rows) * band->width + r.left) * 3;
      std::copy(src, src + static_cast<std::size_t>(r.width) * 3,
                reinterpret_cast<std::uint16_t*>(dst + (y - r.top) * stride));
    }
  }
}

}  // namespace

void TileProgress::add_total(double pixels) {
  const std::lock_guard<std::mutex> lock(mutex_);
  total_ += pixels;
}

void TileProgress::add_done(double pixels) {
  const std::lock_guard<std::mutex> lock(mutex_);
  done_ += pixels;
  if (report_ && total_ > 0) report_(std::min(1.0, done_ / total_));
}

void TileProgress::stop() {
  const std::lock_guard<std::mutex> lock(mutex_);
  report_ = nullptr;
}

vips::VImage model_pass(const vips::VImage& in, const ModelPass& pass) {
  const auto& g = pass.model->graph();
  if (in.bands() != 3 || (in.format() != VIPS_FORMAT_UCHAR && in.format() != VIPS_FORMAT_USHORT)) {
    throw Error(ErrorKind::internal, "model pass", "expects 8- or 16-bit RGB");
  }
  if (g.in_channels != 3 || g.out_channels != 3) {
    throw Error(
        ErrorKind::input, pass.model->info().source.string(),
        fmt::format("the model takes {} and gives {} channels", g.in_channels, g.out_channels),
        "hires runs RGB models");
  }
  auto st = std::make_shared<PassState>();
  st->model = pass.model;
  st->progress = pass.progress;
  if (st->progress) st->progress->add_total(static_cast<double>(in.width()) * in.height());
  st->plan = pass.plan;
  st->backend = std::make_unique<LockedBackend>(*pass.model, pass.backend, pass.threads, pass.gpu);
  // Made now, not at the first tile inside libvips, so that a backend that cannot start (no
  // such `gpu`, a model op the backend lacks) fails with its own error.
  pass.model->with_backend(pass.backend, pass.threads, pass.gpu, [](engine::Backend&) {});
  st->in_w = in.width();
  st->in_h = in.height();
  st->in_u16 = in.format() == VIPS_FORMAT_USHORT;
  st->cancel = pass.cancel;
  vips::VImage src = in;
  if (engine::needs_global_means(g, st->plan, in.width(), in.height())) {
    // SE nets on several tiles: a first pass over the tiles gives the global means every tile
    // then uses. The input is held in memory so that it is read once for both passes.
    try {
      src = in.copy_memory();
    } catch (const vips::VError& e) {
      throw Error(ErrorKind::input, "model pass", io::take_vips_error(e.what()));
    }
    const std::ptrdiff_t stride = VIPS_IMAGE_SIZEOF_LINE(src.get_image());
    engine::prepare_plan(
        g, *st->backend, st->plan, in.width(), in.height(), [&](const core::Rect& r) {
          const io::InputRegion region{VIPS_IMAGE_ADDR(src.get_image(), r.left, r.top), stride, r};
          return to_tensor(region, st->in_u16);
        });
  }
  io::LazyLayout layout;
  layout.width = in.width() * g.scale;
  layout.height = in.height() * g.scale;
  layout.bands = 3;
  layout.u16 = true;
  return io::lazy_image(
      src, layout,
      [st](const io::LazyInput& input, const core::Rect& r, std::uint8_t* dst,
           std::ptrdiff_t stride) { fill(*st, input, r, dst, stride); },
      "model");
}

ModelUpscale upscale_with_model(const vips::VImage& in, const ModelPass& pass, int passes) {
  const int bands = in.bands();
  const bool alpha = bands == 2 || bands == 4;
  const bool grey = bands <= 2;
  const bool deep = in.format() == VIPS_FORMAT_USHORT;
  vips::VImage colour =
      alpha ? in.extract_band(0, vips::VImage::option()->set("n", bands - 1)) : in;
  if (grey) colour = vips::VImage::bandjoin({colour, colour, colour});
  colour = colour.copy(vips::VImage::option()->set(
      "interpretation", deep ? VIPS_INTERPRETATION_RGB16 : VIPS_INTERPRETATION_sRGB));
  ModelUpscale result;
  vips::VImage x = colour;
  for (int i = 0; i < passes; ++i) {
    x = model_pass(x, pass);
    if (i == 0) result.first_pass = x;
  }
  if (grey) {
    x = x.bandmean().cast(VIPS_FORMAT_USHORT);
  }
  if (alpha) {
    io::ResampleRequest r;
    r.out = {x.width(), x.height()};
    r.filter = core::Filter::lanczos3;
    r.out_type = core::SampleType::u16;
    r.linear_data = true;
    x = x.bandjoin(io::resample(in.extract_band(bands - 1), r));
  }
  result.image = x.copy(vips::VImage::option()->set(
      "interpretation", grey ? VIPS_INTERPRETATION_GREY16 : VIPS_INTERPRETATION_RGB16));
  return result;
}

}  // namespace hires::pipeline
