// The evaluation loop: HR -> LR (protocol bicubic) -> method -> PSNR/SSIM on Y.
#include <fmt/format.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include "core/methods.hpp"
#include "core/resample.hpp"
#include "engine/tiler.hpp"
#include "hires/batch.hpp"
#include "hires/degrade.hpp"
#include "hires/error.hpp"
#include "hires/eval.hpp"
#include "hires/guide.hpp"
#include "hires/hires.hpp"
#include "hires/pipeline.hpp"
#include "models/model.hpp"

namespace hires {
namespace fs = std::filesystem;
namespace {

// 8- or 16-bit interleaved RGB resized to w x h.
std::vector<std::uint8_t> resize(const std::uint8_t* in, core::SampleType in_type, int in_w,
                                 int in_h, int w, int h, core::Filter f, bool linear,
                                 core::SampleType out_type) {
  const core::AxisWeights wx = core::make_axis_weights(in_w, w, f);
  const core::AxisWeights wy = core::make_axis_weights(in_h, h, f);
  core::ResampleSpec spec;
  spec.x = &wx;
  spec.y = &wy;
  spec.bands = 3;
  spec.linear_light = linear;
  spec.in_type = in_type;
  spec.out_type = out_type;
  const std::size_t in_bpp = in_type == core::SampleType::u8 ? 3 : 6;
  const std::size_t out_bpp = out_type == core::SampleType::u8 ? 3 : 6;
  std::vector<std::uint8_t> out(static_cast<std::size_t>(w) * h * out_bpp);
  core::resample_rect(spec, in, static_cast<std::ptrdiff_t>(in_w * in_bpp), {0, 0, in_w, in_h},
                      out.data(), static_cast<std::ptrdiff_t>(w * out_bpp), {0, 0, w, h});
  return out;
}

// One model pass over a float RGB image (planar, 0..1), whole image in tiles.
engine::Tensor model_pass(Model& model, const engine::Tensor& in, const EvalOptions& o) {
  const engine::Graph& g = model.graph();
  const int s = g.scale;
  return model.with_backend(o.backend, o.threads, o.gpu, [&](engine::Backend& backend) {
    const engine::TilePlan plan = engine::plan_tiles(g, 0, o.memory_budget, in.w, in.h);
    engine::Tensor out(3, in.h * s, in.w * s);
    engine::run_image(
        g, backend, plan, in.w, in.h,
        [&](const core::Rect& r) {
          engine::Tensor t(3, r.height, r.width);
          for (int c = 0; c < 3; ++c) {
            for (int y = 0; y < r.height; ++y) {
              for (int x = 0; x < r.width; ++x) t.at(c, y, x) = in.at(c, r.top + y, r.left + x);
            }
          }
          return t;
        },
        [&](int y0, const engine::Tensor& t, int src_y, int src_x, int rows, int cols, int dst_x) {
          for (int c = 0; c < 3; ++c) {
            for (int y = 0; y < rows; ++y) {
              for (int x = 0; x < cols; ++x) {
                out.at(c, y0 * s + y, dst_x + x) =
                    std::clamp(t.at(c, src_y + y, src_x + x), 0.0F, 1.0F);
              }
            }
          }
        });
    return out;
  });
}

Pixels as_pixels(const RgbImage& im) {
  Pixels p(im.width, im.height, 3);
  for (std::size_t i = 0; i < im.pixels.size(); ++i) p.data[i] = im.pixels[i] / 255.0F;
  return p;
}

class Upscaler {
 public:
  Upscaler(const EvalOptions& o) : o_(o) {
    if (o.scale < 1 || o.scale > 16) {
      throw Error(ErrorKind::usage, "scale",
                  fmt::format("{} is not a whole scale from 1 to 16", o.scale));
    }
    set_method(request_, o.method, o.model_dirs, o.restore);
    request_.size = SizeRequest::by_scale(o.scale);
    request_.limits.max_output_pixels = UINT64_MAX;
    name_ = request_.auto_model ? "auto"
            : request_.model    ? model_info(*request_.model).name
                                : std::string(method_name(request_.method));
  }
  // The upscaled image and the name of what ran: the plan `hires IMAGE` would make for it.
  std::pair<RgbImage, std::string> run_named(const RgbImage& lr) const {
    ImageFacts facts;
    facts.size = {lr.width, lr.height};
    if (request_.auto_model) facts.measures = measure(as_pixels(lr));
    const UpscalePlan plan = plan_upscale(facts, request_);
    std::shared_ptr<Model> m = plan.given;
    if (!m && plan.model_scale > 0) {
      auto it = cache_.find(plan.model);
      if (it == cache_.end()) it = cache_.emplace(plan.model, load_choice(plan.choice)).first;
      m = it->second;
    }
    return {run(lr, m, plan.resize), plan.model};
  }
  const std::string& name() const { return name_; }

  RgbImage run(const RgbImage& lr, const std::shared_ptr<Model>& model, Method method) const {
    RgbImage out;
    out.width = lr.width * o_.scale;
    out.height = lr.height * o_.scale;
    if (!model) {
      out.pixels =
          resize(lr.pixels.data(), core::SampleType::u8, lr.width, lr.height, out.width, out.height,
                 core::filter_for(method), o_.linear_light, core::SampleType::u8);
      return out;
    }
    engine::Tensor x(3, lr.height, lr.width);
    for (int y = 0; y < lr.height; ++y) {
      for (int xx = 0; xx < lr.width; ++xx) {
        for (int c = 0; c < 3; ++c) {
          x.at(c, y, xx) =
              lr.pixels[(static_cast<std::size_t>(y) * lr.width + xx) * 3 + c] / 255.0F;
        }
      }
    }
    const int passes = std::max(1, model_passes(o_.scale, model->graph().scale));
    for (int p = 0; p < passes; ++p) x = model_pass(*model, x, o_);
    if (x.w == out.width && x.h == out.height) {
      out.pixels.resize(static_cast<std::size_t>(out.width) * out.height * 3);
      for (int y = 0; y < out.height; ++y) {
        for (int xx = 0; xx < out.width; ++xx) {
          for (int c = 0; c < 3; ++c) {
            out.pixels[(static_cast<std::size_t>(y) * out.width + xx) * 3 + c] =
                static_cast<std::uint8_t>(std::lround(x.at(c, y, xx) * 255.0F));
          }
        }
      }
      return out;
    }
    // Another scale than the model's: the exact resize hires does (Lanczos-3, linear light).
    std::vector<std::uint16_t> deep(static_cast<std::size_t>(x.w) * x.h * 3);
    for (int y = 0; y < x.h; ++y) {
      for (int xx = 0; xx < x.w; ++xx) {
        for (int c = 0; c < 3; ++c) {
          deep[(static_cast<std::size_t>(y) * x.w + xx) * 3 + c] =
              static_cast<std::uint16_t>(std::lround(x.at(c, y, xx) * 65535.0F));
        }
      }
    }
    out.pixels =
        resize(reinterpret_cast<const std::uint8_t*>(deep.data()), core::SampleType::u16, x.w, x.h,
               out.width, out.height, core::Filter::lanczos3, true, core::SampleType::u8);
    return out;
  }

 private:
  EvalOptions o_;
  UpscaleOptions request_;  // the method or model, as `hires IMAGE -m ...` takes it
  std::string name_;
  mutable std::map<std::string, std::shared_ptr<Model>> cache_;  // auto: models by choice
};

}  // namespace

RgbImage upscale_for_eval(const RgbImage& lr, int scale, const EvalOptions& options) {
  EvalOptions o = options;
  o.scale = scale;
  return Upscaler(o).run_named(lr).first;
}

EvalReport evaluate(const fs::path& dir, const EvalOptions& options,
                    const EvalProgressFn& progress) {
  (void)degrade_recipe(options.degrade);  // an unknown recipe fails before any work
  const Upscaler up(options);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw Error(ErrorKind::usage, dir.string(), "not a folder", "eval reads a folder of HR images");
  }
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && is_image_path(it->path())) files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  if (options.limit > 0 && files.size() > static_cast<std::size_t>(options.limit)) {
    files.resize(static_cast<std::size_t>(options.limit));
  }
  if (files.empty()) {
    throw Error(ErrorKind::usage, dir.string(), "holds no image files");
  }
  EvalReport report;
  report.method = up.name();
  report.scale = options.scale;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const RgbImage hr = crop_to_multiple(read_rgb(files[i]), options.scale);
    const RgbImage lr =
        options.degrade == "bicubic"
            ? degrade_bicubic(hr, options.scale)
            : degrade_named(hr, options.scale, options.degrade,
                            degrade_seed(options.seed, files[i].filename().string()));
    const auto t0 = std::chrono::steady_clock::now();
    const auto [sr, ran] = up.run_named(lr);
    const auto t1 = std::chrono::steady_clock::now();
    EvalImage r;
    r.file = files[i];
    r.size = {hr.width, hr.height};
    r.psnr = psnr_y(hr, sr, options.scale);
    r.ssim = ssim_y(hr, sr, options.scale);
    r.seconds = std::chrono::duration<double>(t1 - t0).count();
    r.method = ran;
    if (!options.save_dir.empty()) {
      std::error_code dir_ec;
      fs::create_directories(options.save_dir, dir_ec);
      write_rgb(options.save_dir / (files[i].stem().string() + "-" + up.name() + ".png"), sr);
      if (options.save_lr) write_rgb(options.save_dir / (files[i].stem().string() + "-lr.png"), lr);
    }
    report.images.push_back(r);
    if (progress) progress(r, i, files.size());
  }
  for (const auto& r : report.images) {
    report.mean_psnr += r.psnr;
    report.mean_ssim += r.ssim;
    report.mean_seconds += r.seconds;
  }
  const auto n = static_cast<double>(report.images.size());
  report.mean_psnr /= n;
  report.mean_ssim /= n;
  report.mean_seconds /= n;
  return report;
}

}  // namespace hires
