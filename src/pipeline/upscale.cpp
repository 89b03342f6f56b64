// One file through the whole path: decode -> plan_upscale -> model passes -> resize -> polish ->
// encode.
#include <fmt/format.h>
#include <algorithm>
#include <mutex>

#include "core/methods.hpp"
#include "hires/batch.hpp"
#include "hires/error.hpp"
#include "hires/guide.hpp"
#include "hires/hires.hpp"
#include "hires/pipeline.hpp"
#include "io/guide_io.hpp"
#include "io/io.hpp"
#include "models/model.hpp"
#include "pipeline/model_pass.hpp"

namespace hires {
namespace fs = std::filesystem;

namespace {

bool same_file(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) return fs::equivalent(a, b, ec);
  return fs::weakly_canonical(a, ec) == fs::weakly_canonical(b, ec);
}

}  // namespace

Format output_format(const fs::path& output, Format requested) {
  if (requested != Format::from_extension) return requested;
  if (auto f = format_from_path(output)) return *f;
  throw Error(ErrorKind::usage, output.string(),
              fmt::format("cannot tell the output format from '{}'", output.extension().string()),
              "use an extension .jpg .png .webp .tif .avif or pass -f");
}

namespace {

FileResult upscale_one(const fs::path& input, const fs::path& output, const UpscaleOptions& options,
                       const ProgressFn& progress) {
  if (same_file(input, output)) {
    throw Error(ErrorKind::usage, output.string(), "is the input file; refusing to overwrite it",
                "choose another output path");
  }
  const Format format = output_format(output, options.encode.format);
  if (options.threads > 0) set_threads(options.threads);

  const PolishOptions& polish = options.polish;
  const bool polish_after = polish.color_fix || polish.sharpen > 0;  // reads the input again
  io::Decoded decoded = io::open_image(
      input, options.limits, options.model != nullptr || options.auto_model || polish_after);
  if (polish.denoise > 0) {
    decoded.image = io::denoise_image(decoded.image, polish.denoise, input.string());
  }
  ImageFacts facts;
  facts.name = input.string();
  facts.size = decoded.info.size;
  facts.has_alpha = decoded.info.has_alpha;
  facts.bits = decoded.info.bits;
  if (options.auto_model) {
    facts.measures = measure(io::measure_pixels(decoded.image, kChooseSide, input.string()));
    facts.measures->jpeg_quality = io::estimate_jpeg_quality(input);
  }
  UpscalePlan plan = plan_upscale(facts, options, format);
  if (options.crop) {
    // A preview: the region at the enlargement the whole image gets.
    const Rect r = *options.crop;
    if (r.width <= 0 || r.height <= 0 || r.x < 0 || r.y < 0 ||
        r.x + std::int64_t{r.width} > facts.size.width ||
        r.y + std::int64_t{r.height} > facts.size.height) {
      throw Error(ErrorKind::usage, "crop",
                  fmt::format("{}x{} at {},{} is not inside the {}x{} image", r.width, r.height,
                              r.x, r.y, facts.size.width, facts.size.height));
    }
    decoded.image = decoded.image.extract_area(r.x, r.y, r.width, r.height);
    decoded.info.size = {r.width, r.height};
    facts.size = decoded.info.size;
    UpscaleOptions part = options;
    part.size = SizeRequest::by_scale(plan.scale);
    part.encode.dpi = plan.dpi;
    plan = plan_upscale(facts, part, format);
  }
  if (options.cancel && options.cancel->load()) {
    throw Error(ErrorKind::cancelled, input.string(), "stopped before it started");
  }

  FileResult result;
  result.input = input;
  result.output = output;
  result.in_size = decoded.info.size;
  result.out_size = plan.out;
  result.notices = decoded.notices;
  result.notices.insert(result.notices.end(), plan.notices.begin(), plan.notices.end());
  result.model = plan.model;
  result.reason = plan.choice.reason;
  result.model_passes = plan.passes;

  // Progress from two sources, whichever is further: the model's tiles (from the first one) and
  // the rows the encoder has written. Reported only when it moves on, never backwards.
  std::mutex progress_mutex;
  double shown = -1;
  ProgressFn report;
  if (progress) {
    report = [&](double f) {
      const std::lock_guard<std::mutex> lock(progress_mutex);
      f = std::clamp(f, 0.0, 1.0);
      if (f < shown + 0.001 && !(f >= 1.0 && shown < 1.0)) return;
      shown = f;
      progress(f);
    };
  }
  std::shared_ptr<pipeline::TileProgress> tiles;

  const core::SampleType out_type = decoded.info.bits > 8 && format_has_16bit(format)
                                        ? core::SampleType::u16
                                        : core::SampleType::u8;
  std::optional<Rgb> flatten;
  if (decoded.info.has_alpha && !format_has_alpha(format)) flatten = options.encode.background;
  pipeline::PixelPath path = pipeline::prepare_pixels(plan, options, out_type, flatten);
  if (path.model && report) {
    tiles = std::make_shared<pipeline::TileProgress>(report);
    path.pass.progress = tiles;
  }
  const std::shared_ptr<Model>& model = path.model;
  const pipeline::PixelResult pixels = pipeline::upscale_pixels(decoded.image, path);
  const vips::VImage& out = pixels.image;
  const vips::VImage& first_pass = pixels.first_pass;
  const vips::VImage polished =
      io::polish_output(out, decoded.image, polish, options.encode.background);

  EncodeOptions enc = options.encode;
  enc.dpi = plan.dpi;
  result.dpi = enc.dpi;
  std::error_code ec;
  if (!output.parent_path().empty()) fs::create_directories(output.parent_path(), ec);
  io::Encoded written;
  try {
    written = io::save_image(polished, output, format, enc, report, options.overwrite,
                             options.cancel.get());
    if (tiles) tiles->stop();
  } catch (const Error& e) {
    if (tiles) tiles->stop();
    if (e.kind() == ErrorKind::cancelled) throw;
    // A model pass that failed is the model's error, not a damaged input.
    for (const vips::VImage* im : {&first_pass, &out}) {
      if (const std::exception_ptr fill = io::lazy_fill_error(*im)) std::rethrow_exception(fill);
    }
    const bool decode_failed = io::lazy_input_failed(out) || (first_pass.get_image() != nullptr &&
                                                              io::lazy_input_failed(first_pass));
    if (!decode_failed) throw;
    std::string detail = e.problem();
    if (detail.rfind(io::kCannotWrite, 0) == 0) detail.erase(0, io::kCannotWrite.size());
    throw Error(ErrorKind::input, input.string(),
                "cannot decode image: " + io::strip_error_domain(detail),
                std::string(io::kCorruptHint));
  }
  result.bytes = written.bytes;
  if (written.removed_location) {
    result.notices.push_back("removed where the photo was taken (GPS; XMP/IPTC with a location)");
  }
  if (written.converted_to_srgb) {
    result.notices.push_back("converted colours to sRGB through the embedded colour profile");
  }
  if (written.unreadable_profile) {
    result.notices.push_back(
        "the embedded colour profile cannot be read: colours kept as they are (treated as sRGB) "
        "and the profile left out");
  }
  if (options.encode.max_bytes > 0 && written.quality > 0 && written.quality < kDefaultMinQuality) {
    result.notices.push_back(
        fmt::format("quality {} to fit {}: JPEG blocks may show (allowed by `min_quality`)",
                    written.quality, format_bytes(options.encode.max_bytes)));
  }
  if (model) {
    result.engine = model->with_backend(options.backend, options.threads, options.gpu,
                                        [](engine::Backend& b) { return b.describe(); });
    result.engine_reason =
        engine::choose_backend(options.backend, &model->graph(), options.gpu).reason;
  }
  result.quality = written.quality;
  return result;
}

}  // namespace

FileResult upscale_file(const fs::path& input, const fs::path& output,
                        const UpscaleOptions& options, const ProgressFn& progress) {
  const std::uint64_t warnings_before = io::decoder_warnings();
  FileResult result = upscale_one(input, output, options, progress);
  // Decoders report damage when they are closed, which is when upscale_one's images go.
  if (options.limits.accept_damaged && io::decoder_warnings() != warnings_before) {
    result.notices.push_back("the file has damaged data, decoded anyway: parts may be grey");
  }
  return result;
}

}  // namespace hires
