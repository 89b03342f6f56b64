// Metadata policy: ICC kept (CMYK converted), EXIF/XMP kept unless stripped, DPI written.
#include <gtest/gtest.h>
#include <cstring>

#include "hires/hires.hpp"
#include "support/test_support.hpp"

namespace hires {
namespace {

using test::load;
using test::pattern_image;
using test::TempDir;
namespace fs = std::filesystem;

constexpr const char* kXmp =
    "<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF "
    "xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description rdf:about='' "
    "xmlns:dc='http://purl.org/dc/elements/1.1/'><dc:creator>Ada Lovelace</dc:creator>"
    "</rdf:Description></rdf:RDF></x:xmpmeta>";

UpscaleOptions two_x() {
  UpscaleOptions o;
  o.size = SizeRequest::by_scale(2);
  return o;
}

std::string blob(const vips::VImage& im, const char* field) {
  if (im.get_typeof(field) == 0) return {};
  size_t len = 0;
  const void* data = im.get_blob(field, &len);
  return {static_cast<const char*>(data), len};
}

std::string str(const vips::VImage& im, const char* field) {
  if (im.get_typeof(field) == 0) return {};
  return const_cast<vips::VImage&>(im).get_string(field);
}

// A JPEG carrying a Display P3 profile, EXIF (artist) and XMP.
fs::path tagged_photo(const TempDir& dir) {
  test::init_vips();
  vips::VImage im = pattern_image(64, 48, 3, false).icc_transform("p3").copy();
  im.set("exif-ifd0-Artist", "Ada Lovelace");
  im.set(VIPS_META_XMP_NAME, nullptr, const_cast<char*>(kXmp), std::strlen(kXmp));
  const fs::path p = dir / "tagged.jpg";
  im.jpegsave(p.c_str());
  return p;
}

TEST(Metadata, IccProfileSurvivesInEveryFormat) {
  TempDir dir;
  const fs::path in = tagged_photo(dir);
  const std::string profile = blob(vips::VImage::new_from_file(in.c_str()), VIPS_META_ICC_NAME);
  ASSERT_GT(profile.size(), 100U);
  for (const char* ext : {"jpg", "png", "webp", "tif", "avif"}) {
    const fs::path out = dir / (std::string("out.") + ext);
    upscale_file(in, out, two_x(), {});
    EXPECT_EQ(blob(load(out), VIPS_META_ICC_NAME), profile) << ext << " lost the P3 profile";
  }
}

TEST(Metadata, ExifAndXmpKeptAndSizeFieldsUpdated) {
  TempDir dir;
  const fs::path in = tagged_photo(dir);
  upscale_file(in, dir / "out.jpg", two_x(), {});
  const vips::VImage out = load(dir / "out.jpg");
  EXPECT_NE(str(out, "exif-ifd0-Artist").find("Ada Lovelace"), std::string::npos);
  EXPECT_NE(blob(out, VIPS_META_XMP_NAME).find("Ada Lovelace"), std::string::npos);
  EXPECT_EQ(str(out, "exif-ifd2-PixelXDimension").rfind("128", 0), 0U)
      << str(out, "exif-ifd2-PixelXDimension");
  EXPECT_EQ(str(out, "exif-ifd2-PixelYDimension").rfind("96", 0), 0U)
      << str(out, "exif-ifd2-PixelYDimension");
}

TEST(Metadata, StripDropsExifAndXmpButKeepsProfile) {
  TempDir dir;
  const fs::path in = tagged_photo(dir);
  UpscaleOptions o = two_x();
  o.encode.strip = true;
  for (const char* ext : {"jpg", "png"}) {
    const fs::path out = dir / (std::string("out.") + ext);
    upscale_file(in, out, o, {});
    const vips::VImage im = load(out);
    EXPECT_EQ(str(im, "exif-ifd0-Artist"), "") << ext;
    EXPECT_EQ(blob(im, VIPS_META_XMP_NAME), "") << ext;
    EXPECT_GT(blob(im, VIPS_META_ICC_NAME).size(), 100U) << ext;
  }
}

// --srgb with a profile lcms cannot read: no claim of a conversion, pixels kept, profile left out.
TEST(Metadata, UnreadableProfileIsNotClaimedAsConverted) {
  TempDir dir;
  test::init_vips();
  vips::VImage im = pattern_image(40, 30, 3, false).copy();
  static const char junk[] = "this is not an ICC profile, only 48 bytes long!";
  im.set(VIPS_META_ICC_NAME, nullptr, const_cast<char*>(junk), sizeof junk);
  const fs::path in = dir / "junk-profile.tif";  // libvips' PNG writer would drop the profile
  im.tiffsave(in.c_str());
  ASSERT_EQ(blob(load(in), VIPS_META_ICC_NAME).size(), sizeof junk);

  UpscaleOptions o = two_x();
  o.method = Method::nearest;
  o.encode.srgb = true;
  const FileResult r = upscale_file(in, dir / "out.png", o, {});
  ASSERT_EQ(r.notices.size(), 1U);
  EXPECT_EQ(r.notices[0],
            "the embedded colour profile cannot be read: colours kept as they are (treated as "
            "sRGB) and the profile left out");
  const vips::VImage out = load(dir / "out.png");
  EXPECT_EQ(blob(out, VIPS_META_ICC_NAME), "");
  // Nearest at 2x: the pixels are the input's, unconverted.
  const vips::VImage back = out.subsample(2, 2);
  EXPECT_EQ((back.cast(VIPS_FORMAT_INT) - pattern_image(40, 30, 3, false).cast(VIPS_FORMAT_INT))
                .abs()
                .max(),
            0.0);
}

// A JPEG taken somewhere: camera (Make, Artist) and GPS tags in EXIF, a city in XMP.
fs::path located_photo(const TempDir& dir) {
  test::init_vips();
  vips::VImage im = pattern_image(64, 48, 3, false).copy();
  im.set("exif-ifd0-Make", "Hasselblad");
  im.set("exif-ifd0-Artist", "Ada Lovelace");
  im.set("exif-ifd3-GPSLatitudeRef", "N");
  im.set("exif-ifd3-GPSLatitude", "51/1 30/1 0/1");
  static const std::string xmp =
      "<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF "
      "xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description rdf:about='' "
      "xmlns:photoshop='http://ns.adobe.com/photoshop/1.0/'><photoshop:City>London"
      "</photoshop:City></rdf:Description></rdf:RDF></x:xmpmeta>";
  im.set(VIPS_META_XMP_NAME, nullptr, const_cast<char*>(xmp.data()), xmp.size());
  const fs::path p = dir / "located.jpg";
  im.jpegsave(p.c_str());
  return p;
}

TEST(Metadata, StripLocationDropsGpsAndKeepsCameraData) {
  TempDir dir;
  const fs::path in = located_photo(dir);
  const vips::VImage original = load(in);
  ASSERT_EQ(str(original, "exif-ifd3-GPSLatitudeRef").rfind("N", 0), 0U)
      << "the test image carries GPS";
  ASSERT_NE(blob(original, VIPS_META_XMP_NAME).find("London"), std::string::npos);

  const FileResult kept = upscale_file(in, dir / "kept.jpg", two_x(), {});
  EXPECT_EQ(str(load(dir / "kept.jpg"), "exif-ifd3-GPSLatitudeRef").rfind("N", 0), 0U);
  EXPECT_TRUE(kept.notices.empty());

  UpscaleOptions o = two_x();
  o.encode.strip_location = true;
  for (const char* ext : {"jpg", "png", "webp"}) {
    const fs::path out = dir / (std::string("out.") + ext);
    const FileResult r = upscale_file(in, out, o, {});
    const vips::VImage im = load(out);
    EXPECT_EQ(str(im, "exif-ifd3-GPSLatitudeRef"), "") << ext;
    EXPECT_EQ(str(im, "exif-ifd3-GPSLatitude"), "") << ext;
    EXPECT_EQ(blob(im, VIPS_META_XMP_NAME).find("London"), std::string::npos) << ext;
    EXPECT_NE(str(im, "exif-ifd0-Make").find("Hasselblad"), std::string::npos) << ext;
    EXPECT_NE(str(im, "exif-ifd0-Artist").find("Ada Lovelace"), std::string::npos) << ext;
    ASSERT_EQ(r.notices.size(), 1U) << ext;
    EXPECT_EQ(r.notices[0], "removed where the photo was taken (GPS; XMP/IPTC with a location)");
  }
}

TEST(Metadata, DpiWrittenForPrint) {
  TempDir dir;
  pattern_image(108, 135, 3, false).pngsave((dir / "p.png").c_str());
  UpscaleOptions o;
  o.size = SizeRequest::for_print({0.8, 1.0, LengthUnit::inch, 300});
  for (const char* ext : {"png", "jpg", "tif"}) {
    const fs::path out = dir / (std::string("print.") + ext);
    const FileResult r = upscale_file(dir / "p.png", out, o, {});
    EXPECT_EQ(r.out_size, (Size{240, 300}));
    const vips::VImage im = load(out);
    EXPECT_NEAR(im.xres() * 25.4, 300.0, 0.5) << ext;
    EXPECT_NEAR(im.yres() * 25.4, 300.0, 0.5) << ext;
  }
}

TEST(Metadata, CmykConvertedToSrgbThroughProfile) {
  TempDir dir;
  // Saturated red in sRGB, stored as CMYK.
  vips::VImage red =
      vips::VImage::black(32, 32, vips::VImage::option()->set("bands", 3))
          .linear({1.0, 1.0, 1.0}, {200.0, 30.0, 30.0})
          .cast(VIPS_FORMAT_UCHAR)
          .copy(vips::VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB));
  red.icc_transform("cmyk").jpegsave((dir / "cmyk.jpg").c_str());
  ASSERT_EQ(vips::VImage::new_from_file((dir / "cmyk.jpg").c_str()).interpretation(),
            VIPS_INTERPRETATION_CMYK);
  const FileResult r = upscale_file(dir / "cmyk.jpg", dir / "rgb.png", two_x(), {});
  EXPECT_EQ(r.notices.at(0), "converted CMYK to sRGB through its colour profile");
  const vips::VImage out = load(dir / "rgb.png");
  EXPECT_EQ(out.bands(), 3);
  EXPECT_EQ(out.interpretation(), VIPS_INTERPRETATION_sRGB);
  const auto p = test::pixel(out, 20, 20);
  // CMYK round trips lose some saturation; the hue must stay clearly red.
  EXPECT_GT(p[0], 150);
  EXPECT_LT(p[1], 90);
  EXPECT_LT(p[2], 90);
}

}  // namespace
}  // namespace hires
