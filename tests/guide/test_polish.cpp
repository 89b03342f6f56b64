// The colour fix pulls a shifted result back to the input's colours and keeps its detail.
#include <gtest/gtest.h>

#include "io/guide_io.hpp"
#include "support/test_support.hpp"

namespace hires::test {
namespace {

TEST(Polish, ColourFixUndoesALowFrequencyCast) {
  const vips::VImage in = pattern_image(64, 64, 3, false);
  const vips::VImage up = in.resize(4.0).cast(VIPS_FORMAT_UCHAR);
  // A model that turned everything warmer: +24 on red, -12 on blue, plus fine detail of its own.
  const vips::VImage xy = vips::VImage::xyz(256, 256);
  const vips::VImage detail = (xy[0] * 90.0).sin() * 6.0;  // degrees: period 4, mean 0
  const vips::VImage cast =
      (up + std::vector<double>{24, 0, -12} + detail)
          .cast(VIPS_FORMAT_UCHAR)
          .copy(vips::VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB));
  PolishOptions polish;
  polish.color_fix = true;
  const vips::VImage fixed = io::polish_output(cast, in, polish, Rgb{});
  ASSERT_EQ(fixed.width(), 256);
  ASSERT_EQ(fixed.format(), VIPS_FORMAT_UCHAR);
  const double red_in = in.extract_band(0).avg(), blue_in = in.extract_band(2).avg();
  EXPECT_NEAR(cast.extract_band(0).avg() - red_in, 24.0, 3.0);
  EXPECT_NEAR(fixed.extract_band(0).avg(), red_in, 2.0);
  EXPECT_NEAR(fixed.extract_band(2).avg(), blue_in, 2.0);
  // The fine detail is still there: away from the borders, the fixed image differs from the
  // cast one by about a constant, not by the detail.
  const vips::VImage diff = (fixed.cast(VIPS_FORMAT_FLOAT) - cast.cast(VIPS_FORMAT_FLOAT));
  EXPECT_LT(diff.extract_band(1).crop(32, 32, 192, 192).deviate(), 1.5);

  PolishOptions none;
  EXPECT_EQ(io::polish_output(cast, in, none, Rgb{}).get_image(), cast.get_image());
}

// The colour fix streams: it caches a window of rows, not the output. A tall output (many times
// the window) read lazily gives the same pixels as the same output held in memory.
TEST(Polish, ColourFixStreamsWithTheSameResult) {
  const vips::VImage in = pattern_image(48, 400, 3, false);
  const vips::VImage xy = vips::VImage::xyz(192, 1600);
  const vips::VImage lazy =
      (in.resize(4.0) + std::vector<double>{-20, 10, 16} + (xy[1] * 45.0).sin() * 5.0)
          .cast(VIPS_FORMAT_UCHAR)
          .copy(vips::VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB));
  PolishOptions polish;
  polish.color_fix = true;
  const vips::VImage streamed = io::polish_output(lazy, in, polish, Rgb{});
  const vips::VImage held = io::polish_output(lazy.copy_memory(), in, polish, Rgb{});
  ASSERT_EQ(streamed.height(), 1600);
  const vips::VImage diff =
      (streamed.cast(VIPS_FORMAT_FLOAT) - held.cast(VIPS_FORMAT_FLOAT)).abs().copy_memory();
  EXPECT_EQ(diff.max(), 0.0);
  // And the fix did its work: the cast is gone from the means.
  EXPECT_NEAR(streamed.extract_band(0).avg(), in.extract_band(0).avg(), 2.0);
  EXPECT_NEAR(streamed.extract_band(2).avg(), in.extract_band(2).avg(), 2.0);
}

}  // namespace
}  // namespace hires::test
