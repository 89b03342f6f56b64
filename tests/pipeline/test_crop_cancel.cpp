// UpscaleOptions::crop (the web app's preview) and ::cancel (its cancel button).
#include <gtest/gtest.h>

#include "hires/error.hpp"
#include "hires/hires.hpp"
#include "support/test_support.hpp"

namespace hires::test {
namespace {

namespace fs = std::filesystem;

TEST(Crop, IsTheRegionOfTheWholeRunAtItsScale) {
  TempDir dir;
  const fs::path in = dir / "in.png";
  pattern_image(96, 64, 3, false).write_to_file(in.c_str());
  UpscaleOptions o;
  o.method = Method::lanczos;
  o.size = SizeRequest::by_width(192);  // 2x for the whole image
  const FileResult whole = upscale_file(in, dir / "whole.png", o, nullptr);
  o.crop = Rect{20, 10, 40, 30};
  const FileResult part = upscale_file(in, dir / "part.png", o, nullptr);
  EXPECT_EQ(whole.out_size, (Size{192, 128}));
  EXPECT_EQ(part.in_size, (Size{40, 30}));
  EXPECT_EQ(part.out_size, (Size{80, 60}));
  // Away from the region's border (where the crop has no neighbours), the same pixels.
  const auto a = load(dir / "whole.png").extract_area(40 + 6, 20 + 6, 80 - 12, 60 - 12);
  const auto b = load(dir / "part.png").extract_area(6, 6, 80 - 12, 60 - 12);
  EXPECT_GT(psnr(a, b), 45.0);
}

TEST(Crop, OutsideTheImageIsAUsageErrorNamingIt) {
  TempDir dir;
  const fs::path in = dir / "in.png";
  pattern_image(64, 48, 3, false).write_to_file(in.c_str());
  UpscaleOptions o;
  o.method = Method::bicubic;
  o.crop = Rect{60, 4, 16, 12};
  try {
    (void)upscale_file(in, dir / "out.png", o, nullptr);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_STREQ(e.what(), "crop: 16x12 at 60,4 is not inside the 64x48 image");
  }
  EXPECT_FALSE(fs::exists(dir / "out.png"));
}

TEST(Cancel, StopsTheRunAndWritesNothing) {
  TempDir dir;
  const fs::path in = dir / "in.png";
  pattern_image(64, 48, 3, false).write_to_file(in.c_str());
  UpscaleOptions o;
  o.method = Method::lanczos;
  auto flag = std::make_shared<std::atomic<bool>>(true);
  o.cancel = flag;
  try {
    (void)upscale_file(in, dir / "out.png", o, nullptr);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::cancelled);
  }
  EXPECT_FALSE(fs::exists(dir / "out.png"));
  // While it runs: the flag raised from the progress callback stops the write.
  flag->store(false);
  o.size = SizeRequest::by_scale(8);
  try {
    (void)upscale_file(in, dir / "out2.png", o, [&](double) { flag->store(true); });
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::cancelled);
    EXPECT_EQ(e.problem(), "stopped before it was written");
  }
  for (const auto& e : fs::directory_iterator(dir.path())) {
    EXPECT_EQ(e.path().filename(), "in.png") << "left behind: " << e.path();
  }
}

}  // namespace
}  // namespace hires::test
