// The image I/O module: the only part of hires that includes libvips.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>
#include <vips/vips8>

#include "core/resample.hpp"
#include "core/tiler.hpp"
#include "hires/hires.hpp"
#include "hires/models.hpp"

namespace hires::io {

// Starts libvips once per process (thread-safe), blocks loaders marked untrusted and keeps
// libvips' own warnings off stderr (errors reach callers as exceptions).
void ensure_vips();

// A decoded image ready for processing: upright (EXIF orientation applied), sRGB or grey
// (CMYK and other spaces converted through their ICC profile), 8 or 16 bits, 1-4 bands.
// Metadata (ICC, EXIF, XMP, IPTC, resolution) rides along on the image.
struct Decoded {
  vips::VImage image;
  ImageInfo info;
  std::vector<std::string> notices;
};

// `random_access` decodes so that any rows can be read in any order (models read bands with
// context); otherwise large files stream sequentially.
Decoded open_image(const std::filesystem::path& path, const Limits& limits,
                   bool random_access = false);

struct ResampleRequest {
  Size out;
  core::Filter filter = core::Filter::lanczos3;
  core::SampleType out_type = core::SampleType::u8;
  std::optional<Rgb> flatten;  // composite alpha onto this colour and drop it
  bool linear_data = false;    // samples are linear already (an alpha plane): no sRGB curve
};

// A lazy libvips image that resamples `in` in linear light (see core/resample.hpp) when its
// pixels are asked for, so that outputs stream to the encoder strip by strip.
vips::VImage resample(const vips::VImage& in, const ResampleRequest& request);

// True when computing `resampled` failed because its input could not be decoded (a truncated or
// corrupt file), as opposed to a failure to write.
bool resample_input_failed(const vips::VImage& resampled);

struct ModelPass {
  std::shared_ptr<Model> model;
  core::TilePlan plan;
  std::string backend = "auto";
  int threads = 0;
};

// A lazy libvips image: `in` (8/16-bit RGB) through the model, as 16-bit RGB at the model's
// scale. Computed a band of tiles at a time (see core/tiler.hpp) when pixels are asked for.
vips::VImage model_pass(const vips::VImage& in, const ModelPass& pass);
// True when computing a model pass failed because its input could not be decoded.
bool model_pass_input_failed(const vips::VImage& image);

struct ModelUpscale {
  vips::VImage image;       // 16-bit, same bands as the input, at input size * scale^passes
  vips::VImage first_pass;  // the pass that reads the decoder (for error attribution)
};
// Runs `passes` model passes over the colour of `in` (grey goes through as RGB and comes back
// grey); alpha is resized separately with Lanczos-3 (see docs/ARCHITECTURE.md) and re-attached.
ModelUpscale upscale_with_model(const vips::VImage& in, const ModelPass& pass, int passes);

struct Encoded {
  std::uint64_t bytes = 0;
  int quality = 0;
  bool converted_to_srgb = false;  // EncodeOptions::srgb changed the colours
};

inline constexpr std::string_view kCannotWrite = "cannot write: ";

// Writes `image` to `path` atomically (a temporary file beside it, then rename).
Encoded save_image(vips::VImage image, const std::filesystem::path& path, Format format,
                   const EncodeOptions& options, const ProgressFn& progress);

void set_threads_impl(int threads);

// The quality (1..100) a JPEG file was saved at, estimated from its luminance quantisation
// table; 0 when the file is not a JPEG or holds no table before its first scan.
int estimate_jpeg_quality(const std::filesystem::path& path);

// "VipsJpeg: Premature end of input file" -> "Premature end of input file".
std::string strip_error_domain(std::string text);
inline constexpr std::string_view kCorruptHint = "the file is truncated or corrupt";

// The vips error text, first line only, and clears the buffer.
std::string take_vips_error(const std::string& fallback);

bool format_has_alpha(Format f);
bool format_has_16bit(Format f);

}  // namespace hires::io
