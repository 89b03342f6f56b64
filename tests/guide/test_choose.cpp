// The content-aware default (choose_model): the restore model for a compressed copy, the photo
// model for a clean one, nearest for pixel art; and the CLI's --restore and its errors.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include <vips/vips8>

#include "guide/guide_cases.hpp"
#include "hires/degrade.hpp"
#include "hires/guide.hpp"
#include "hires/models.hpp"
#include "hires/pipeline.hpp"
#include "io/io.hpp"
#include "support/test_support.hpp"

namespace hires::test {
namespace {

namespace fs = std::filesystem;

RgbImage to_rgb(const Pixels& p) {
  RgbImage im{p.width, p.height, std::vector<std::uint8_t>(p.data.size())};
  for (std::size_t i = 0; i < p.data.size(); ++i) {
    im.pixels[i] = static_cast<std::uint8_t>(std::lround(std::clamp(p.data[i], 0.0F, 1.0F) * 255));
  }
  return im;
}

Pixels to_pixels(const RgbImage& im) {
  Pixels p(im.width, im.height, 3);
  for (std::size_t i = 0; i < im.pixels.size(); ++i) p.data[i] = im.pixels[i] / 255.0F;
  return p;
}

// A clean picture: soft-edged discs over smooth gradients and coarse texture, drawn at 4x and
// shrunk with antialiasing (as the eval protocol makes a clean input).
RgbImage clean_picture(int w, int h) {
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> u(0.0F, 1.0F);
  const int W = w * 4, H = h * 4;
  guide::Plane tex(W, H);
  for (auto& v : tex.v) v = u(rng) - 0.5F;
  tex = guide::gauss_blur(tex, 2.5);
  Pixels p(W, H, 3);
  for (int y = 0; y < H; ++y) {
    for (int x = 0; x < W; ++x) {
      const float t = 0.3F + 0.4F * x / W + 3.0F * tex(x, y);
      for (int c = 0; c < 3; ++c) p.at(x, y, c) = t * (0.6F + 0.2F * c);
    }
  }
  for (int k = 0; k < 12; ++k) {
    const float cx = u(rng) * W, cy = u(rng) * H, r = 20 + u(rng) * W / 5.0F;
    const float col[3] = {u(rng), u(rng), u(rng)};
    for (int y = 0; y < H; ++y) {
      for (int x = 0; x < W; ++x) {
        const float a = std::clamp(r - std::hypot(x - cx, y - cy), 0.0F, 1.0F);
        for (int c = 0; c < 3; ++c) p.at(x, y, c) = (1 - a) * p.at(x, y, c) + a * col[c];
      }
    }
  }
  return degrade_bicubic(to_rgb(p), 4);
}

// A 32x32 sprite: 4x4 cells of 16 flat colours.
Pixels pixel_art() {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> pick(0, 15);
  Pixels p(32, 32, 3);
  for (int cy = 0; cy < 8; ++cy) {
    for (int cx = 0; cx < 8; ++cx) {
      const int k = pick(rng);
      const float col[3] = {(k % 4) / 3.0F, ((k / 4) % 4) / 3.0F, (k % 3) / 2.0F};
      for (int y = 0; y < 4; ++y) {
        for (int x = 0; x < 4; ++x) {
          for (int c = 0; c < 3; ++c) p.at(cx * 4 + x, cy * 4 + y, c) = col[c];
        }
      }
    }
  }
  return p;
}

bool have_restore_models() {
  for (const ModelInfo& m : builtin_models()) {
    if (m.name == "restore-x4") return true;
  }
  return false;
}

TEST(Choose, JpegCopyGetsTheRestoreModelAndACleanOneThePhotoModel) {
  if (!have_restore_models()) GTEST_SKIP() << "no built-in restore models in this build";
  const Pixels clean = to_pixels(clean_picture(256, 256));
  const ModelChoice c = choose_model(measure(clean), 4.0);
  EXPECT_EQ(c.model, "photo-x4") << c.reason;
  EXPECT_EQ(c.restore, 0.0);
  EXPECT_EQ(choose_model(measure(clean), 2.0).model, "photo-x2");

  const Pixels q20 = to_pixels(jpeg_roundtrip(to_rgb(clean), 20));
  const ModelChoice j = choose_model(measure(q20), 4.0);
  EXPECT_EQ(j.model, "restore-x4") << j.reason;
  EXPECT_GE(j.restore, 0.5) << j.reason;
  EXPECT_NE(j.reason.find("JPEG blocks"), std::string::npos) << j.reason;
  EXPECT_EQ(choose_model(measure(q20), 2.0).model, "restore-x2");

  // check recommends what upscale runs.
  const CheckResult r = check_pixels(q20, {});
  EXPECT_EQ(r.recommendation.model, "restore-x4");
  EXPECT_EQ(r.recommendation.restore, j.restore);
  EXPECT_EQ(r.recommendation.reason, j.reason);
}

TEST(Choose, PixelArtGetsNearestUnlessRestorationIsAsked) {
  const Pixels art = pixel_art();
  const ModelChoice c = choose_model(measure(art), 4.0);
  EXPECT_EQ(c.model, "nearest") << c.reason;
  EXPECT_NE(c.reason.find("pixel art"), std::string::npos) << c.reason;
  // A photo is never pixel art, nor is the README sample (a drawn scene with soft edges).
  EXPECT_NE(choose_model(measure(scene(64, 64)), 4.0).model, "nearest");
  if (!have_restore_models()) return;
  const ModelChoice forced = choose_model(measure(art), 4.0, 0.5);
  EXPECT_EQ(forced.model, "restore-x4");
  EXPECT_EQ(forced.restore, 0.5);
}

TEST(Choose, StrengthZeroIsThePhotoModelExactly) {
  if (!have_restore_models()) GTEST_SKIP() << "no built-in restore models in this build";
  EXPECT_EQ(model_info(*load_builtin_blend("photo-x4", "restore-x4", 0.0)).name, "photo-x4");
  EXPECT_EQ(model_info(*load_builtin_blend("photo-x4", "restore-x4", 1.0)).name, "restore-x4");
  EXPECT_EQ(model_info(*load_builtin_blend("photo-x4", "restore-x4", 0.3)).name, "restore-x4@0.30");
  EXPECT_THROW(load_builtin_blend("photo-x4", "restore-x4", 1.5), Error);
  EXPECT_THROW(load_builtin_blend("photo-x4", "no-such", 0.5), Error);
}

// ---- the CLI ------------------------------------------------------------------------------------

fs::path write_scene(const TempDir& dir, const char* name, int quality) {
  init_vips();
  const RgbImage im = clean_picture(128, 96);
  const fs::path p = dir / name;
  vips::VImage v =
      vips::VImage::new_from_memory(const_cast<std::uint8_t*>(im.pixels.data()), im.pixels.size(),
                                    im.width, im.height, 3, VIPS_FORMAT_UCHAR);
  if (quality > 0) {
    v.jpegsave(p.c_str(), vips::VImage::option()->set("Q", quality));
  } else {
    v.pngsave(p.c_str());
  }
  return p;
}

TEST(RestoreCli, ZeroEqualsThePhotoModelAndTheChoiceIsReported) {
  if (!have_restore_models()) GTEST_SKIP() << "no built-in restore models in this build";
  TempDir dir;
  const fs::path in = write_scene(dir, "in.png", 0);
  const auto a =
      run_hires({in.string(), "-o", (dir / "r0.png").string(), "--restore", "0", "--json"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(test::json_event(a.out, "done")["model"], "photo-x4");
  const auto b = run_hires({in.string(), "-o", (dir / "p.png").string(), "-m", "photo-x4"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const vips::VImage ra = load(dir / "r0.png"), pb = load(dir / "p.png");
  EXPECT_EQ((ra.cast(VIPS_FORMAT_INT) - pb.cast(VIPS_FORMAT_INT)).abs().max(), 0.0);

  // Strength 1 cleans up: another image, named as the restore model.
  const auto c =
      run_hires({in.string(), "-o", (dir / "r1.png").string(), "--restore", "1", "--json"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(test::json_event(c.out, "done")["model"], "restore-x4");
  EXPECT_GT((load(dir / "r1.png").cast(VIPS_FORMAT_INT) - pb.cast(VIPS_FORMAT_INT)).abs().max(),
            0.0);
  const auto m = run_hires({in.string(), "-o", (dir / "m.png").string(), "-m", "restore-x4",
                            "--restore", "0.5", "--json"});
  ASSERT_EQ(m.exit_code, 0) << m.err;
  EXPECT_EQ(test::json_event(m.out, "done")["model"], "restore-x4@0.50");

  // Without -m: a JPEG-q15 copy gets the restore model, and -v and --json say why.
  const fs::path jpg = write_scene(dir, "old.jpg", 15);
  const auto v = run_hires({jpg.string(), "-o", (dir / "old.png").string(), "-v"});
  ASSERT_EQ(v.exit_code, 0) << v.err;
  EXPECT_NE(v.err.find("hires: model: restore-x4"), std::string::npos) << v.err;
  EXPECT_NE(v.err.find("JPEG blocks"), std::string::npos) << v.err;
  const auto cl = run_hires({in.string(), "-o", (dir / "clean.png").string(), "--json"});
  ASSERT_EQ(cl.exit_code, 0) << cl.err;
  EXPECT_EQ(test::json_event(cl.out, "done")["model"], "photo-x4");
  EXPECT_EQ(test::json_event(cl.out, "done")["reason"], "clean image: the photo model");
}

TEST(Choose, JpegQualityIsReadFromTheFile) {
  TempDir dir;
  for (const int q : {20, 50, 75, 95}) {
    const std::string name = fmt::format("q{}.jpg", q);
    const fs::path p = write_scene(dir, name.c_str(), q);
    EXPECT_NEAR(io::estimate_jpeg_quality(p), q, 1) << q;
  }
  EXPECT_EQ(io::estimate_jpeg_quality(write_scene(dir, "p.png", 0)), 0);
  EXPECT_EQ(io::estimate_jpeg_quality(dir / "missing.jpg"), 0);
  // A file saved at quality 60 asks for clean-up even where its pixels hide the blocks.
  Measures m;
  m.fine_detail = 1.1;
  m.jpeg_grid = 1.1;
  m.jpeg_quality = 60;
  EXPECT_GE(restore_strength(m), 0.8);
  m.jpeg_quality = 95;
  EXPECT_EQ(restore_strength(m), 0.0);
}

TEST(RestoreCli, StrengthOutsideZeroToOneIsAUsageErrorNamingTheValue) {
  TempDir dir;
  const fs::path in = write_scene(dir, "in.png", 0);
  for (const char* bad : {"1.5", "-0.1", "abc", "nan"}) {
    const auto r = run_hires({in.string(), "-o", (dir / "x.png").string(), "--restore", bad});
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_NE(r.err.find(std::string("hires: error: --restore: '") + bad +
                         "' is not a strength from 0 to 1"),
              std::string::npos)
        << r.err;
    EXPECT_FALSE(fs::exists(dir / "x.png"));
  }
  const auto m =
      run_hires({in.string(), "-o", (dir / "x.png").string(), "-m", "lanczos", "--restore", "0.5"});
  EXPECT_EQ(m.exit_code, 2);
  EXPECT_NE(m.err.find("--restore: works with the built-in restore models, not 'lanczos'"),
            std::string::npos)
      << m.err;
}

TEST(RestoreCli, EvalDegradeNamesAnUnknownRecipe) {
  TempDir dir;
  (void)write_scene(dir, "in.png", 0);
  const auto r = run_hires({"eval", dir.path().string(), "--degrade", "medum"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("'medum' is not a degradation recipe"), std::string::npos) << r.err;
  const auto ok =
      run_hires({"eval", dir.path().string(), "--degrade", "medium", "--json", "-m", "bicubic"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("\"degrade\":\"medium\""), std::string::npos) << ok.out;
}

}  // namespace
}  // namespace hires::test
