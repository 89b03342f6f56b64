// Encoding: format options, metadata policy, DPI, size targets and atomic writes.
#include <fmt/format.h>
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <initializer_list>
#include <optional>
#include <string_view>
#include <vips/vips8>

#include "hires/error.hpp"
#include "io/atomic_file.hpp"
#include "io/io.hpp"

namespace hires::io {

using vips::VError;
using vips::VImage;
using vips::VOption;
namespace fs = std::filesystem;

namespace {

bool is_lossy(Format f) {
  return f == Format::jpeg || f == Format::webp || f == Format::avif;
}

int default_quality(Format f) {
  switch (f) {
    case Format::jpeg:
    case Format::webp:
      return 90;
    case Format::avif:
      return 60;
    default:
      return 0;
  }
}

// Drops EXIF, XMP and IPTC; the ICC profile stays, since colours depend on it.
VImage strip_metadata(VImage im) {
  im = im.copy();
  gchar** fields = vips_image_get_fields(im.get_image());
  std::vector<std::string> drop;
  for (gchar** f = fields; *f != nullptr; ++f) {
    const std::string name = *f;
    if (name == VIPS_META_EXIF_NAME || name == VIPS_META_XMP_NAME || name == VIPS_META_IPTC_NAME ||
        name.rfind("exif-", 0) == 0 || name == VIPS_META_PHOTOSHOP_NAME) {
      drop.push_back(name);
    }
  }
  g_strfreev(fields);
  for (const auto& name : drop) im.remove(name.c_str());
  return im;
}

// Drops the fields that say where a photo was taken: EXIF GPS (libvips' IFD 3), and XMP and IPTC
// when they carry a location (they are dropped whole: their location tags have many spellings).
// Returns whether anything was dropped.
bool strip_location(VImage& im) {
  gchar** fields = vips_image_get_fields(im.get_image());
  std::vector<std::string> drop;
  for (gchar** f = fields; *f != nullptr; ++f) {
    const std::string name = *f;
    if (name.rfind("exif-ifd3-", 0) == 0) drop.push_back(name);
  }
  g_strfreev(fields);
  auto carries_location = [&](const char* field, std::initializer_list<std::string_view> marks) {
    if (im.get_typeof(field) == 0) return false;
    size_t length = 0;
    const void* data = im.get_blob(field, &length);
    const std::string_view text(static_cast<const char*>(data), length);
    return std::any_of(marks.begin(), marks.end(),
                       [&](std::string_view m) { return text.find(m) != std::string_view::npos; });
  };
  if (carries_location(VIPS_META_XMP_NAME, {"GPS", "Location", "City", "Country", "State>"})) {
    drop.emplace_back(VIPS_META_XMP_NAME);
  }
  if (im.get_typeof(VIPS_META_IPTC_NAME) != 0) drop.emplace_back(VIPS_META_IPTC_NAME);
  if (drop.empty()) return false;
  im = im.copy();
  for (const auto& name : drop) im.remove(name.c_str());
  return true;
}

// Optimised Huffman tables make JPEGs ~7% smaller, but libjpeg then holds every coefficient
// in memory (~6 bytes a pixel: 1.1 GiB at 192 MP). Above this size, streaming wins.
constexpr std::uint64_t kOptimizeJpegMaxPixels = 50'000'000;

VOption* saver_options(const VImage& im, Format f, int quality) {
  VOption* o = VImage::option()->set("strip", FALSE);
  const auto pixels = static_cast<std::uint64_t>(im.width()) * im.height();
  switch (f) {
    case Format::jpeg:
      return o->set("Q", quality)->set("optimize_coding", pixels <= kOptimizeJpegMaxPixels);
    case Format::png:
      return o->set("compression", 6);
    case Format::webp:
      return o->set("Q", quality);
    case Format::tiff:
      return o->set("compression", VIPS_FOREIGN_TIFF_COMPRESSION_DEFLATE)
          ->set("predictor", VIPS_FOREIGN_TIFF_PREDICTOR_HORIZONTAL)
          ->set("resunit", VIPS_FOREIGN_TIFF_RESUNIT_INCH);
    case Format::avif:
      return o->set("Q", quality)->set("compression", VIPS_FOREIGN_HEIF_COMPRESSION_AV1);
    case Format::from_extension:
      break;
  }
  return o;
}

const char* buffer_suffix(Format f) {
  switch (f) {
    case Format::jpeg:
      return ".jpg";
    case Format::webp:
      return ".webp";
    case Format::avif:
      return ".avif";
    case Format::png:
      return ".png";
    case Format::tiff:
      return ".tif";
    case Format::from_extension:
      break;
  }
  return ".png";
}

void write_file(VImage& im, const std::string& path, Format f, int quality) {
  VOption* o = saver_options(im, f, quality);
  switch (f) {
    case Format::jpeg:
      im.jpegsave(path.c_str(), o);
      break;
    case Format::png:
      im.pngsave(path.c_str(), o);
      break;
    case Format::webp:
      im.webpsave(path.c_str(), o);
      break;
    case Format::tiff:
      im.tiffsave(path.c_str(), o);
      break;
    case Format::avif:
      im.heifsave(path.c_str(), o);
      break;
    case Format::from_extension:
      delete o;  // NOLINT(cppcoreguidelines-owning-memory): VOption is libvips-owned otherwise
      throw Error(ErrorKind::internal, path, "no output format chosen");
  }
}

// The size of `im` encoded at `quality`, counted as the encoder writes: nothing is kept.
std::uint64_t encoded_size(const VImage& im, Format f, int quality) {
  VipsTargetCustom* custom = vips_target_custom_new();
  std::uint64_t bytes = 0;
  g_signal_connect(custom, "write",
                   G_CALLBACK(+[](VipsTargetCustom*, const void*, gint64 length, void* user) {
                     *static_cast<std::uint64_t*>(user) += static_cast<std::uint64_t>(length);
                     return length;
                   }),
                   &bytes);
  const vips::VTarget target(VIPS_TARGET(custom));  // takes the reference
  im.write_to_target(buffer_suffix(f), target, saver_options(im, f, quality));
  return bytes;
}

struct ProgressHook {
  const ProgressFn* fn;
  const std::atomic<bool>* cancel;
  static void on_eval(VipsImage* image, VipsProgress* p, void* user) {
    const auto* self = static_cast<ProgressHook*>(user);
    if (self->cancel != nullptr && self->cancel->load()) vips_image_set_kill(image, TRUE);
    if (*self->fn) (*self->fn)(p->percent / 100.0);
  }
};

// Connects `progress` to the evaluation of `im` for the lifetime of this object.
class ProgressConnection {
 public:
  ProgressConnection(VImage& im, const ProgressFn& progress, const std::atomic<bool>* cancel)
      : im_(im), hook_{&progress, cancel} {
    if (!progress && cancel == nullptr) return;
    vips_image_set_progress(im_.get_image(), TRUE);
    id_ = g_signal_connect(im_.get_image(), "eval", G_CALLBACK(ProgressHook::on_eval), &hook_);
  }
  ~ProgressConnection() {
    if (id_ != 0) g_signal_handler_disconnect(im_.get_image(), id_);
  }
  ProgressConnection(const ProgressConnection&) = delete;
  ProgressConnection& operator=(const ProgressConnection&) = delete;

 private:
  VImage& im_;
  ProgressHook hook_;
  gulong id_ = 0;
};

// RGB tagged with an ICC profile, converted to sRGB through it (the libvips sRGB profile is then
// attached); anything else is returned as it is (untagged means sRGB already; grey stays grey).
// A profile that lcms cannot read or that does not fit the image is no conversion at all: libvips
// would quietly use its sRGB profile instead, so such a profile is dropped and that is said.
struct SrgbResult {
  std::optional<VImage> image;
  bool unreadable_profile = false;
};

SrgbResult converted_to_srgb(const VImage& im) {
  if (im.get_typeof(VIPS_META_ICC_NAME) == 0 || im.bands() < 3) return {};
  const bool deep = im.format() == VIPS_FORMAT_USHORT;
  const VImage tagged = im.copy(VImage::option()->set(
      "interpretation", deep ? VIPS_INTERPRETATION_RGB16 : VIPS_INTERPRETATION_sRGB));
  size_t length = 0;
  const void* data = im.get_blob(VIPS_META_ICC_NAME, &length);
  if (vips_icc_is_compatible_profile(tagged.get_image(), data, length) == FALSE) {
    vips_error_clear();
    VImage untagged = tagged.copy();
    untagged.remove(VIPS_META_ICC_NAME);
    return {untagged, true};
  }
  return {tagged.icc_transform("srgb", VImage::option()
                                           ->set("embedded", TRUE)
                                           ->set("intent", VIPS_INTENT_RELATIVE)
                                           ->set("depth", deep ? 16 : 8)),
          false};
}

}  // namespace

Encoded save_image(VImage image, const fs::path& path, Format format, const EncodeOptions& options,
                   const ProgressFn& progress, bool replace, const std::atomic<bool>* cancel) {
  const std::string name = path.string();
  check_output_target(path);
  Encoded result;
  if (options.srgb) {
    try {
      const SrgbResult converted = converted_to_srgb(image);
      if (converted.image) {
        image = *converted.image;
        result.converted_to_srgb = !converted.unreadable_profile;
        result.unreadable_profile = converted.unreadable_profile;
      }
    } catch (const VError&) {
      throw Error(ErrorKind::output, name,
                  "cannot convert to sRGB: " + strip_error_domain(take_vips_error("unknown error")),
                  "the embedded colour profile may be damaged; leave out `srgb` to keep it");
    }
  }
  if (options.strip) {
    image = strip_metadata(image);
  } else if (options.strip_location) {
    result.removed_location = strip_location(image);
  }
  if (options.dpi) {
    const double ppmm = *options.dpi / 25.4;
    image = image.copy(VImage::option()->set("xres", ppmm)->set("yres", ppmm));
    image.set("resolution-unit", "in");
  } else {
    image = image.copy();
  }
  int quality = options.quality > 0 ? options.quality : default_quality(format);
  if (options.max_bytes > 0 && !is_lossy(format)) {
    throw Error(ErrorKind::usage, "max_bytes",
                fmt::format("{} is lossless, so its size cannot be traded for quality",
                            format_name(format)),
                "use jpg, webp or avif");
  }

  TempFile temp(path);
  const fs::path& tmp = temp.path();
  try {
    ProgressConnection connection(image, progress, cancel);
    if (options.max_bytes > 0) {
      // Rendered once into a libvips temp file (its own uncompressed format, with the metadata,
      // in the temp folder, deleted when closed), then each trial quality is encoded into a
      // byte counter: memory stays bounded at any size (holding the pixels in memory took
      // 1.07 GB for a 1 GP grey output).
      VipsImage* disc = vips_image_new_temp_file("%s.v");
      if (disc == nullptr) throw VError();
      const VImage pixels(disc);  // takes the reference
      if (vips_image_write(image.get_image(), disc) != 0) throw VError();
      const int floor = std::clamp(options.min_quality, 1, 100);
      int lo = floor;
      int hi = std::max(quality, floor);
      std::uint64_t smallest = 0;
      while (lo <= hi) {
        const int q = (lo + hi) / 2;
        const std::uint64_t bytes = encoded_size(pixels, format, q);
        if (bytes <= options.max_bytes) {
          result.quality = q;
          lo = q + 1;
        } else {
          smallest = bytes;
          hi = q - 1;
        }
      }
      if (result.quality == 0 && floor > 1) {
        throw Error(ErrorKind::output, name,
                    fmt::format("cannot fit in {} at quality {} or more (it takes {}; lower "
                                "qualities show JPEG blocks)",
                                format_bytes(options.max_bytes), floor, format_bytes(smallest)),
                    "allow more bytes, choose a smaller size, try -f webp or -f avif, or accept "
                    "visible blocks with `min_quality` 1");
      }
      if (result.quality == 0) {
        throw Error(ErrorKind::output, name,
                    fmt::format("cannot fit in {}: even quality 1 takes {}",
                                format_bytes(options.max_bytes), format_bytes(smallest)),
                    "allow more bytes, choose a smaller size, or try webp/avif");
      }
      VImage best = pixels;
      write_file(best, tmp.string(), format, result.quality);
    } else {
      write_file(image, tmp.string(), format, quality);
      result.quality = is_lossy(format) ? quality : 0;
    }
    temp.publish(replace);
    std::error_code ec;
    result.bytes = fs::file_size(path, ec);
  } catch (const VError&) {
    if (cancel != nullptr && cancel->load()) {
      vips_error_clear();
      throw Error(ErrorKind::cancelled, name, "stopped before it was written");
    }
    throw Error(ErrorKind::output, name,
                std::string(kCannotWrite) + take_vips_error("unknown error"));
  }
  return result;
}

}  // namespace hires::io
