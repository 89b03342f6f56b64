// hires review on generated cases: a plain enlargement is ok; pasted texture, halos and a
// colour shift are found and named.
#include <gtest/gtest.h>

#include <random>

#include "guide/guide_cases.hpp"
#include "guide/image_ops.hpp"
#include "hires/guide.hpp"

namespace hires::test {
namespace {

bool any_reason_has(const ReviewResult& r, const std::string& text) {
  for (const auto& s : r.reasons) {
    if (s.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(Review, PlainEnlargementIsOk) {
  const Pixels o = scene(128, 128, true);
  const ReviewResult r = review_pixels(o, guide::resize_bilinear(o, 512, 512));
  EXPECT_EQ(r.verdict, ReviewVerdict::ok) << (r.reasons.empty() ? "" : r.reasons.front());
  EXPECT_GT(r.resemblance_psnr, 30.0);
  EXPECT_GT(r.resemblance_ssim, 0.95);
  EXPECT_LT(r.artifact_fraction, 0.001);
  EXPECT_LT(r.color_shift, 2.0);
  EXPECT_TRUE(r.reasons.empty());
  EXPECT_EQ(r.heat.width, 128);
}

TEST(Review, PastedTextureInTheSkyIsNamed) {
  const Pixels o = scene(128, 128, true);
  Pixels u = guide::resize_bilinear(o, 512, 512);
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> n(-0.15F, 0.15F);
  // The sky is rows 0..42 of the original (0..170 upscaled): paste into its left end.
  for (int y = 40; y < 104; ++y) {
    for (int x = 24; x < 88; ++x) {
      const float t = n(rng);
      for (int c = 0; c < 3; ++c) u.at(x, y, c) = std::clamp(u.at(x, y, c) + t, 0.0F, 1.0F);
    }
  }
  const ReviewResult r = review_pixels(o, u);
  EXPECT_GT(r.artifact_fraction, 0.0);
  EXPECT_NE(r.verdict, ReviewVerdict::ok);
  EXPECT_TRUE(any_reason_has(r, "invented texture in a flat area: top left"))
      << (r.reasons.empty() ? "no reasons" : r.reasons.front());
  ASSERT_FALSE(r.regions.empty());
  const Region& g = r.regions.front();
  EXPECT_LT(g.x, 88);
  EXPECT_GT(g.x + g.width, 24);
  EXPECT_LT(g.y, 104);
  EXPECT_GT(g.y + g.height, 40);
  EXPECT_GT(r.heat.at(14, 18, 0), 0.2F);  // inside the patch, in original pixels
  EXPECT_EQ(r.heat.at(100, 100, 0), 0.0F);
}

TEST(Review, HueRotationIsAColourShift) {
  const Pixels o = scene(128, 128, true);
  Pixels u = guide::resize_bilinear(o, 384, 384);
  for (std::size_t i = 0; i < u.data.size(); i += 3) {
    std::swap(u.data[i], u.data[i + 2]);  // red <-> blue: a hue rotation
  }
  const ReviewResult r = review_pixels(o, u);
  EXPECT_GT(r.color_shift, 10.0);
  EXPECT_EQ(r.verdict, ReviewVerdict::fail);
  EXPECT_TRUE(any_reason_has(r, "colour shift"));
}

TEST(Review, OverSharpeningMakesHalos) {
  const Pixels o = blurred(scene(128, 128), 1.0);
  const Pixels u = guide::resize_bilinear(o, 512, 512);
  Pixels s = u;
  for (int c = 0; c < 3; ++c) {
    const guide::Plane p = guide::channel255(u, c);
    const guide::Plane b = guide::gauss_blur(p, 4.0);
    for (std::size_t i = 0; i < p.v.size(); ++i) {
      s.data[i * 3 + c] = std::clamp((p.v[i] + 4.0F * (p.v[i] - b.v[i])) / 255.0F, 0.0F, 1.0F);
    }
  }
  const ReviewResult plain = review_pixels(o, u);
  const ReviewResult sharp = review_pixels(o, s);
  EXPECT_LT(plain.artifact_fraction, 0.001);
  EXPECT_GT(sharp.artifact_fraction, 0.01);
  EXPECT_NE(sharp.verdict, ReviewVerdict::ok);
  EXPECT_TRUE(any_reason_has(sharp, "halo"));
}

TEST(Review, RefusesMismatchedImages) {
  const Pixels o = scene(64, 64);
  EXPECT_THROW(review_pixels(o, guide::resize_bilinear(o, 32, 32)), Error);
  EXPECT_THROW(review_pixels(o, guide::resize_bilinear(o, 256, 128)), Error);
}

}  // namespace
}  // namespace hires::test
