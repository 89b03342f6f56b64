// One file through the whole path: decode -> plan -> resample -> encode.
#include <fmt/format.h>
#include <mutex>

#include "core/methods.hpp"
#include "hires/batch.hpp"
#include "hires/error.hpp"
#include "hires/guide.hpp"
#include "hires/hires.hpp"
#include "io/guide_io.hpp"
#include "io/io.hpp"
#include "models/model.hpp"

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

FileResult upscale_file(const fs::path& input, const fs::path& output,
                        const UpscaleOptions& options, const ProgressFn& progress) {
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
  const SizePlan plan = plan_size(decoded.info.size, options.size);
  const auto out_pixels = static_cast<std::uint64_t>(plan.out.width) * plan.out.height;
  if (out_pixels > options.limits.max_output_pixels) {
    throw Error(ErrorKind::limit, input.string(),
                fmt::format("the output would be {}x{} ({:.1f} MP), over the output limit of "
                            "{:.1f} MP",
                            plan.out.width, plan.out.height, out_pixels / 1e6,
                            options.limits.max_output_pixels / 1e6),
                "raise --max-output-pixels or ask for a smaller size");
  }

  FileResult result;
  result.input = input;
  result.output = output;
  result.in_size = decoded.info.size;
  result.out_size = plan.out;
  result.notices = decoded.notices;

  const double scale = std::max(static_cast<double>(plan.out.width) / decoded.info.size.width,
                                static_cast<double>(plan.out.height) / decoded.info.size.height);
  std::shared_ptr<Model> model = options.model;
  Method method = options.method;
  if (options.auto_model) {
    Measures m = measure(io::measure_pixels(decoded.image, kChooseSide, input.string()));
    m.jpeg_quality = io::estimate_jpeg_quality(input);
    const ModelChoice choice = choose_model(m, scale, options.restore);
    model = load_choice(choice);
    if (!model) method = parse_method(choice.model);
    result.reason = choice.reason;
  }
  result.model = model ? model->info().name : std::string(method_name(method));

  vips::VImage source = decoded.image;
  vips::VImage first_pass;             // set when a model runs
  const int bits = decoded.info.bits;  // output depth follows the input, model or not
  if (model) {
    result.model_passes = model_passes(scale, model->info().scale);
    if (result.model_passes == 0) {
      result.notices.push_back(
          fmt::format("{:.2f}x needs no AI pass: resized with {}", scale, method_name(method)));
    } else {
      io::ModelPass pass;
      pass.model = model;
      int widest = decoded.info.size.width;  // the last pass reads the largest input
      int tallest = decoded.info.size.height;
      for (int i = 1; i < result.model_passes; ++i) {
        widest *= model->info().scale;
        tallest *= model->info().scale;
      }
      pass.plan =
          core::plan_tiles(model->graph(), options.tile, options.memory_budget, widest, tallest);
      pass.backend = options.backend;
      pass.threads = options.threads;
      io::ModelUpscale up = io::upscale_with_model(decoded.image, pass, result.model_passes);
      source = up.image;
      first_pass = up.first_pass;
    }
  }

  io::ResampleRequest req;
  req.out = plan.out;
  req.filter = core::filter_for(method);
  req.out_type =
      bits > 8 && io::format_has_16bit(format) ? core::SampleType::u16 : core::SampleType::u8;
  if (decoded.info.has_alpha && !io::format_has_alpha(format)) {
    req.flatten = options.encode.background;
    const Rgb& c = options.encode.background;
    result.notices.push_back(
        fmt::format("{} has no transparency: alpha flattened onto #{:02x}{:02x}{:02x}",
                    format_name(format), c.r, c.g, c.b));
  }
  if (decoded.info.bits > 8 && !io::format_has_16bit(format)) {
    result.notices.push_back(fmt::format(
        "{} holds 8 bits per sample: 16-bit input written as 8-bit", format_name(format)));
  }
  vips::VImage out = io::resample(source, req);
  const vips::VImage polished =
      io::polish_output(out, decoded.image, polish, options.encode.background);

  EncodeOptions enc = options.encode;
  if (plan.dpi) enc.dpi = plan.dpi;
  result.dpi = enc.dpi;
  std::error_code ec;
  if (!output.parent_path().empty()) fs::create_directories(output.parent_path(), ec);
  io::Encoded written;
  try {
    written = io::save_image(polished, output, format, enc, progress);
  } catch (const Error& e) {
    const bool decode_failed =
        io::resample_input_failed(out) ||
        (first_pass.get_image() != nullptr && io::model_pass_input_failed(first_pass));
    if (!decode_failed) throw;
    std::string detail = e.problem();
    if (detail.rfind(io::kCannotWrite, 0) == 0) detail.erase(0, io::kCannotWrite.size());
    throw Error(ErrorKind::input, input.string(),
                "cannot decode image: " + io::strip_error_domain(detail),
                std::string(io::kCorruptHint));
  }
  result.bytes = written.bytes;
  if (written.converted_to_srgb) {
    result.notices.push_back("converted colours to sRGB through the embedded colour profile");
  }
  if (options.encode.max_bytes > 0 && written.quality > 0 && written.quality < kDefaultMinQuality) {
    result.notices.push_back(
        fmt::format("quality {} to fit {}: JPEG blocks may show (allowed by --min-quality)",
                    written.quality, format_bytes(options.encode.max_bytes)));
  }
  if (result.model_passes > 0) {
    std::lock_guard<std::mutex> lock(model->mutex());
    result.engine = model->backend(options.backend, options.threads).describe();
  }
  result.quality = written.quality;
  return result;
}

}  // namespace hires

namespace hires::core {

Filter filter_for(Method m) {
  switch (m) {
    case Method::nearest:
      return Filter::nearest;
    case Method::bilinear:
      return Filter::triangle;
    case Method::bicubic:
      return Filter::catmull_rom;
    case Method::lanczos:
      return Filter::lanczos3;
  }
  return Filter::lanczos3;
}

}  // namespace hires::core
