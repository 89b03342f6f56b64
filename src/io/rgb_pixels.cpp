// 8-bit RGB pixels in memory for evaluation (hires/eval.hpp): read any image, write PNG/JPEG.
#include <fmt/format.h>
#include <algorithm>
#include <vips/vips8>

#include "hires/degrade.hpp"
#include "hires/error.hpp"
#include "hires/eval.hpp"
#include "io/io.hpp"

namespace hires {

RgbImage read_rgb(const std::filesystem::path& path) {
  Limits limits;
  io::Decoded d = io::open_image(path, limits);
  try {
    vips::VImage im = d.image;
    if (im.bands() == 2 || im.bands() == 4) {
      im = im.flatten(vips::VImage::option()->set(
          "background", std::vector<double>{im.format() == VIPS_FORMAT_USHORT ? 65535.0 : 255.0}));
    }
    if (im.format() == VIPS_FORMAT_USHORT) {
      im = (im / 257.0 + 0.5).cast(VIPS_FORMAT_UCHAR);
    } else if (im.format() != VIPS_FORMAT_UCHAR) {
      im = im.cast(VIPS_FORMAT_UCHAR);
    }
    if (im.bands() == 1) im = vips::VImage::bandjoin({im, im, im});
    RgbImage out;
    out.width = im.width();
    out.height = im.height();
    std::size_t size = 0;
    void* mem = im.write_to_memory(&size);
    const auto* bytes = static_cast<const std::uint8_t*>(mem);
    out.pixels.assign(bytes, bytes + size);
    g_free(mem);
    if (out.pixels.size() != static_cast<std::size_t>(out.width) * out.height * 3) {
      throw Error(ErrorKind::internal, path.string(), "unexpected pixel layout after decoding");
    }
    return out;
  } catch (const vips::VError&) {
    throw Error(
        ErrorKind::input, path.string(),
        "cannot decode image: " + io::strip_error_domain(io::take_vips_error("unknown error")),
        std::string(io::kCorruptHint));
  }
}

void write_rgb(const std::filesystem::path& path, const RgbImage& image) {
  io::ensure_vips();
  if (image.pixels.size() != static_cast<std::size_t>(image.width) * image.height * 3) {
    throw Error(ErrorKind::internal, path.string(), "pixel buffer does not match the image size");
  }
  try {
    vips::VImage im = vips::VImage::new_from_memory(const_cast<std::uint8_t*>(image.pixels.data()),
                                                    image.pixels.size(), image.width, image.height,
                                                    3, VIPS_FORMAT_UCHAR);
    im.write_to_file(path.string().c_str());
  } catch (const vips::VError&) {
    throw Error(ErrorKind::output, path.string(),
                "cannot write: " + io::strip_error_domain(io::take_vips_error("unknown error")));
  }
}

RgbImage jpeg_roundtrip(const RgbImage& image, int quality) {
  io::ensure_vips();
  if (image.pixels.size() != static_cast<std::size_t>(image.width) * image.height * 3) {
    throw Error(ErrorKind::internal, "jpeg", "pixel buffer does not match the image size");
  }
  try {
    const vips::VImage in = vips::VImage::new_from_memory(
        const_cast<std::uint8_t*>(image.pixels.data()), image.pixels.size(), image.width,
        image.height, 3, VIPS_FORMAT_UCHAR);
    void* buf = nullptr;
    std::size_t len = 0;
    // Chroma always subsampled 4:2:0, as cameras, phones and web sites save JPEG.
    in.write_to_buffer(".jpg", &buf, &len,
                       vips::VImage::option()
                           ->set("Q", std::clamp(quality, 1, 100))
                           ->set("subsample_mode", VIPS_FOREIGN_SUBSAMPLE_ON)
                           ->set("strip", true));
    const std::vector<std::uint8_t> bytes(static_cast<std::uint8_t*>(buf),
                                          static_cast<std::uint8_t*>(buf) + len);
    g_free(buf);
    const vips::VImage back = vips::VImage::new_from_buffer(bytes.data(), bytes.size(), "");
    std::size_t size = 0;
    void* mem = back.write_to_memory(&size);
    RgbImage out{image.width, image.height, {}};
    out.pixels.assign(static_cast<std::uint8_t*>(mem), static_cast<std::uint8_t*>(mem) + size);
    g_free(mem);
    if (out.pixels.size() != image.pixels.size()) {
      throw Error(ErrorKind::internal, "jpeg", "JPEG round trip changed the image layout");
    }
    return out;
  } catch (const vips::VError&) {
    throw Error(
        ErrorKind::internal, "jpeg",
        "JPEG round trip failed: " + io::strip_error_domain(io::take_vips_error("unknown error")));
  }
}

}  // namespace hires
