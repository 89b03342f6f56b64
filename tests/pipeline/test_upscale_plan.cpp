// plan_upscale: the one decision (size, model, passes, resize, notices) behind upscale, check and
// eval; and set_method, the one reading of -m.
#include <gtest/gtest.h>

#include "hires/error.hpp"
#include "hires/models.hpp"
#include "hires/pipeline.hpp"

namespace hires {
namespace {

ImageFacts facts(int w, int h) {
  ImageFacts f;
  f.name = "in.png";
  f.size = {w, h};
  return f;
}

Measures clean() {
  Measures m;
  m.top32_colour_share = 0.2;  // a photo: many colours
  m.fine_detail = 1.0;
  return m;
}

TEST(UpscalePlan, ClassicMethodResizesOnly) {
  UpscaleOptions o;
  o.method = Method::bicubic;
  o.size = SizeRequest::by_width(300);
  const UpscalePlan p = plan_upscale(facts(100, 50), o);
  EXPECT_EQ(p.out, (Size{300, 150}));
  EXPECT_DOUBLE_EQ(p.scale, 3.0);
  EXPECT_EQ(p.model, "bicubic");
  EXPECT_EQ(p.passes, 0);
  EXPECT_EQ(p.resize, Method::bicubic);
  EXPECT_EQ(describe_plan(p), "a bicubic resize to 300x150 (3.00x)");
  EXPECT_EQ(load_plan_model(p), nullptr);
}

TEST(UpscalePlan, AutoPicksTheBuiltInFamilyByScaleAndCountsPasses) {
  if (builtin_models().empty()) GTEST_SKIP() << "this build has no built-in weights";
  UpscaleOptions o;
  o.auto_model = true;
  ImageFacts f = facts(100, 100);
  f.measures = clean();
  o.size = SizeRequest::by_scale(2.0);
  UpscalePlan p = plan_upscale(f, o);
  EXPECT_EQ(p.model, "photo-x2");
  EXPECT_EQ(p.model_scale, 2);
  EXPECT_EQ(p.passes, 1);
  o.size = SizeRequest::by_scale(8.0);
  p = plan_upscale(f, o);
  EXPECT_EQ(p.model, "photo-x4");
  EXPECT_EQ(p.passes, 2);
  EXPECT_EQ(describe_plan(p),
            "2 4x passes of photo-x4, then an exact Lanczos resize to 800x800 (8.00x)");
  o.restore = 0.5;  // forced strength: the blend, named as the model it loads
  p = plan_upscale(f, o);
  EXPECT_EQ(p.model, "restore-x4@0.50");
  EXPECT_EQ(model_info(*load_plan_model(p)).name, "restore-x4@0.50");
}

TEST(UpscalePlan, AutoWithoutMeasuresIsAnInternalError) {
  UpscaleOptions o;
  o.auto_model = true;
  EXPECT_THROW((void)plan_upscale(facts(10, 10), o), Error);
}

TEST(UpscalePlan, OutputLimitNamesTheFileAndTheSize) {
  UpscaleOptions o;
  o.size = SizeRequest::by_scale(4.0);
  o.limits.max_output_pixels = 1'000'000;
  try {
    (void)plan_upscale(facts(1000, 500), o);
    FAIL() << "expected a limit error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::limit);
    EXPECT_STREQ(e.what(),
                 "in.png: the output would be 4000x2000 (8.0 MP), over the output limit of 1.0 "
                 "MP (raise `max_output_pixels` or ask for a smaller size)");
  }
}

// A model's own enlargement comes before the final resize: held to the output limit too, with
// the model named (it used to fail later as a "corrupt" image).
TEST(UpscalePlan, ModelSizeBeforeTheFinalResizeIsHeldToTheOutputLimit) {
  if (builtin_models().empty()) GTEST_SKIP() << "this build has no built-in weights";
  UpscaleOptions o;
  set_method(o, "photo-x4", {}, std::nullopt);
  o.size = SizeRequest::by_scale(2.0);
  o.limits.max_output_pixels = 5'000'000;
  try {
    (void)plan_upscale(facts(1000, 1000), o);
    FAIL() << "expected a limit error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::limit);
    EXPECT_STREQ(e.what(),
                 "in.png: photo-x4 (4x, 1 pass) makes 4000x4000 (16.0 MP) before the final "
                 "resize, over the output limit of 5.0 MP (raise `max_output_pixels` or use a "
                 "model of a smaller scale)");
  }
  o.limits.max_output_pixels = 16'000'000;
  EXPECT_EQ(plan_upscale(facts(1000, 1000), o).passes, 1);
}

TEST(UpscalePlan, FormatNoticesAndPrintDpi) {
  UpscaleOptions o;
  o.size = SizeRequest::for_print({2, 1, LengthUnit::inch, 300});
  ImageFacts f = facts(200, 100);
  f.has_alpha = true;
  f.bits = 16;
  UpscalePlan p = plan_upscale(f, o, Format::jpeg);
  EXPECT_EQ(p.out, (Size{600, 300}));
  ASSERT_TRUE(p.dpi.has_value());
  EXPECT_DOUBLE_EQ(*p.dpi, 300.0);
  ASSERT_EQ(p.notices.size(), 2U);
  EXPECT_EQ(p.notices[0], "jpg has no transparency: alpha flattened onto #ffffff");
  EXPECT_EQ(p.notices[1], "jpg holds 8 bits per sample: 16-bit input written as 8-bit");
  p = plan_upscale(f, o, Format::png);
  EXPECT_TRUE(p.notices.empty());
}

TEST(UpscalePlan, NamedModelNeedsNoPassBelowOneX) {
  if (builtin_models().empty()) GTEST_SKIP() << "this build has no built-in weights";
  UpscaleOptions o;
  set_method(o, "photo-x4", {}, std::nullopt);
  o.size = SizeRequest::by_width(50);
  const UpscalePlan p = plan_upscale(facts(100, 100), o);
  EXPECT_EQ(p.model, "photo-x4");
  EXPECT_EQ(p.passes, 0);
  ASSERT_EQ(p.notices.size(), 1U);
  EXPECT_EQ(p.notices[0], "0.50x needs no AI pass: resized with lanczos");
  EXPECT_EQ(load_plan_model(p), nullptr);
}

TEST(SetMethod, ReadsMethodsModelsAndTheDefault) {
  UpscaleOptions o;
  set_method(o, "Lanczos3", {}, std::nullopt);
  EXPECT_FALSE(o.auto_model);
  EXPECT_EQ(o.model, nullptr);
  EXPECT_EQ(o.method, Method::lanczos);
  set_method(o, "", {}, 0.25);
  EXPECT_TRUE(o.auto_model);
  ASSERT_TRUE(o.restore.has_value());
  EXPECT_DOUBLE_EQ(*o.restore, 0.25);
  set_method(o, "auto", {}, std::nullopt);
  EXPECT_TRUE(o.auto_model);
  EXPECT_FALSE(o.restore.has_value());
  EXPECT_EQ(find_method("photo-x4"), std::nullopt);
}

TEST(SetMethod, RestoreOnlyWithTheRestoreModels) {
  UpscaleOptions o;
  try {
    set_method(o, "lanczos", {}, 0.5);
    FAIL() << "expected a usage error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_STREQ(e.what(),
                 "restore: works with the built-in restore models, not 'lanczos' (leave out "
                 "`method`, or use `method` restore-x4 or restore-x2)");
  }
  EXPECT_THROW(set_method(o, "", {}, 1.5), Error);
}

}  // namespace
}  // namespace hires
