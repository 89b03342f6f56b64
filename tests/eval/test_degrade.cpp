// Degradation recipes (hires/degrade.hpp): deterministic, sized right, each step doing what it
// says, and unknown names refused with the list of recipes.
#include <gtest/gtest.h>
#include <cmath>
#include <random>

#include "hires/degrade.hpp"
#include "hires/error.hpp"

namespace hires {
namespace {

// A smooth scene with some fine stripes (so that blur, aliasing and JPEG all show).
RgbImage scene(int w, int h) {
  RgbImage im{w, h, std::vector<std::uint8_t>(static_cast<std::size_t>(w) * h * 3)};
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const double stripes = x > w / 2 ? 60.0 * ((x / 2) % 2) : 0.0;
      for (int c = 0; c < 3; ++c) {
        const double v = 90 + 50 * std::sin(0.05 * x + c) * std::cos(0.07 * y) + stripes;
        im.pixels[(static_cast<std::size_t>(y) * w + x) * 3 + c] =
            static_cast<std::uint8_t>(std::clamp(std::lround(v), 0L, 255L));
      }
    }
  }
  return im;
}

TEST(Degrade, SameSeedSameBytesOtherSeedOtherBytes) {
  const RgbImage hr = scene(96, 64);
  for (const DegradeRecipe& r : degrade_recipes()) {
    const RgbImage a = degrade_named(hr, 4, r.name, 11);
    const RgbImage b = degrade_named(hr, 4, r.name, 11);
    EXPECT_EQ(a.width, 24) << r.name;
    EXPECT_EQ(a.height, 16) << r.name;
    EXPECT_EQ(a.pixels, b.pixels) << r.name;
  }
  // Recipes with random steps give other bytes for another seed.
  for (const char* name : {"light", "medium", "heavy", "real"}) {
    EXPECT_NE(degrade_named(hr, 4, name, 11).pixels, degrade_named(hr, 4, name, 12).pixels) << name;
  }
}

TEST(Degrade, BicubicRecipeIsTheProtocol) {
  const RgbImage hr = scene(64, 48);
  EXPECT_EQ(degrade_named(hr, 4, "bicubic", 5).pixels, degrade_bicubic(hr, 4).pixels);
}

TEST(Degrade, HeavierRecipesLoseMore) {
  // Mean PSNR of the degraded LR against the protocol's clean LR, over a few seeds.
  const RgbImage hr = scene(128, 128);
  const RgbImage clean = degrade_bicubic(hr, 4);
  auto loss = [&](const char* name) {
    double sum = 0;
    for (std::uint64_t s = 1; s <= 6; ++s) sum += psnr_y(clean, degrade_named(hr, 4, name, s), 0);
    return sum / 6;
  };
  const double light = loss("light"), medium = loss("medium"), heavy = loss("heavy");
  EXPECT_GT(light, medium + 1.0);
  EXPECT_GT(medium, heavy + 1.0);
  EXPECT_GT(light, 28.0);
}

TEST(Degrade, WithoutAntialiasingStripesAlias) {
  // 1-pixel stripes shrunk 3x: antialiasing averages them towards grey; without it each output
  // pixel copies one input pixel, and the stripes come back at full contrast (aliased).
  RgbImage hr{48, 6, std::vector<std::uint8_t>(48 * 6 * 3)};
  for (int y = 0; y < 6; ++y) {
    for (int x = 0; x < 48; ++x) {
      for (int c = 0; c < 3; ++c) {
        hr.pixels[(static_cast<std::size_t>(y) * 48 + x) * 3 + c] = x % 2 != 0 ? 200 : 40;
      }
    }
  }
  auto spread = [](const RgbImage& im) {
    int lo = 255, hi = 0;
    for (std::uint8_t v : im.pixels) {
      lo = std::min<int>(lo, v);
      hi = std::max<int>(hi, v);
    }
    return hi - lo;
  };
  EXPECT_LE(spread(resize_rgb(hr, 16, 2, 0, true)), 60);    // area: 2 of one, 1 of the other
  EXPECT_GE(spread(resize_rgb(hr, 16, 2, 1, false)), 155);  // bilinear, point sampled
  EXPECT_GE(spread(resize_rgb(hr, 16, 2, 2, false)), 155);  // bicubic, point sampled
}

TEST(Degrade, StepsChangePixelsAsExpected) {
  const RgbImage hr = scene(64, 64);
  const RgbImage wide = gaussian_blur(hr, 2.0, 2.0, 0.0);
  const RgbImage narrow = gaussian_blur(hr, 0.5, 0.5, 0.0);
  EXPECT_LT(psnr_y(hr, wide, 0), psnr_y(hr, narrow, 0));
  EXPECT_LT(psnr_y(hr, defocus_blur(hr, 2.5), 0), psnr_y(hr, defocus_blur(hr, 1.0), 0));
  // JPEG: quality 20 loses more than 90.
  EXPECT_LT(psnr_y(hr, jpeg_roundtrip(hr, 20), 0), psnr_y(hr, jpeg_roundtrip(hr, 90), 0));
  // Gaussian noise of sigma 10 on mid-grey: PSNR near 20 log10(255 / (10 * Y weight)).
  std::mt19937_64 rng(3);
  RgbImage grey{64, 64, std::vector<std::uint8_t>(64 * 64 * 3, 128)};
  const double p = psnr_y(grey, gaussian_noise(grey, 10.0, true, rng), 0);
  EXPECT_NEAR(p, 20 * std::log10(255.0 / (10.0 * 219.0 / 255.0)), 0.5);
  // Shot noise grows with brightness.
  RgbImage dark{64, 64, std::vector<std::uint8_t>(64 * 64 * 3, 40)};
  RgbImage bright{64, 64, std::vector<std::uint8_t>(64 * 64 * 3, 220)};
  EXPECT_GT(psnr_y(dark, poisson_noise(dark, 100, false, rng), 0),
            psnr_y(bright, poisson_noise(bright, 100, false, rng), 0) + 3.0);
}

TEST(Degrade, UnknownRecipeAndBadSizesAreUsageErrors) {
  try {
    (void)degrade_recipe("medum");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_NE(std::string(e.what()).find("'medum' is not a degradation recipe"), std::string::npos)
        << e.what();
    EXPECT_NE(e.hint().find("bicubic, aliased, light, medium, heavy, real, train"),
              std::string::npos)
        << e.hint();
  }
  EXPECT_THROW(degrade_named(scene(30, 32), 4, "light", 1), Error);
}

TEST(Degrade, SeedsDependOnTheImageName) {
  EXPECT_EQ(degrade_seed(1, "baby.png"), degrade_seed(1, "baby.png"));
  EXPECT_NE(degrade_seed(1, "baby.png"), degrade_seed(1, "bird.png"));
  EXPECT_NE(degrade_seed(1, "baby.png"), degrade_seed(2, "baby.png"));
}

}  // namespace
}  // namespace hires
