// hires check on generated cases: each defect is flagged, and only where it is present.
#include <gtest/gtest.h>

#include <vips/vips8>

#include "guide/guide_cases.hpp"
#include "guide/image_ops.hpp"
#include "hires/guide.hpp"
#include "hires/models.hpp"

namespace hires::test {
namespace {

const Finding& finding(const CheckResult& r, FindingKind k) {
  for (const auto& f : r.findings) {
    if (f.kind == k) return f;
  }
  throw std::runtime_error("no finding of that kind");
}

bool flagged(const CheckResult& r, FindingKind k) {
  return finding(r, k).severity != Severity::info;
}

Pixels jpeg_round_trip(const Pixels& in, int quality) {
  std::vector<unsigned char> bytes(in.data.size());
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<unsigned char>(std::lround(in.data[i] * 255.0F));
  }
  vips::VImage im = vips::VImage::new_from_memory(bytes.data(), bytes.size(), in.width, in.height,
                                                  in.channels, VIPS_FORMAT_UCHAR);
  void* buf = nullptr;
  size_t len = 0;
  im.write_to_buffer(".jpg", &buf, &len, vips::VImage::option()->set("Q", quality));
  vips::VImage back = vips::VImage::new_from_buffer(buf, len, "");
  size_t size = 0;
  void* mem = back.write_to_memory(&size);
  Pixels out(in.width, in.height, in.channels);
  const auto* p = static_cast<const unsigned char*>(mem);
  for (std::size_t i = 0; i < out.data.size() && i < size; ++i) out.data[i] = p[i] / 255.0F;
  g_free(mem);
  g_free(buf);
  return out;
}

TEST(Check, SharpSceneIsAGoodCandidate) {
  const CheckResult r = check_pixels(scene(320, 320), {});
  EXPECT_EQ(r.findings.size(), 8U);
  for (const auto& f : r.findings) {
    EXPECT_EQ(f.severity, Severity::info)
        << finding_kind_name(f.kind) << " = " << f.value << ": " << f.message;
  }
  EXPECT_EQ(r.verdict, CheckVerdict::good);
  EXPECT_EQ(r.recommendation.denoise, 0);
  if (!builtin_models().empty()) {
    // A built-in x4 model (every user has it): the photo model, or the restore model at the
    // strength the scene's fine grain asks for.
    const std::string& m = r.recommendation.model;
    EXPECT_TRUE(m == "photo-x4" || m == "restore-x4") << m;
    EXPECT_EQ(r.recommendation.passes, 1);
    EXPECT_NE(r.recommendation.plan.find("1 4x pass of " + m), std::string::npos)
        << r.recommendation.plan;
  }
}

TEST(Check, OnlyTheBlurredCopyIsFlaggedBlur) {
  const Pixels sharp = scene(320, 320);
  const CheckResult a = check_pixels(sharp, {});
  const CheckResult b = check_pixels(blurred(sharp, 2.0), {});
  EXPECT_FALSE(flagged(a, FindingKind::blur)) << finding(a, FindingKind::blur).value;
  EXPECT_TRUE(flagged(b, FindingKind::blur)) << finding(b, FindingKind::blur).value;
  EXPECT_LT(finding(a, FindingKind::blur).value, 0.44);
  EXPECT_GT(finding(b, FindingKind::blur).value, finding(a, FindingKind::blur).value + 0.15);
  EXPECT_NE(b.verdict, CheckVerdict::good);
}

TEST(Check, JpegQuality10IsBlocky) {
  const Pixels sharp = scene(320, 320);
  const CheckResult q10 = check_pixels(jpeg_round_trip(sharp, 10), {});
  const CheckResult q95 = check_pixels(jpeg_round_trip(sharp, 95), {});
  EXPECT_TRUE(flagged(q10, FindingKind::blocky)) << finding(q10, FindingKind::blocky).value;
  EXPECT_GT(finding(q10, FindingKind::blocky).value, 6.0);
  EXPECT_FALSE(flagged(q95, FindingKind::blocky)) << finding(q95, FindingKind::blocky).value;
  // Clean-up is recommended: the restore model where it is built in, else the classical filter.
  if (q10.recommendation.restore > 0) {
    EXPECT_GE(q10.recommendation.restore, 0.8) << q10.recommendation.reason;
  } else {
    EXPECT_GE(q10.recommendation.denoise, 1);
  }
}

TEST(Check, SixteenLevelGradientIsBanded) {
  const CheckResult banded = check_pixels(gradient(256, 256, 16), {});
  const CheckResult smooth = check_pixels(gradient(256, 256, 256), {});
  EXPECT_TRUE(flagged(banded, FindingKind::banding));
  EXPECT_GT(finding(banded, FindingKind::banding).value, 20.0);
  EXPECT_FALSE(flagged(smooth, FindingKind::banding))
      << finding(smooth, FindingKind::banding).value;
}

TEST(Check, Under200PixelsIsSmallAndPoor) {
  const CheckResult r = check_pixels(scene(150, 150), {});
  const Finding& f = finding(r, FindingKind::small);
  EXPECT_EQ(f.severity, Severity::bad);
  EXPECT_DOUBLE_EQ(f.value, 150.0);
  EXPECT_EQ(r.verdict, CheckVerdict::poor);
  EXPECT_NE(f.message.find("150x150"), std::string::npos) << f.message;
}

TEST(Check, AddedNoiseIsMeasured) {
  const Pixels sharp = scene(320, 320);
  const CheckResult clean = check_pixels(sharp, {});
  const CheckResult noisy = check_pixels(with_noise(sharp, 15.0), {});
  EXPECT_FALSE(flagged(clean, FindingKind::noise)) << finding(clean, FindingKind::noise).value;
  EXPECT_TRUE(flagged(noisy, FindingKind::noise));
  EXPECT_NEAR(finding(noisy, FindingKind::noise).value, 15.0, 3.5);
  // Clean-up is recommended: the restore model at full strength where it is built in, else
  // the classical filter.
  if (noisy.recommendation.restore > 0) {
    EXPECT_EQ(noisy.recommendation.restore, 1.0) << noisy.recommendation.reason;
  } else {
    EXPECT_GE(noisy.recommendation.denoise, 2);
  }
}

TEST(Check, ClippedSkyOrBlackBackgroundIsStillAPhoto) {
  // A photo with a burnt-out sky, or a portrait on black: large flat areas that are not fills.
  for (const float v : {1.0F, 0.0F}) {
    Pixels p = scene(256, 256);
    for (int y = 0; y < 110; ++y) {
      for (int x = 0; x < 256; ++x) {
        for (int c = 0; c < 3; ++c) p.at(x, y, c) = v;
      }
    }
    const Measures m = measure(p);
    EXPECT_GT(m.flat_fraction, 0.4) << v;
    EXPECT_LT(m.flat_midtone_fraction, 0.1) << v;
    EXPECT_EQ(classify_content(m), Content::photo) << v;
  }
  // The same area in a mid-tone fill is drawn art.
  Pixels art = scene(256, 256);
  for (int y = 0; y < 110; ++y) {
    for (int x = 0; x < 256; ++x) {
      for (int c = 0; c < 3; ++c) art.at(x, y, c) = 0.3F + 0.2F * c;
    }
  }
  EXPECT_EQ(classify_content(measure(art)), Content::art);
}

TEST(Check, DarkImageIsLowLight) {
  Pixels dark = scene(320, 320);
  for (auto& v : dark.data) v *= 0.2F;
  const CheckResult r = check_pixels(dark, {});
  EXPECT_EQ(finding(r, FindingKind::dark).severity, Severity::bad);
  EXPECT_LT(finding(r, FindingKind::dark).value, 40.0);
}

TEST(Check, NotNeededWhenTheImageHasThePixels) {
  CheckOptions o;
  o.target = SizeRequest::by_width(300);
  const CheckResult r = check_pixels(scene(320, 320), o);
  EXPECT_EQ(r.verdict, CheckVerdict::not_needed);
  EXPECT_EQ(r.recommendation.passes, 0);
  ASSERT_TRUE(r.target.has_value());
  EXPECT_EQ(r.target->width, 300);

  o.target = SizeRequest::for_print({8, 10, LengthUnit::inch, 300});
  const CheckResult p = check_pixels(scene(320, 400), o);
  EXPECT_EQ(p.target->width, 2400);
  EXPECT_NEAR(p.scale, 7.5, 1e-9);
  EXPECT_NE(p.recommendation.plan.find("2400x3000"), std::string::npos) << p.recommendation.plan;
  if (builtin_models().empty()) return;   // the passes below are photo-x4's
  EXPECT_EQ(p.recommendation.passes, 1);  // 7.5x: one 4x pass, then an exact resize

  o.target = SizeRequest::by_width(320 * 16);
  const CheckResult x16 = check_pixels(scene(320, 320), o);
  EXPECT_NE(x16.verdict, CheckVerdict::good);  // 16x: usable with care at best
  EXPECT_NE(x16.recommendation.plan.find("16x is a big step"), std::string::npos)
      << x16.recommendation.plan;
  const std::string& m16 = x16.recommendation.model;
  EXPECT_TRUE(m16 == "photo-x4" || m16 == "restore-x4") << m16;
  EXPECT_EQ(x16.recommendation.passes, 2);
  EXPECT_NE(x16.recommendation.plan.find("2 4x passes of " + m16), std::string::npos)
      << x16.recommendation.plan;
}

// A huge image is measured on a part (check_file passes its centre): the sizes, the target's
// scale and the plan are the whole image's, and the result says what was measured.
TEST(Check, MeasuredPartStandsForTheWholeImage) {
  CheckOptions o;
  o.target = SizeRequest::by_width(40000);
  o.whole_size = Size{20000, 15000};
  const CheckResult r = check_pixels(scene(320, 320), o);
  EXPECT_EQ(r.size, (Size{20000, 15000}));
  ASSERT_TRUE(r.measured.has_value());
  EXPECT_EQ(*r.measured, (Size{320, 320}));
  EXPECT_NEAR(r.scale, 2.0, 1e-9);
  ASSERT_TRUE(r.target.has_value());
  EXPECT_EQ(*r.target, (Size{40000, 30000}));
  EXPECT_NE(r.recommendation.plan.find("40000x30000"), std::string::npos) << r.recommendation.plan;
  EXPECT_NE(check_json("big.jpg", r).find(R"("measured":{"height":320,"width":320})"),
            std::string::npos);
  o.whole_size.reset();
  EXPECT_FALSE(check_pixels(scene(320, 320), o).measured.has_value());
}

// The recommendation names the built-in model that fits the enlargement, as `hires IMAGE` does.
TEST(Check, RecommendsTheBuiltInModelForTheScale) {
  if (builtin_models().empty()) GTEST_SKIP() << "this build has no built-in models";
  CheckOptions o;
  // The x2 models up to 2x, the x4 ones above (photo or restore: the scene's grain decides).
  for (const auto& [width, suffix] :
       {std::pair{480, "-x2"}, {640, "-x2"}, {700, "-x4"}, {1280, "-x4"}, {2400, "-x4"}}) {
    o.target = SizeRequest::by_width(width);
    const Recommendation rec = check_pixels(scene(320, 320), o).recommendation;
    EXPECT_TRUE(rec.model.ends_with(suffix)) << width << " " << rec.model;
    EXPECT_EQ(rec.passes, 1) << width;
    EXPECT_NE(rec.plan.find(rec.model), std::string::npos) << rec.plan;
  }
  o.target = SizeRequest::by_width(640);
  const Recommendation r640 = check_pixels(scene(320, 320), o).recommendation;
  EXPECT_NE(r640.plan.find("1 2x pass of " + r640.model), std::string::npos) << r640.plan;
}

TEST(Check, PixelArtStaircases) {
  const Pixels small = scene(64, 64);
  Pixels big(256, 256, 3);
  for (int y = 0; y < 256; ++y) {
    for (int x = 0; x < 256; ++x) {
      for (int c = 0; c < 3; ++c) big.at(x, y, c) = small.at(x / 4, y / 4, c);
    }
  }
  const Measures m = measure(big);
  EXPECT_GT(m.staircase, 0.6);
  EXPECT_EQ(m.staircase_block, 4);
  const CheckResult r = check_pixels(big, {});
  // Its blocks are what pixel art is made of, not a defect (and never "JPEG blocks").
  EXPECT_EQ(r.content, Content::pixel_art);
  EXPECT_EQ(finding(r, FindingKind::blocky).severity, Severity::info);
  EXPECT_NE(finding(r, FindingKind::blocky).message.find("4x4 blocks"), std::string::npos);
  EXPECT_EQ(r.recommendation.model, "nearest");
  EXPECT_EQ(r.recommendation.passes, 0);
  EXPECT_EQ(measure(scene(256, 256)).staircase_block, 0);
}

// A scanned print: the dots of the screen are found, at any common angle, and call for denoise.
TEST(Check, HalftoneScreenIsFound) {
  const Pixels photo = scene(320, 320);
  const CheckResult clean = check_pixels(photo, {});
  EXPECT_EQ(finding(clean, FindingKind::halftone).severity, Severity::info);
  EXPECT_LT(clean.measures.halftone, 0.1);
  EXPECT_EQ(clean.recommendation.denoise, 0);
  EXPECT_LT(check_pixels(with_noise(photo, 15.0), {}).measures.halftone, 0.1);

  for (const auto& [period, angle] :
       {std::pair{4.24, 45.0}, {6.0, 45.0}, {5.0, 0.0}, {4.0, 15.0}, {8.0, 75.0}}) {
    const CheckResult r = check_pixels(halftoned(photo, period, angle), {});
    const Finding& f = finding(r, FindingKind::halftone);
    EXPECT_EQ(f.severity, Severity::warn) << period << " px at " << angle << ": " << f.value;
    EXPECT_GT(f.value, 0.4) << period << " px at " << angle;  // measured 0.45 .. 0.54
    EXPECT_GE(r.recommendation.denoise, 2) << period << " px at " << angle;
    EXPECT_NE(f.message.find("halftone screen"), std::string::npos) << f.message;
  }
  // The period reported is the lattice's: 3 px across and down at 45 degrees.
  EXPECT_NEAR(
      check_pixels(halftoned(photo, 3.0 * std::sqrt(2.0), 45.0), {}).measures.halftone_period,
      3.0 * std::sqrt(2.0), 0.1);
}

TEST(Check, ContentTypes) {
  EXPECT_EQ(check_pixels(scene(256, 256), {}).content, Content::photo);
  // Text: black strokes on white paper.
  Pixels text(256, 256, 3, 1.0F);
  for (int y = 20; y < 240; y += 16) {
    for (int x = 10; x < 246; ++x) {
      if ((x / 5) % 3 == 0) {
        for (int c = 0; c < 3; ++c) text.at(x, y, c) = text.at(x, y + 1, c) = 0.0F;
      }
    }
  }
  EXPECT_EQ(check_pixels(text, {}).content, Content::text);
}

TEST(Check, Denoise) {
  const Pixels sharp = scene(96, 96);
  Pixels noisy = with_noise(sharp, 12.0);
  const double before = measure(noisy).noise;
  denoise(noisy, 2);
  EXPECT_LT(measure(noisy).noise, before / 2);
  EXPECT_THROW(denoise(noisy, 4), Error);
  Pixels same = sharp;
  denoise(same, 0);
  EXPECT_EQ(same.data, sharp.data);
}

}  // namespace
}  // namespace hires::test
