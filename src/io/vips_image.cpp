// Decoding: file -> upright sRGB/grey image, 8 or 16 bits, metadata attached.
#include <fmt/format.h>
#include <algorithm>
#include <array>
#include <atomic>
#include <fstream>
#include <mutex>
#include <string_view>
#include <vips/vips8>

#include "hires/error.hpp"
#include "io/atomic_file.hpp"
#include "io/io.hpp"

namespace hires::io {

using vips::VError;
using vips::VImage;

namespace {
std::atomic<std::uint64_t> decoder_warning_count{0};
}  // namespace

std::uint64_t decoder_warnings() {
  return decoder_warning_count.load(std::memory_order_relaxed);
}

void ensure_vips() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (VIPS_INIT("hires") != 0) {
      throw Error(ErrorKind::internal, "libvips", take_vips_error("failed to start"));
    }
    // ImageMagick, JPEG 2000 and JPEG XL loaders are not fuzzed by libvips; keep them out.
    vips_block_untrusted_set(TRUE);
    vips_leak_set(FALSE);
    // The operation cache keys loads by file name: a file rewritten in place would be served
    // stale. Our pipelines are built once per file, so the cache buys nothing.
    vips_cache_set_max(0);
    // libvips' warnings are not printed (the library never prints); the ones a decoder gives
    // about damaged data are counted, so a file decoded with accept_damaged can say so.
    g_log_set_handler(
        "VIPS", static_cast<GLogLevelFlags>(G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE),
        [](const gchar*, GLogLevelFlags level, const gchar* message, gpointer) {
          if ((level & G_LOG_LEVEL_WARNING) != 0 && message != nullptr) {
            const std::string_view m(message);
            if (m.find("warning") != std::string_view::npos ||
                m.find("orrupt") != std::string_view::npos ||
                m.find("remature") != std::string_view::npos) {
              decoder_warning_count.fetch_add(1, std::memory_order_relaxed);
            }
          }
        },
        nullptr);
  });
}

std::string strip_error_domain(std::string text) {
  // "VipsJpeg: Premature end of input file" -> "Premature end of input file".
  const auto colon = text.find(": ");
  if (colon != std::string::npos && text.find(' ') > colon) text.erase(0, colon + 2);
  return text;
}

std::string take_vips_error(const std::string& fallback) {
  std::string text = vips_error_buffer();
  vips_error_clear();
  // libvips stacks messages, one per line; the first says most.
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (const auto nl = text.find('\n'); nl != std::string::npos) text.resize(nl);
  return text.empty() ? fallback : text;
}

void set_threads_impl(int threads) {
  // Process-wide: set when a job's count differs from the last one (a batch sets it once).
  static std::atomic<int> current{-1};
  if (current.exchange(threads) == threads) return;
  ensure_vips();
  vips_concurrency_set(threads);
}

namespace {

int free_blob(void* mem, void* /*area*/) {
  g_free(mem);
  return 0;
}

int sample_bits(const VImage& im) {
  switch (im.format()) {
    case VIPS_FORMAT_UCHAR:
    case VIPS_FORMAT_CHAR:
      return 8;
    default:
      return 16;
  }
}

}  // namespace

// The container name when the file starts like a video (ISO BMFF with a video brand, Matroska
// or WebM, AVI, MPEG-TS/PS, FLV), else empty. HEIF and AVIF share ISO BMFF but not the brands.
std::string video_container(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  std::array<unsigned char, 192> b{};
  f.read(reinterpret_cast<char*>(b.data()), static_cast<std::streamsize>(b.size()));
  const auto n = static_cast<std::size_t>(f.gcount());
  auto at = [&](std::size_t i, std::string_view text) {
    return i + text.size() <= n && std::equal(text.begin(), text.end(), b.begin() + i);
  };
  if (at(4, "ftyp")) {
    const std::string brand(b.begin() + 8, b.begin() + 12);
    for (const char* image :
         {"heic", "heix", "hevc", "heim", "heis", "mif1", "msf1", "avif", "avis", "avio"}) {
      if (brand == image) return {};
    }
    return brand.rfind("qt", 0) == 0 ? "QuickTime" : "MP4";
  }
  if (n >= 4 && b[0] == 0x1A && b[1] == 0x45 && b[2] == 0xDF && b[3] == 0xA3) {
    return "Matroska/WebM";
  }
  if (at(0, "RIFF") && at(8, "AVI ")) return "AVI";
  if (at(0, "FLV")) return "FLV";
  if (n >= 189 && b[0] == 0x47 && b[188] == 0x47) return "MPEG-TS";
  if (n >= 4 && b[0] == 0 && b[1] == 0 && b[2] == 1 && b[3] == 0xBA) return "MPEG-PS";
  return {};
}

Decoded open_image(const std::filesystem::path& path, const Limits& limits, bool random_access) {
  ensure_vips();
  const std::string name = path.string();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error(ErrorKind::input, name, "no such file");
  if (std::filesystem::is_directory(path, ec)) {
    throw Error(ErrorKind::input, name, "is a folder, not an image", "pass -r to process folders");
  }
  check_input_file(path);  // a FIFO or /dev/zero would wait or read forever
  if (const std::string video = video_container(path); !video.empty()) {
    throw Error(ErrorKind::input, name, fmt::format("is a video ({}), not an image", video),
                fmt::format("upscale videos with hires video {} -o OUT.mp4", name));
  }
  const char* loader = vips_foreign_find_load(name.c_str());
  if (loader == nullptr) {
    vips_error_clear();
    throw Error(ErrorKind::input, name, "not a supported image",
                "hires reads JPEG, PNG, WebP, TIFF, GIF, HEIF and AVIF");
  }

  Decoded d;
  d.info.loader = loader;
  // Damaged data that libjpeg/libpng only warn about would decode to grey or black areas.
  const char* fail_on = limits.accept_damaged ? "none" : "warning";
  VImage header;
  try {
    header = VImage::new_from_file(name.c_str(), VImage::option()->set("fail_on", fail_on));
  } catch (const VError&) {
    throw Error(ErrorKind::input, name,
                "cannot decode image: " + strip_error_domain(take_vips_error("unknown error")),
                std::string(kCorruptHint));
  }
  const auto pixels = static_cast<std::uint64_t>(header.width()) * header.height();
  if (pixels > limits.max_input_pixels) {
    throw Error(ErrorKind::limit, name,
                fmt::format("{}x{} is {:.1f} MP, over the input limit of {:.1f} MP", header.width(),
                            header.height(), pixels / 1e6, limits.max_input_pixels / 1e6),
                "raise `max_pixels` to accept it");
  }
  d.info.orientation =
      header.get_typeof(VIPS_META_ORIENTATION) != 0 ? header.get_int(VIPS_META_ORIENTATION) : 1;
  d.info.has_icc = header.get_typeof(VIPS_META_ICC_NAME) != 0;
  if (header.xres() > 0 && header.get_typeof("resolution-unit") != 0) {
    d.info.dpi = header.xres() * 25.4;
  }

  try {
    // Sequential access streams big files; rotation needs random access.
    VImage im =
        d.info.orientation <= 1 && !random_access
            ? VImage::new_from_file(
                  name.c_str(),
                  VImage::option()->set("fail_on", fail_on)->set("access", VIPS_ACCESS_SEQUENTIAL))
            : header;
    im = im.autorot();
    if (im.get_typeof(VIPS_META_ORIENTATION) != 0) im.remove(VIPS_META_ORIENTATION);

    const VipsInterpretation interp = im.interpretation();
    const bool deep = sample_bits(im) > 8;
    if (interp == VIPS_INTERPRETATION_CMYK) {
      // Through the embedded profile when there is one, else a generic CMYK profile.
      im = im.icc_transform("srgb", VImage::option()
                                        ->set("embedded", TRUE)
                                        ->set("input_profile", "cmyk")
                                        ->set("depth", deep ? 16 : 8));
      d.notices.push_back("converted CMYK to sRGB through its colour profile");
    } else if (im.format() != VIPS_FORMAT_UCHAR && im.format() != VIPS_FORMAT_USHORT) {
      im = im.colourspace(im.bands() <= 2 ? VIPS_INTERPRETATION_GREY16 : VIPS_INTERPRETATION_RGB16);
    } else if (interp == VIPS_INTERPRETATION_LAB || interp == VIPS_INTERPRETATION_LABS ||
               interp == VIPS_INTERPRETATION_XYZ || interp == VIPS_INTERPRETATION_LCH ||
               interp == VIPS_INTERPRETATION_HSV || interp == VIPS_INTERPRETATION_YXY) {
      im = im.colourspace(deep ? VIPS_INTERPRETATION_RGB16 : VIPS_INTERPRETATION_sRGB);
    }
    if (im.bands() > 4) {
      throw Error(ErrorKind::input, name, fmt::format("has {} channels", im.bands()),
                  "expected grey, grey+alpha, RGB or RGBA");
    }
    // Own a copy of the ICC profile: some loaders (heifload in 8.14) hand out a blob that points
    // into the decoder's memory, which must not be relied on for the life of the pipeline.
    if (im.get_typeof(VIPS_META_ICC_NAME) != 0) {
      size_t len = 0;
      const void* data = im.get_blob(VIPS_META_ICC_NAME, &len);
      void* copy = g_memdup2(data, len);
      im = im.copy();
      im.set(VIPS_META_ICC_NAME, free_blob, copy, len);
    }
    d.info.size = {im.width(), im.height()};
    d.info.bands = im.bands();
    d.info.has_alpha = im.bands() == 2 || im.bands() == 4;
    d.info.bits = sample_bits(im);
    d.image = im;
  } catch (const VError&) {
    throw Error(ErrorKind::input, name,
                "cannot decode image: " + strip_error_domain(take_vips_error("unknown error")),
                std::string(kCorruptHint));
  }
  return d;
}

}  // namespace hires::io

namespace hires {

void set_threads(int threads) {
  io::set_threads_impl(threads);
}

}  // namespace hires
