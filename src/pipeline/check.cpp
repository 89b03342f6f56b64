// `hires check`'s recommendation: the pipeline's own plan for the image (plan_upscale), so check
// recommends exactly what `hires IMAGE` with the same size would run.
#include <fmt/format.h>
#include <algorithm>
#include <cmath>

#include "guide/check.hpp"
#include "hires/guide.hpp"
#include "hires/pipeline.hpp"
#include "io/guide_io.hpp"
#include "io/io.hpp"

namespace hires {
namespace {

// What `hires IMAGE` measures: the centre, at most kChooseSide square, at full resolution.
Pixels centre(const Pixels& image) {
  const int w = std::min(image.width, kChooseSide);
  const int h = std::min(image.height, kChooseSide);
  const int x0 = (image.width - w) / 2;
  const int y0 = (image.height - h) / 2;
  Pixels c(w, h, image.channels);
  for (int y = 0; y < h; ++y) {
    const float* src =
        &image.data[(static_cast<std::size_t>(y0 + y) * image.width + x0) * image.channels];
    std::copy(src, src + static_cast<std::size_t>(w) * image.channels,
              &c.data[static_cast<std::size_t>(y) * w * image.channels]);
  }
  return c;
}

}  // namespace

CheckResult check_pixels(const Pixels& image, const CheckOptions& options) {
  CheckResult r = guide::assess(image, options);
  ImageFacts facts;
  facts.size = r.size;
  facts.has_alpha = image.channels == 2 || image.channels == 4;
  if (image.width <= kChooseSide && image.height <= kChooseSide) {
    facts.measures = r.measures;
  } else {
    facts.measures = measure(centre(image));
    facts.measures->jpeg_quality = options.jpeg_quality;
  }
  UpscaleOptions request;
  request.auto_model = true;
  request.size = options.target ? *options.target : SizeRequest::by_scale(r.scale);
  request.limits.max_output_pixels = UINT64_MAX;  // check plans; the upscale enforces limits
  const UpscalePlan plan = plan_upscale(facts, request);

  Recommendation& rec = r.recommendation;
  rec.model = plan.choice.model;
  rec.restore = plan.choice.restore;
  rec.reason = plan.choice.reason;
  rec.passes = r.scale <= 1.0 ? 0 : plan.passes;
  rec.denoise = guide::denoise_level(r.measures);
  // The restore model cleans up JPEG blocks and noise itself; a printing screen still wants the
  // filter first.
  if (rec.restore > 0 && !guide::has_halftone(r.measures)) rec.denoise = 0;
  const std::string denoise_text =
      rec.denoise > 0 ? fmt::format("--denoise {}, ", rec.denoise) : "";
  if (r.scale <= 1.0) {
    rec.plan = fmt::format("no upscaling: the image already has the pixels ({}x{} for {}x{})",
                           image.width, image.height, plan.out.width, plan.out.height);
  } else {
    rec.plan = denoise_text + describe_plan(plan);
  }
  if (guide::is_large_scale(r.scale)) {
    rec.plan += fmt::format(
        "; {:.0f}x is a big step: the model runs in passes of at most {}x, and detail past about "
        "8x is invented, so expect a soft, painted look",
        r.scale, plan.model_scale > 0 ? plan.model_scale : 4);
  }
  return r;
}

ImageFacts read_facts(const std::filesystem::path& path, const Limits& limits, bool with_measures) {
  const io::Decoded decoded = io::open_image(path, limits);
  ImageFacts facts;
  facts.name = path.string();
  facts.size = decoded.info.size;
  facts.has_alpha = decoded.info.has_alpha;
  facts.bits = decoded.info.bits;
  if (with_measures) {
    facts.measures = measure(io::measure_pixels(decoded.image, kChooseSide, facts.name));
    facts.measures->jpeg_quality = io::estimate_jpeg_quality(path);
  }
  return facts;
}

CheckResult check_file(const std::filesystem::path& path, const CheckOptions& options,
                       const Limits& limits) {
  CheckOptions o = options;
  o.jpeg_quality = io::estimate_jpeg_quality(path);
  // A huge image is measured on its centre, at full resolution: memory and time stay bounded
  // (a 256 MP image took 3.9 GB and 6.5 minutes measured whole).
  const io::Decoded decoded = io::open_image(path, limits);
  const Size whole = decoded.info.size;
  int side = std::max(whole.width, whole.height);
  if (static_cast<std::int64_t>(whole.width) * whole.height >
      std::int64_t{kCheckSide} * kCheckSide) {
    side = kCheckSide;
    o.whole_size = whole;
  }
  return check_pixels(io::measure_pixels(decoded.image, side, path.string()), o);
}

}  // namespace hires
