#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <string_view>

#include "io/atomic_file.hpp"
#include "io/guide_io.hpp"
#include "io/io.hpp"

namespace hires::io {

using vips::VError;
using vips::VImage;

namespace {

double peak_of(const VImage& im) {
  return im.format() == VIPS_FORMAT_UCHAR ? 255.0 : 65535.0;
}

int colour_bands(const VImage& im) {
  return im.bands() == 2 || im.bands() == 4 ? im.bands() - 1 : im.bands();
}

VImage to_linear(const VImage& f) {
  return (f <= 0.04045).ifthenelse(f / 12.92, ((f + 0.055) / 1.055).pow(2.4));
}

VImage to_srgb(VImage l) {
  l = (l < 0.0).ifthenelse(0.0, l);
  l = (l > 1.0).ifthenelse(1.0, l);
  return (l <= 0.0031308).ifthenelse(l * 12.92, l.pow(1.0 / 2.4) * 1.055 - 0.055);
}

// Exactly w x h: crops or extends the edge.
VImage exact_size(const VImage& im, int w, int h) {
  if (im.width() == w && im.height() == h) return im;
  VImage out = im;
  if (out.width() > w || out.height() > h) {
    out = out.crop(0, 0, std::min(w, out.width()), std::min(h, out.height()));
  }
  if (out.width() < w || out.height() < h) {
    out = out.embed(0, 0, w, h, VImage::option()->set("extend", VIPS_EXTEND_COPY));
  }
  return out;
}

VImage resize_to(const VImage& im, int w, int h, VipsKernel kernel) {
  const double hs = static_cast<double>(w) / im.width();
  const double vs = static_cast<double>(h) / im.height();
  return exact_size(im.resize(hs, VImage::option()->set("vscale", vs)->set("kernel", kernel)), w,
                    h);
}

VImage from_floats(const float* data, int w, int h, int bands) {
  VipsImage* raw =
      vips_image_new_from_memory_copy(data, static_cast<std::size_t>(w) * h * bands * sizeof(float),
                                      w, h, bands, VIPS_FORMAT_FLOAT);
  if (raw == nullptr) throw VError();
  return VImage(raw);
}

bool is_basic_field(std::string_view name) {
  static constexpr std::array<std::string_view, 14> kBasic{
      "width",   "height", "bands", "format",   "coding", "interpretation", "xoffset",
      "yoffset", "xres",   "yres",  "filename", "mode",   "scale",          "offset"};
  return std::find(kBasic.begin(), kBasic.end(), name) != kBasic.end();
}

// Copies every metadata item (ICC, EXIF, XMP, ...) of `from` onto a private copy of `to`.
VImage with_metadata_of(VImage to, const VImage& from) {
  to = to.copy(VImage::option()
                   ->set("interpretation", from.interpretation())
                   ->set("xres", from.xres())
                   ->set("yres", from.yres()));
  gchar** fields = vips_image_get_fields(from.get_image());
  for (gchar** f = fields; f != nullptr && *f != nullptr; ++f) {
    if (is_basic_field(*f)) continue;
    GValue value{};
    if (vips_image_get(from.get_image(), *f, &value) == 0) {
      vips_image_set(to.get_image(), *f, &value);
      g_value_unset(&value);
    }
  }
  g_strfreev(fields);
  return to;
}

}  // namespace

namespace {

Pixels to_pixels(VImage im, bool has_alpha) {
  const double peak = peak_of(im);
  if (has_alpha) im = im.flatten(VImage::option()->set("background", std::vector<double>{peak}));
  const int bands = im.bands();
  im = im.cast(VIPS_FORMAT_FLOAT).linear(1.0 / peak, 0.0).cast(VIPS_FORMAT_FLOAT);
  std::size_t size = 0;
  void* mem = im.write_to_memory(&size);
  Pixels px(im.width(), im.height(), bands);
  std::memcpy(px.data.data(), mem, std::min(size, px.data.size() * sizeof(float)));
  g_free(mem);
  // Float files can hold NaN, infinities and values far outside 0..1 (found by fuzz_image: a NaN
  // reached a float-to-int conversion in the measures, undefined behaviour). The measures read
  // display-referred values: unknown ones are black, the rest clamped to 0..1.
  for (float& v : px.data) v = std::isfinite(v) ? std::clamp(v, 0.0F, 1.0F) : 0.0F;
  return px;
}

}  // namespace

Pixels load_pixels(const std::filesystem::path& path, const Limits& limits) {
  Decoded d = open_image(path, limits);
  try {
    return to_pixels(d.image, d.info.has_alpha);
  } catch (const VError&) {
    throw Error(ErrorKind::input, path.string(),
                "cannot decode image: " + strip_error_domain(take_vips_error("unknown error")),
                std::string(kCorruptHint));
  }
}

Pixels measure_pixels(const VImage& decoded, int max_side, const std::string& name) {
  try {
    const int w = std::min(decoded.width(), max_side), h = std::min(decoded.height(), max_side);
    const VImage centre =
        decoded.extract_area((decoded.width() - w) / 2, (decoded.height() - h) / 2, w, h);
    const bool alpha = decoded.bands() == 2 || decoded.bands() == 4;
    return to_pixels(centre, alpha);
  } catch (const VError&) {
    throw Error(ErrorKind::input, name,
                "cannot decode image: " + strip_error_domain(take_vips_error("unknown error")),
                std::string(kCorruptHint));
  }
}

void save_png(const Pixels& pixels, const std::filesystem::path& path) {
  ensure_vips();
  try {
    VImage im = from_floats(pixels.data.data(), pixels.width, pixels.height, pixels.channels);
    im = (im.linear(255.0, 0.5)).cast(VIPS_FORMAT_UCHAR);
    im = im.copy(VImage::option()->set("interpretation", pixels.channels >= 3
                                                             ? VIPS_INTERPRETATION_sRGB
                                                             : VIPS_INTERPRETATION_B_W));
    TempFile temp(path);
    im.write_to_file(temp.path().c_str());
    temp.publish(true);
  } catch (const VError&) {
    throw Error(ErrorKind::output, path.string(),
                "cannot write: " + strip_error_domain(take_vips_error("unknown error")));
  }
}

namespace {
VImage denoise_in_memory(const VImage& in, int level);
constexpr double kColourFixSigma = 3.0;  // input pixels
}  // namespace

VImage denoise_image(const VImage& in, int level, const std::string& name) {
  if (level <= 0) return in;
  try {
    return denoise_in_memory(in, level);
  } catch (const VError&) {
    throw Error(ErrorKind::input, name,
                "cannot decode image: " + strip_error_domain(take_vips_error("unknown error")),
                std::string(kCorruptHint));
  }
}

namespace {

VImage denoise_in_memory(const VImage& in, int level) {
  const double peak = peak_of(in);
  const int bands = in.bands();
  const int colour = colour_bands(in);
  VImage f = in.cast(VIPS_FORMAT_FLOAT).linear(1.0 / peak, 0.0).cast(VIPS_FORMAT_FLOAT);
  std::size_t size = 0;
  void* mem = f.write_to_memory(&size);
  const std::size_t n = static_cast<std::size_t>(in.width()) * in.height();
  std::vector<float> all(n * bands);
  std::memcpy(all.data(), mem, std::min(size, all.size() * sizeof(float)));
  g_free(mem);

  Pixels px(in.width(), in.height(), colour);
  for (std::size_t i = 0; i < n; ++i) {
    for (int c = 0; c < colour; ++c) px.data[i * colour + c] = all[i * bands + c];
  }
  hires::denoise(px, level);
  for (std::size_t i = 0; i < n; ++i) {
    for (int c = 0; c < colour; ++c) all[i * bands + c] = px.data[i * colour + c];
  }
  VImage out = from_floats(all.data(), in.width(), in.height(), bands);
  out = out.linear(peak, 0.5).cast(in.format());
  return with_metadata_of(out, in);
}

}  // namespace

namespace {

// A cache of whole rows in front of `im`, enough for `rows` rows: the colour fix reads each output
// row twice (ahead, through the low-pass, and then to correct it), so rows read ahead are kept
// until the correction comes for them, and nothing upstream (model passes) is computed twice.
VImage row_cache(const VImage& im, int rows) {
  constexpr int kTileHeight = 16;
  return im.tilecache(VImage::option()
                          ->set("tile_width", im.width())
                          ->set("tile_height", kTileHeight)
                          ->set("max_tiles", rows / kTileHeight + 2)
                          ->set("access", VIPS_ACCESS_RANDOM)
                          ->set("threaded", TRUE));
}

}  // namespace

VImage polish_output(const VImage& out, const VImage& source, const PolishOptions& polish,
                     const Rgb& background) {
  if (!polish.color_fix && polish.sharpen <= 0) return out;
  // The colour fix needs the output's low frequencies some rows ahead of the row it corrects: a
  // window of rows is cached (see row_cache), never the whole image, so it streams.
  const double vscale = static_cast<double>(out.height()) / source.height();
  // Rows ahead: the blur's reach (sigma 3 at the input's scale, ~3 sigma), the enlargement's
  // and the shrink's, in output rows, both ways, plus strips in flight on every thread.
  const int window = static_cast<int>(std::ceil(2.0 * (3.0 * kColourFixSigma + 3.0) * vscale)) +
                     64 * std::max(1, vips_concurrency_get());
  const VImage base = polish.color_fix ? row_cache(out, window) : out;
  const double peak = peak_of(base);
  const int colour = colour_bands(base);
  // Gamma-encoded values in [0, 1].
  VImage rgb = base.extract_band(0, VImage::option()->set("n", colour))
                   .cast(VIPS_FORMAT_FLOAT)
                   .linear(1.0 / peak, 0.0);

  if (polish.color_fix) {
    VImage src = source;
    const double src_peak = peak_of(src);
    const bool src_alpha = src.bands() == 2 || src.bands() == 4;
    const bool out_alpha = base.bands() == 2 || base.bands() == 4;
    if (src_alpha && !out_alpha) {
      std::vector<double> bg{background.r * src_peak / 255.0, background.g * src_peak / 255.0,
                             background.b * src_peak / 255.0};
      if (colour_bands(src) == 1) bg.resize(1);
      src = src.flatten(VImage::option()->set("background", bg));
    } else if (src_alpha) {
      src = src.extract_band(0, VImage::option()->set("n", colour_bands(src)));
    }
    src = src.cast(VIPS_FORMAT_FLOAT).linear(1.0 / src_peak, 0.0);
    if (src.bands() != colour) {
      src = colour == 1 ? src.extract_band(1)  // green stands in for luma
                        : src.bandjoin({src, src});
    }
    const int w = source.width();
    const int h = source.height();
    // Low frequencies only: the difference of the two at the input's scale (a box shrink of the
    // output is enough for them), blurred, enlarged; computed as the rows are asked for. In
    // gamma-encoded values: an offset in linear light would crush dark areas.
    const VImage small = exact_size(
        rgb.shrink(static_cast<double>(base.width()) / w, static_cast<double>(base.height()) / h),
        w, h);
    const VImage diff = row_cache(
        (src - small)
            .gaussblur(kColourFixSigma, VImage::option()->set("precision", VIPS_PRECISION_FLOAT)),
        static_cast<int>(std::ceil(window / vscale)) + 32);
    rgb = rgb + resize_to(diff, base.width(), base.height(), VIPS_KERNEL_LINEAR);
    rgb = (rgb < 0.0).ifthenelse(0.0, rgb);
    rgb = (rgb > 1.0).ifthenelse(1.0, rgb);
  }
  if (polish.sharpen > 0) {
    const double scale = static_cast<double>(base.width()) / source.width();
    const double sigma = std::clamp(0.5 * scale, 1.0, 3.0);
    VImage lin = to_linear(rgb);
    const VImage blurred =
        lin.gaussblur(sigma, VImage::option()->set("precision", VIPS_PRECISION_FLOAT));
    rgb = to_srgb(lin + (lin - blurred) * polish.sharpen);
  }
  VImage result = rgb.linear(peak, 0.5).cast(base.format());
  if (base.bands() > colour) result = result.bandjoin(base.extract_band(colour));
  return with_metadata_of(result, out);
}

}  // namespace hires::io
