#include <gtest/gtest.h>

#include "hires/error.hpp"
#include "hires/plan.hpp"

namespace hires {
namespace {

TEST(PlanSize, ScaleRoundsToNearestPixel) {
  EXPECT_EQ(plan_size({100, 50}, SizeRequest::by_scale(2)).out, (Size{200, 100}));
  EXPECT_EQ(plan_size({101, 33}, SizeRequest::by_scale(3.5)).out, (Size{354, 116}));
  EXPECT_FALSE(plan_size({10, 10}, SizeRequest::by_scale(2)).dpi.has_value());
}

TEST(PlanSize, WidthAndHeightKeepAspect) {
  EXPECT_EQ(plan_size({1080, 1350}, SizeRequest::by_width(2160)).out, (Size{2160, 2700}));
  EXPECT_EQ(plan_size({1080, 1350}, SizeRequest::by_height(500)).out, (Size{400, 500}));
}

TEST(PlanSize, FitGivesLargestSizeInsideBox) {
  EXPECT_EQ(plan_size({400, 300}, SizeRequest::fit_box(1920, 1080)).out, (Size{1440, 1080}));
  EXPECT_EQ(plan_size({300, 400}, SizeRequest::fit_box(1000, 1000)).out, (Size{750, 1000}));
}

TEST(PlanSize, LongEdge) {
  EXPECT_EQ(plan_size({640, 480}, SizeRequest::by_long_edge(4096)).out, (Size{4096, 3072}));
  EXPECT_EQ(plan_size({480, 640}, SizeRequest::by_long_edge(4096)).out, (Size{3072, 4096}));
}

TEST(PlanSize, PrintEightByTenAt300OnPortraitPhoto) {
  const SizePlan p =
      plan_size({1080, 1350}, SizeRequest::for_print({8, 10, LengthUnit::inch, 300}));
  EXPECT_EQ(p.out, (Size{2400, 3000}));
  ASSERT_TRUE(p.dpi.has_value());
  EXPECT_DOUBLE_EQ(*p.dpi, 300);
}

TEST(PlanSize, PrintIsOrientationAware) {
  // A landscape photo on 8x10 paper goes landscape: 10 in wide = 3000 px at 300 DPI.
  const SizePlan p =
      plan_size({1350, 1080}, SizeRequest::for_print({8, 10, LengthUnit::inch, 300}));
  EXPECT_EQ(p.out, (Size{3000, 2400}));
  // 12 inches at 300 DPI is 3600 pixels.
  EXPECT_EQ(plan_size({1200, 800}, SizeRequest::for_print({12, 8, LengthUnit::inch, 300})).out,
            (Size{3600, 2400}));
}

TEST(PlanSize, PrintInCentimetres) {
  // 25.4 cm = 10 in.
  const SizePlan p =
      plan_size({1000, 1000}, SizeRequest::for_print({25.4, 25.4, LengthUnit::cm, 100}));
  EXPECT_EQ(p.out, (Size{1000, 1000}));
}

TEST(PlanSize, PrintFitsInsideWhenAspectDiffers) {
  // 3:2 photo on 8x10: limited by the 10 in side -> 3000 x 2000.
  const SizePlan p = plan_size({600, 400}, SizeRequest::for_print({8, 10, LengthUnit::inch, 300}));
  EXPECT_EQ(p.out, (Size{3000, 2000}));
}

TEST(PlanSize, RejectsBadValuesNamingTheOption) {
  try {
    plan_size({10, 10}, SizeRequest::by_scale(0));
    FAIL() << "scale 0 accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_STREQ(e.what(), "scale: 0 is not a valid value (expected a number greater than 0)");
  }
  EXPECT_THROW(plan_size({10, 10}, SizeRequest::for_print({8, 10, LengthUnit::inch, 0})), Error);
  EXPECT_THROW(plan_size({10, 10}, SizeRequest::by_width(-5)), Error);
  EXPECT_THROW(plan_size({10, 10}, SizeRequest::fit_box(0, 10)), Error);
}

}  // namespace
}  // namespace hires
