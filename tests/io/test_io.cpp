// Library-level I/O behaviour on real files: depth, bands, formats, orientation, alpha, limits.
#include <gtest/gtest.h>
#include <fstream>

#include "hires/error.hpp"
#include "hires/hires.hpp"
#include "io/io.hpp"
#include "support/test_support.hpp"

namespace hires {
namespace {

using test::load;
using test::pattern_image;
using test::pixel;
using test::TempDir;
namespace fs = std::filesystem;

UpscaleOptions scale_by(double s, Method m = Method::lanczos) {
  UpscaleOptions o;
  o.size = SizeRequest::by_scale(s);
  o.method = m;
  return o;
}

TEST(Io, SixteenBitRgbaPngStaysSixteenBitRgba) {
  TempDir dir;
  pattern_image(40, 30, 4, true).pngsave((dir / "in.png").c_str());
  const FileResult r = upscale_file(dir / "in.png", dir / "out.png", scale_by(2), {});
  EXPECT_EQ(r.out_size, (Size{80, 60}));
  const vips::VImage out = load(dir / "out.png");
  EXPECT_EQ(out.width(), 80);
  EXPECT_EQ(out.height(), 60);
  EXPECT_EQ(out.bands(), 4);
  EXPECT_EQ(out.format(), VIPS_FORMAT_USHORT);
  // Values use the full 16-bit range, not 8-bit values scaled up (no 8-bit step in the middle).
  int not_multiple_of_257 = 0;
  for (int x = 0; x < 80; x += 7) {
    for (double v : pixel(out, x, 31)) not_multiple_of_257 += static_cast<int>(v) % 257 != 0;
  }
  EXPECT_GT(not_multiple_of_257, 10);
}

TEST(Io, NearestTwoXKeepsSixteenBitValuesExactly) {
  TempDir dir;
  const vips::VImage in = pattern_image(9, 7, 3, true);
  in.pngsave((dir / "in.png").c_str());
  upscale_file(dir / "in.png", dir / "out.tif", scale_by(2, Method::nearest), {});
  const vips::VImage out = load(dir / "out.tif");
  ASSERT_EQ(out.format(), VIPS_FORMAT_USHORT);
  for (int y = 0; y < 14; ++y)
    for (int x = 0; x < 18; ++x) ASSERT_EQ(pixel(out, x, y), pixel(in, x / 2, y / 2));
}

TEST(Io, GreyStaysGreyAndGreyAlphaKeepsAlpha) {
  TempDir dir;
  pattern_image(20, 10, 1, false).pngsave((dir / "g.png").c_str());
  pattern_image(20, 10, 2, false).pngsave((dir / "ga.png").c_str());
  upscale_file(dir / "g.png", dir / "g2.png", scale_by(2), {});
  upscale_file(dir / "ga.png", dir / "ga2.webp", scale_by(2), {});
  EXPECT_EQ(load(dir / "g2.png").bands(), 1);
  const vips::VImage ga = load(dir / "ga2.webp");
  EXPECT_TRUE(ga.has_alpha());
}

TEST(Io, PalettePngIsRead) {
  TempDir dir;
  pattern_image(32, 32, 3, false)
      .pngsave((dir / "p.png").c_str(), vips::VImage::option()->set("palette", TRUE));
  const vips::VImage src = load(dir / "p.png");
  upscale_file(dir / "p.png", dir / "p2.png", scale_by(1, Method::nearest), {});
  const vips::VImage out = load(dir / "p2.png");
  EXPECT_EQ(out.width(), 32);
  EXPECT_EQ(pixel(out, 5, 9), pixel(src, 5, 9));
}

TEST(Io, EveryOutputFormatIsWrittenAndReadBack) {
  TempDir dir;
  pattern_image(24, 16, 4, false).pngsave((dir / "in.png").c_str());
  for (const char* ext : {"jpg", "png", "webp", "tif", "avif"}) {
    const fs::path out = dir / (std::string("out.") + ext);
    upscale_file(dir / "in.png", out, scale_by(2), {});
    const vips::VImage im = load(out);
    EXPECT_EQ(im.width(), 48) << ext;
    EXPECT_EQ(im.height(), 32) << ext;
    EXPECT_EQ(im.has_alpha(), std::string(ext) != "jpg") << ext;
  }
}

TEST(Io, EveryInputFormatIsRead) {
  TempDir dir;
  const vips::VImage src = pattern_image(24, 16, 3, false);
  src.webpsave((dir / "a.webp").c_str());
  pattern_image(24, 16, 3, true).tiffsave((dir / "a.tif").c_str());
  src.gifsave((dir / "a.gif").c_str());
  src.heifsave((dir / "a.avif").c_str(),
               vips::VImage::option()->set("compression", VIPS_FOREIGN_HEIF_COMPRESSION_AV1));
  src.jpegsave((dir / "a.jpg").c_str());
  for (const char* name : {"a.webp", "a.tif", "a.gif", "a.avif", "a.jpg"}) {
    const FileResult r =
        upscale_file(dir / name, dir / (std::string(name) + ".png"), scale_by(2), {});
    EXPECT_EQ(r.out_size, (Size{48, 32})) << name;
  }
  EXPECT_EQ(load(dir / "a.tif.png").format(), VIPS_FORMAT_USHORT);
}

TEST(Io, ExifOrientationSixComesOutUpright) {
  TempDir dir;
  vips::VImage stored = pattern_image(40, 20, 3, false).copy();
  stored.set("orientation", 6);
  stored.jpegsave((dir / "o6.jpg").c_str(), vips::VImage::option()->set("Q", 100));
  const vips::VImage decoded = vips::VImage::new_from_file((dir / "o6.jpg").c_str());
  ASSERT_EQ(decoded.get_int("orientation"), 6);
  const vips::VImage upright = decoded.rot90().copy_memory();

  upscale_file(dir / "o6.jpg", dir / "up.png", scale_by(1, Method::nearest), {});
  const vips::VImage out = load(dir / "up.png");
  EXPECT_EQ(out.width(), 20);
  EXPECT_EQ(out.height(), 40);
  EXPECT_GT(test::psnr(out, upright), 60.0);
  // Re-saved as JPEG the tag says "upright" (1) or is absent, so viewers do not rotate again.
  upscale_file(dir / "o6.jpg", dir / "up.jpg", scale_by(1), {});
  const vips::VImage jpg = vips::VImage::new_from_file((dir / "up.jpg").c_str());
  EXPECT_EQ(jpg.width(), 20);
  if (jpg.get_typeof("orientation") != 0) {
    EXPECT_EQ(jpg.get_int("orientation"), 1);
  }
}

TEST(Io, AlphaFlattenedOntoBackgroundForJpeg) {
  TempDir dir;
  vips::VImage rgba = pattern_image(16, 16, 3, false).bandjoin_const({0.0});  // fully transparent
  rgba = rgba.copy(vips::VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB));
  rgba.pngsave((dir / "t.png").c_str());
  UpscaleOptions o = scale_by(2);
  o.encode.background = parse_color("#ff0000");
  const FileResult r = upscale_file(dir / "t.png", dir / "t.jpg", o, {});
  ASSERT_EQ(r.notices.size(), 1U);
  EXPECT_EQ(r.notices[0], "jpg has no transparency: alpha flattened onto #ff0000");
  const vips::VImage out = load(dir / "t.jpg");
  EXPECT_EQ(out.bands(), 3);
  const auto p = pixel(out, 10, 10);
  EXPECT_GT(p[0], 245);
  EXPECT_LT(p[1], 10);
  EXPECT_LT(p[2], 10);
}

TEST(Io, ResamplesInLinearLight) {
  // One-pixel black/white stripes halved: linear-light averaging gives ~188, gamma space 128.
  TempDir dir;
  vips::VImage stripes = (vips::VImage::xyz(64, 8)[0] % 2) * 255;
  stripes.cast(VIPS_FORMAT_UCHAR).pngsave((dir / "s.png").c_str());
  upscale_file(dir / "s.png", dir / "h.png", scale_by(0.5, Method::bilinear), {});
  const vips::VImage out = load(dir / "h.png");
  EXPECT_NEAR(out.avg(), 188.0, 1.5);
}

TEST(Io, InputOverPixelLimitIsRefusedBeforeDecoding) {
  TempDir dir;
  pattern_image(100, 100, 3, false).pngsave((dir / "big.png").c_str());
  UpscaleOptions o = scale_by(2);
  o.limits.max_input_pixels = 5000;
  try {
    upscale_file(dir / "big.png", dir / "o.png", o, {});
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::limit);
    EXPECT_EQ(e.problem(), "100x100 is 0.0 MP, over the input limit of 0.0 MP");
  }
  o.limits = {};
  o.limits.max_output_pixels = 30000;
  EXPECT_THROW(upscale_file(dir / "big.png", dir / "o.png", o, {}), Error);
  EXPECT_FALSE(fs::exists(dir / "o.png"));
}

TEST(Io, BadInputsGiveOneLineErrorsNamingTheFile) {
  TempDir dir;
  { std::ofstream(dir / "junk.jpg") << "this is not an image at all"; }
  // Cut in the header (small file) and in the pixel data (large file): the same message.
  pattern_image(64, 64, 3, false).jpegsave((dir / "small.jpg").c_str());
  pattern_image(600, 600, 3, false).jpegsave((dir / "large.jpg").c_str());
  for (const char* name : {"small", "large"}) {
    const std::string whole = test::read_file(dir / (std::string(name) + ".jpg"));
    std::ofstream(dir / (std::string("cut-") + name + ".jpg"), std::ios::binary)
        << whole.substr(0, whole.size() / 2);
  }
  struct Case {
    const char* name;
    const char* expected;
  };
  for (const Case& c :
       {Case{"missing.png", "no such file"},
        Case{"junk.jpg",
             "not a supported image (hires reads JPEG, PNG, WebP, TIFF, GIF, HEIF and AVIF)"},
        Case{"cut-small.jpg",
             "cannot decode image: Premature end of input file (the file is "
             "truncated or corrupt)"},
        Case{"cut-large.jpg",
             "cannot decode image: Premature end of input file (the file is "
             "truncated or corrupt)"}}) {
    try {
      upscale_file(dir / c.name, dir / "out.png", scale_by(2), {});
      ADD_FAILURE() << c.name << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::input) << c.name;
      EXPECT_EQ(std::string(e.what()), (dir / c.name).string() + ": " + c.expected);
    }
  }
  // Nothing half-written is left behind.
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    EXPECT_EQ(entry.path().filename().string().find(".hires-"), std::string::npos) << entry.path();
    EXPECT_NE(entry.path().filename(), "out.png");
  }
}

TEST(Io, DamagedDataFailsTheFileUnlessAccepted) {
  TempDir dir;
  pattern_image(256, 256, 3, false).jpegsave((dir / "whole.jpg").c_str());
  // Half of the entropy-coded data, then an end marker: libjpeg only warns ("premature end of
  // data segment") and fills the rest with grey.
  const std::string whole = test::read_file(dir / "whole.jpg");
  std::ofstream(dir / "damaged.jpg", std::ios::binary)
      << whole.substr(0, whole.size() / 2) << "\xff\xd9";
  try {
    upscale_file(dir / "damaged.jpg", dir / "out.png", scale_by(2), {});
    ADD_FAILURE() << "damaged data accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::input);
    EXPECT_EQ(std::string(e.what()),
              (dir / "damaged.jpg").string() +
                  ": cannot decode image: Corrupt JPEG data: premature end of data segment (the "
                  "file is truncated or corrupt)");
  }
  EXPECT_FALSE(fs::exists(dir / "out.png"));

  UpscaleOptions o = scale_by(2);
  o.limits.accept_damaged = true;
  const FileResult r = upscale_file(dir / "damaged.jpg", dir / "out.png", o, {});
  EXPECT_EQ(r.out_size.width, 512);
  ASSERT_EQ(r.notices.size(), 1U);
  EXPECT_EQ(r.notices[0], "the file has damaged data, decoded anyway: parts may be grey");
  // An intact file says nothing, with or without the option.
  const FileResult intact = upscale_file(dir / "whole.jpg", dir / "intact.png", o, {});
  EXPECT_TRUE(intact.notices.empty());
}

// A lazy step whose own computation fails keeps that error (a model's failure is not the
// input's damage); a step that only failed to read its input keeps none.
TEST(Io, LazyImageKeepsItsOwnFillError) {
  TempDir dir;
  const vips::VImage in = pattern_image(32, 32, 3, false);
  io::LazyLayout layout;
  layout.width = 32;
  layout.height = 32;
  const vips::VImage failing = io::lazy_image(
      in, layout,
      [](const io::LazyInput&, const core::Rect&, std::uint8_t*, std::ptrdiff_t) {
        throw Error(ErrorKind::input, "model.safetensors", "tensor 'x' broke");
      },
      "model");
  const vips::VImage after = io::lazy_image(
      failing, layout,
      [](const io::LazyInput& input, const core::Rect& r, std::uint8_t* dst,
         std::ptrdiff_t stride) {
        const io::InputRegion region = input.read(r);
        for (int y = 0; y < r.height; ++y) {
          std::copy_n(region.data + y * region.stride, r.width * 3, dst + y * stride);
        }
      },
      "copy");
  EXPECT_THROW(after.pngsave((dir / "out.png").c_str()), vips::VError);
  vips_error_clear();
  const std::exception_ptr error = io::lazy_fill_error(failing);
  ASSERT_NE(error, nullptr);
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "model.safetensors: tensor 'x' broke");
  }
  EXPECT_EQ(io::lazy_fill_error(after), nullptr);
  EXPECT_TRUE(io::lazy_input_failed(after));
  EXPECT_FALSE(io::lazy_input_failed(failing));
}

TEST(Io, OutputThatIsTheInputIsRefusedAndInputKept) {
  TempDir dir;
  pattern_image(10, 10, 3, false).pngsave((dir / "a.png").c_str());
  const std::string before = test::read_file(dir / "a.png");
  UpscaleOptions o = scale_by(2);
  o.overwrite = true;
  EXPECT_THROW(upscale_file(dir / "a.png", dir / "." / "a.png", o, {}), Error);
  EXPECT_EQ(test::read_file(dir / "a.png"), before);
}

TEST(Io, MaxBytesPicksHighestQualityThatFits) {
  TempDir dir;
  vips::VImage noise = vips::VImage::gaussnoise(500, 400, vips::VImage::option()->set("sigma", 60));
  noise = vips::VImage::bandjoin({noise, noise.rot180(), noise.fliphor()}).cast(VIPS_FORMAT_UCHAR);
  noise.copy(vips::VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB))
      .pngsave((dir / "n.png").c_str());
  UpscaleOptions o = scale_by(2);
  const FileResult full = upscale_file(dir / "n.png", dir / "full.jpg", o, {});
  ASSERT_GT(full.bytes, 150000U);
  o.encode.max_bytes = 150000;
  o.encode.min_quality = 1;  // noise: any quality, as asked
  const FileResult fit = upscale_file(dir / "n.png", dir / "fit.jpg", o, {});
  EXPECT_LE(fs::file_size(dir / "fit.jpg"), 150000U);
  EXPECT_LT(fit.quality, 90);
  EXPECT_GE(fit.quality, 1);
  o.encode.max_bytes = 1000;
  try {
    upscale_file(dir / "n.png", dir / "tiny.jpg", o, {});
    FAIL() << "1000 bytes accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot fit in 1.0 KB"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir / "tiny.jpg"));
}

TEST(Io, EdgeDatasetFilesAllUpscale) {
  HIRES_REQUIRE_SHARED(edge, "datasets/edge");
  TempDir dir;
  int count = 0;
  for (const auto& entry : fs::directory_iterator(edge)) {
    if (!entry.is_regular_file()) continue;
    const fs::path out = dir / (entry.path().stem().string() + ".png");
    const FileResult r = upscale_file(entry.path(), out, scale_by(2), {});
    EXPECT_EQ(r.out_size.width, r.in_size.width * 2) << entry.path();
    ++count;
  }
  EXPECT_GE(count, 5);
  const vips::VImage deep = load(dir / "tree_alpha_16bit.png");
  EXPECT_EQ(deep.format(), VIPS_FORMAT_USHORT);
  EXPECT_EQ(deep.bands(), 4);
  EXPECT_EQ(load(dir / "00017_gray.png").bands(), 1);
}

}  // namespace
}  // namespace hires
