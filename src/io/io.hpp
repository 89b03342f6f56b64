// The image I/O module: the only part of hires that includes libvips.
#pragma once

#include <atomic>
#include <exception>
#include <filesystem>
#include <functional>
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

struct VideoFrame;
// A decoded video frame as a libvips image (sRGB or RGB16) over the frame's own pixels, which
// must outlive it.
vips::VImage frame_image(VideoFrame& f);
// The container name when the file starts like a video (MP4/MOV, Matroska/WebM, AVI, MPEG-TS/PS,
// FLV), else empty.
std::string video_container(const std::filesystem::path& path);
// How many warnings about damaged data the decoders have given so far (process-wide).
std::uint64_t decoder_warnings();

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

// Input pixels a lazy image's fill asked for: rows of `rect`, `stride` bytes apart, samples
// interleaved as in the input image.
struct InputRegion {
  const std::uint8_t* data = nullptr;
  std::ptrdiff_t stride = 0;
  core::Rect rect;
};

// Hands a fill the input pixels it needs; read() throws (and the image reports
// lazy_input_failed) when the decoder upstream failed.
class LazyInput {
 public:
  explicit LazyInput(std::function<InputRegion(const core::Rect&)> read) : read_(std::move(read)) {}
  InputRegion read(const core::Rect& rect) const { return read_(rect); }

 private:
  std::function<InputRegion(const core::Rect&)> read_;
};

// Computes the output pixels of `out` (interleaved, rows `stride` bytes apart at `dst`). Called
// from libvips' worker threads, several at once.
using FillFn = std::function<void(const LazyInput& in, const core::Rect& out, std::uint8_t* dst,
                                  std::ptrdiff_t stride)>;

struct LazyLayout {
  int width = 0;
  int height = 0;
  int bands = 3;
  bool u16 = false;  // 16-bit samples, else 8-bit; grey (1-2 bands) or RGB (3-4)
};

// The one generic lazy image: pixels of the given layout computed by `fill` from `in` when the
// pipeline downstream asks for them. `what` names the step in errors ("resample").
vips::VImage lazy_image(const vips::VImage& in, const LazyLayout& layout, FillFn fill,
                        std::string_view what);

// True when computing a lazy image (resample, model pass) failed because its input could not be
// decoded (a truncated or corrupt file), as opposed to a failure to write.
// The first error a lazy image's own fill threw (a model pass that failed), or null: an error
// of the computation, not of the file it reads.
std::exception_ptr lazy_fill_error(const vips::VImage& image);
bool lazy_input_failed(const vips::VImage& image);

struct Encoded {
  std::uint64_t bytes = 0;
  int quality = 0;
  bool converted_to_srgb = false;   // EncodeOptions::srgb changed the colours
  bool unreadable_profile = false;  // EncodeOptions::srgb found a profile lcms cannot use
  bool removed_location = false;    // EncodeOptions::strip_location found and dropped some
};

inline constexpr std::string_view kCannotWrite = "cannot write: ";

// Writes `image` to `path` atomically (io::TempFile: a temporary file beside it, then a rename
// that replaces an existing regular file only when `replace`). When `cancel` becomes true the
// evaluation stops, nothing is written and Error(cancelled) is thrown.
Encoded save_image(vips::VImage image, const std::filesystem::path& path, Format format,
                   const EncodeOptions& options, const ProgressFn& progress, bool replace,
                   const std::atomic<bool>* cancel = nullptr);

void set_threads_impl(int threads);

// The quality (1..100) a JPEG file was saved at, estimated from its luminance quantisation
// table; 0 when the file is not a JPEG or holds no table before its first scan.
int estimate_jpeg_quality(const std::filesystem::path& path);

// "VipsJpeg: Premature end of input file" -> "Premature end of input file".
std::string strip_error_domain(std::string text);
inline constexpr std::string_view kCorruptHint = "the file is truncated or corrupt";

// The vips error text, first line only, and clears the buffer.
std::string take_vips_error(const std::string& fallback);

}  // namespace hires::io
