// The image I/O module: the only part of hires that includes libvips.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>
#include <vips/vips8>

#include "core/resample.hpp"
#include "hires/hires.hpp"

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

Decoded open_image(const std::filesystem::path& path, const Limits& limits);

struct ResampleRequest {
  Size out;
  core::Filter filter = core::Filter::lanczos3;
  core::SampleType out_type = core::SampleType::u8;
  std::optional<Rgb> flatten;  // composite alpha onto this colour and drop it
};

// A lazy libvips image that resamples `in` in linear light (see core/resample.hpp) when its
// pixels are asked for, so that outputs stream to the encoder strip by strip.
vips::VImage resample(const vips::VImage& in, const ResampleRequest& request);

// True when computing `resampled` failed because its input could not be decoded (a truncated or
// corrupt file), as opposed to a failure to write.
bool resample_input_failed(const vips::VImage& resampled);

struct Encoded {
  std::uint64_t bytes = 0;
  int quality = 0;
};

inline constexpr std::string_view kCannotWrite = "cannot write: ";

// Writes `image` to `path` atomically (a temporary file beside it, then rename).
Encoded save_image(vips::VImage image, const std::filesystem::path& path, Format format,
                   const EncodeOptions& options, const ProgressFn& progress);

void set_threads_impl(int threads);

// "VipsJpeg: Premature end of input file" -> "Premature end of input file".
std::string strip_error_domain(std::string text);
inline constexpr std::string_view kCorruptHint = "the file is truncated or corrupt";

// The vips error text, first line only, and clears the buffer.
std::string take_vips_error(const std::string& fallback);

bool format_has_alpha(Format f);
bool format_has_16bit(Format f);

}  // namespace hires::io
