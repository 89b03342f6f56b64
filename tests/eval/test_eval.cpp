// hires eval: PSNR/SSIM on Y against closed-form values, the protocol's degradation, the loop
// over a folder, the published bicubic baseline on Set5 and the CLI.
#include <gtest/gtest.h>
#include <cmath>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "hires/error.hpp"
#include "hires/eval.hpp"
#include "support/test_support.hpp"

namespace hires {
namespace {

using test::TempDir;
namespace fs = std::filesystem;

RgbImage random_image(int w, int h, unsigned seed, int lo = 20, int hi = 235) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  RgbImage im{w, h, std::vector<std::uint8_t>(static_cast<std::size_t>(w) * h * 3)};
  for (auto& p : im.pixels) p = static_cast<std::uint8_t>(d(rng));
  return im;
}

RgbImage constant_image(int w, int h, std::uint8_t v) {
  return {w, h, std::vector<std::uint8_t>(static_cast<std::size_t>(w) * h * 3, v)};
}

// Adds +d or -d (checkerboard) to all three channels: Y moves by d * 219 / 255 everywhere.
RgbImage checker_offset(const RgbImage& a, int d) {
  RgbImage b = a;
  for (int y = 0; y < a.height; ++y) {
    for (int x = 0; x < a.width; ++x) {
      for (int c = 0; c < 3; ++c) {
        auto& p = b.pixels[(static_cast<std::size_t>(y) * a.width + x) * 3 + c];
        p = static_cast<std::uint8_t>(p + ((x + y) % 2 == 0 ? d : -d));
      }
    }
  }
  return b;
}

TEST(EvalMetrics, IdenticalImagesGiveTheCapAndSsimOne) {
  const RgbImage a = random_image(40, 30, 1);
  EXPECT_EQ(psnr_y(a, a, 0), kMaxPsnr);
  EXPECT_NEAR(ssim_y(a, a, 0), 1.0, 1e-12);
}

TEST(EvalMetrics, KnownNoiseGivesTheClosedFormPsnr) {
  const RgbImage a = random_image(64, 48, 2);
  for (int d : {1, 3, 10}) {
    const double dy = d * 219.0 / 255.0;
    const double expected = 10.0 * std::log10(255.0 * 255.0 / (dy * dy));
    EXPECT_NEAR(psnr_y(a, checker_offset(a, d), 0), expected, 0.01) << "d = " << d;
  }
}

TEST(EvalMetrics, ConstantImagesGiveTheClosedFormSsim) {
  // No variance: SSIM = (2 m1 m2 + C1) / (m1^2 + m2^2 + C1) on Y.
  const auto y = [](double v) { return 16.0 + 219.0 * v / 255.0; };
  const double m1 = y(100), m2 = y(140), c1 = (0.01 * 255) * (0.01 * 255);
  const double expected = (2 * m1 * m2 + c1) / (m1 * m1 + m2 * m2 + c1);
  EXPECT_NEAR(ssim_y(constant_image(20, 20, 100), constant_image(20, 20, 140), 0), expected, 1e-9);
}

TEST(EvalMetrics, SsimFallsWithMoreNoise) {
  const RgbImage a = random_image(48, 48, 3, 60, 190);
  const double small = ssim_y(a, checker_offset(a, 2), 0);
  const double large = ssim_y(a, checker_offset(a, 30), 0);
  EXPECT_LT(small, 1.0);
  EXPECT_LT(large, small);
}

TEST(EvalMetrics, TheBorderIsLeftOut) {
  const RgbImage a = random_image(32, 32, 4);
  RgbImage b = a;
  for (int x = 0; x < 32; ++x) {
    for (int y : {0, 3, 28, 31}) b.pixels[(static_cast<std::size_t>(y) * 32 + x) * 3] ^= 0x55;
  }
  for (int y = 0; y < 32; ++y) b.pixels[(static_cast<std::size_t>(y) * 32 + 2) * 3 + 1] ^= 0x33;
  EXPECT_LT(psnr_y(a, b, 0), 40.0);
  EXPECT_LT(psnr_y(a, b, 3), 40.0);
  EXPECT_EQ(psnr_y(a, b, 4), kMaxPsnr);
}

TEST(EvalMetrics, MismatchedSizesAreRefused) {
  EXPECT_THROW((void)psnr_y(random_image(10, 10, 5), random_image(10, 11, 5), 0), Error);
  EXPECT_THROW((void)ssim_y(random_image(12, 12, 5), random_image(12, 12, 5), 1), Error);
}

TEST(EvalProtocol, CropAndDegradeKeepSizesAndConstants) {
  const RgbImage hr = crop_to_multiple(random_image(43, 30, 6), 4);
  EXPECT_EQ(hr.width, 40);
  EXPECT_EQ(hr.height, 28);
  const RgbImage lr = degrade_bicubic(hr, 4);
  EXPECT_EQ(lr.width, 10);
  EXPECT_EQ(lr.height, 7);
  const RgbImage flat = degrade_bicubic(constant_image(16, 8, 77), 4);
  for (auto p : flat.pixels) EXPECT_EQ(p, 77);
  EXPECT_THROW((void)degrade_bicubic(random_image(10, 8, 7), 4), Error);
}

TEST(EvalProtocol, AntialiasingAveragesFineDetail) {
  // A one-pixel checkerboard shrunk 4x becomes flat grey with the widened kernel.
  RgbImage hr = constant_image(32, 32, 0);
  for (int y = 0; y < 32; ++y) {
    for (int x = 0; x < 32; ++x) {
      if ((x + y) % 2 == 0) {
        for (int c = 0; c < 3; ++c) hr.pixels[(static_cast<std::size_t>(y) * 32 + x) * 3 + c] = 200;
      }
    }
  }
  const RgbImage lr = degrade_bicubic(hr, 4);
  for (auto p : lr.pixels) EXPECT_NEAR(p, 100, 2);
}

void write_folder(const fs::path& dir) {
  test::init_vips();
  write_rgb(dir / "a.png", constant_image(24, 20, 90));
  write_rgb(dir / "b.png", constant_image(21, 27, 180));
}

TEST(EvalLoop, FlatImagesComeBackExactly) {
  TempDir dir;
  write_folder(dir.path());
  EvalOptions o;
  o.scale = 2;
  std::size_t calls = 0;
  const EvalReport r = evaluate(dir.path(), o, [&](const EvalImage&, std::size_t i, std::size_t n) {
    EXPECT_EQ(i, calls++);
    EXPECT_EQ(n, 2U);
  });
  ASSERT_EQ(r.images.size(), 2U);
  EXPECT_EQ(r.images[1].size, (Size{20, 26}));
  EXPECT_EQ(r.mean_psnr, kMaxPsnr);
  EXPECT_NEAR(r.mean_ssim, 1.0, 1e-12);
  EXPECT_EQ(calls, 2U);
}

TEST(EvalLoop, SaveWritesEachUpscaledImage) {
  TempDir dir;
  write_folder(dir.path());
  EvalOptions o;
  o.scale = 2;
  o.method = "lanczos";
  o.save_dir = dir / "out";
  (void)evaluate(dir.path(), o, {});
  const RgbImage b = read_rgb(dir / "out" / "b-lanczos.png");
  EXPECT_EQ(b.width, 20);
  EXPECT_EQ(b.height, 26);
  EXPECT_TRUE(fs::exists(dir / "out" / "a-lanczos.png"));
}

TEST(EvalLoop, BicubicBeatsNearestOnSmoothContent) {
  TempDir dir;
  test::init_vips();
  test::pattern_image(64, 48, 3, false).pngsave((dir / "p.png").c_str());
  EvalOptions o;
  o.scale = 4;
  o.method = "nearest";
  const double nearest = evaluate(dir.path(), o, {}).mean_psnr;
  o.method = "bicubic";
  const double bicubic = evaluate(dir.path(), o, {}).mean_psnr;
  EXPECT_GT(bicubic, nearest + 1.0);
}

TEST(EvalLoop, ModelsRunAtTheirScaleOrThroughPasses) {
  TempDir dir;
  test::init_vips();
  test::pattern_image(40, 32, 3, false).pngsave((dir / "p.png").c_str());
  EvalOptions o;
  o.method = (fs::path(HIRES_SOURCE_DIR) / "tests/golden/srvgg_tiny_prelu_x2.safetensors").string();
  o.scale = 2;
  const EvalReport r2 = evaluate(dir.path(), o, {});
  EXPECT_EQ(r2.method, "srvgg-tiny-prelu-x2");
  EXPECT_GT(r2.mean_psnr, 0.0);
  EXPECT_LT(r2.mean_psnr, kMaxPsnr);
  o.scale = 4;  // two passes
  EXPECT_EQ(upscale_for_eval(degrade_bicubic(random_image(8, 8, 9), 4), 4, o).width, 8);
}

TEST(EvalLoop, BadRequestsAreUsageErrors) {
  TempDir dir;
  EvalOptions o;
  try {
    (void)evaluate(dir.path(), o, {});
    FAIL() << "an empty folder was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
  }
  write_folder(dir.path());
  o.method = "no-such-model";
  EXPECT_THROW((void)evaluate(dir.path(), o, {}), Error);
}

TEST(EvalBench, BicubicOnSet5MatchesThePublishedBaseline) {
  HIRES_REQUIRE_SHARED(set5, "datasets/bench/Set5");
  EvalOptions o;
  o.scale = 4;
  EXPECT_NEAR(evaluate(set5, o, {}).mean_psnr, 28.42, 0.05);  // MATLAB bicubic x4: 28.42
  o.scale = 2;
  EXPECT_NEAR(evaluate(set5, o, {}).mean_psnr, 33.66, 0.05);  // x2: 33.66
}

TEST(EvalCli, JsonGivesOneLinePerImageAndASummary) {
  TempDir dir;
  write_folder(dir.path());
  const auto r = test::run_hires({"eval", dir.path().string(), "-s", "2", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  int images = 0;
  nlohmann::json summary;
  while (std::getline(lines, line)) {
    const auto j = nlohmann::json::parse(line);
    if (j["event"] == "image") ++images;
    if (j["event"] == "summary") summary = j;
  }
  EXPECT_EQ(images, 2);
  EXPECT_EQ(summary["method"], "bicubic");
  EXPECT_EQ(summary["psnr"], kMaxPsnr);
  const auto bad = test::run_hires({"eval", dir.path().string(), "-m", "nope"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("nope"), std::string::npos);
}

}  // namespace
}  // namespace hires
