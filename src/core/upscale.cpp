// One file through the whole path: decode -> plan -> resample -> encode.
#include <fmt/format.h>

#include "hires/batch.hpp"
#include "hires/error.hpp"
#include "hires/hires.hpp"
#include "io/io.hpp"

namespace hires {
namespace fs = std::filesystem;

namespace {

core::Filter filter_for(Method m) {
  switch (m) {
    case Method::nearest:
      return core::Filter::nearest;
    case Method::bilinear:
      return core::Filter::triangle;
    case Method::bicubic:
      return core::Filter::catmull_rom;
    case Method::lanczos:
      return core::Filter::lanczos3;
  }
  return core::Filter::lanczos3;
}

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

  io::Decoded decoded = io::open_image(input, options.limits);
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

  io::ResampleRequest req;
  req.out = plan.out;
  req.filter = filter_for(options.method);
  req.out_type = decoded.info.bits > 8 && io::format_has_16bit(format) ? core::SampleType::u16
                                                                       : core::SampleType::u8;
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
  vips::VImage out = io::resample(decoded.image, req);

  EncodeOptions enc = options.encode;
  if (plan.dpi) enc.dpi = plan.dpi;
  result.dpi = enc.dpi;
  std::error_code ec;
  if (!output.parent_path().empty()) fs::create_directories(output.parent_path(), ec);
  io::Encoded written;
  try {
    written = io::save_image(out, output, format, enc, progress);
  } catch (const Error& e) {
    if (!io::resample_input_failed(out)) throw;
    std::string detail = e.problem();
    if (detail.rfind(io::kCannotWrite, 0) == 0) detail.erase(0, io::kCannotWrite.size());
    throw Error(ErrorKind::input, input.string(),
                "cannot decode image: " + io::strip_error_domain(detail),
                std::string(io::kCorruptHint));
  }
  result.bytes = written.bytes;
  result.quality = written.quality;
  return result;
}

}  // namespace hires
