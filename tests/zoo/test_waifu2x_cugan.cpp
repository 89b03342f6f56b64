// waifu2x (cunet, upconv_7) and Real-CUGAN ncnn models: a tiny Real-CUGAN against outputs that an
// independent PyTorch implementation computed (tools/make_cugan_fixture.py), and every real model
// in ../shared against bicubic on a Manga109 crop.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include "engine/backend.hpp"
#include "engine/tiler.hpp"
#include "hires/eval.hpp"
#include "models/formats/safetensors.hpp"
#include "models/model.hpp"
#include "support/tensor_helpers.hpp"
#include "support/test_support.hpp"

namespace hires {
namespace {

namespace fs = std::filesystem;
using engine::OpType;

using namespace test;  // kZoo and the fixture helpers (support/tensor_helpers.hpp)

class TinyCugan : public ::testing::TestWithParam<int> {};

TEST_P(TinyCugan, MatchesPyTorch) {
  const int scale = GetParam();
  const std::string stem = fmt::format("realcugan_tiny_x{}", scale);
  const auto model = load_model_file(kZoo / (stem + ".param"));
  const ModelInfo& info = model->info();
  EXPECT_EQ(info.architecture, "realcugan");
  EXPECT_EQ(info.name, stem);  // already says what it is: no "realcugan-" prefix added
  EXPECT_EQ(info.scale, scale);
  const engine::Graph& g = model->graph();
  // The reader puts the reflect pre-padding in front (18 px for 2x, 19 px for 4x), and for 4x the
  // nearest-neighbour skip from the input at the end.
  ASSERT_FALSE(g.nodes.empty());
  EXPECT_EQ(g.nodes.front().type, OpType::pad);
  EXPECT_EQ(g.nodes.front().top, scale == 2 ? 18 : 19);
  EXPECT_EQ(g.nodes.front().pad_mode, engine::PadMode::reflect);
  EXPECT_EQ(count(g, OpType::upsample_nearest), scale == 4 ? 1 : 0);
  EXPECT_EQ(count(g, OpType::deconv2d), 4);  // UNet1 up and bottom, UNet2 two ups
  EXPECT_EQ(count(g, OpType::global_avg_pool), 4);
  EXPECT_EQ(g.size_multiple, 2);
  EXPECT_GE(g.receptive_radius, scale == 2 ? 19 : 20);
  EXPECT_EQ(g.receptive_radius % 2, 0);
  EXPECT_TRUE(engine::has_global_context(g));

  const models::SafeTensors io = models::load_safetensors(kZoo / (stem + ".io.safetensors"));
  const engine::Tensor input = to_tensor(io.get("input"));
  const engine::Tensor want = to_tensor(io.get("output"));
  for (const char* backend : {"reference", "cpu"}) {
    auto be = engine::make_backend(backend, g, {});
    const engine::Tensor got = be->run(input);
    ASSERT_NO_FATAL_FAILURE(test::expect_matches(got, want, stem, backend));
  }
}

INSTANTIATE_TEST_SUITE_P(Zoo, TinyCugan, ::testing::Values(2, 4));

engine::Tensor smooth_pattern(int c, int h, int w) {
  engine::Tensor in(c, h, w);
  for (int ch = 0; ch < c; ++ch)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        in.at(ch, y, x) = 0.5F + 0.4F * std::sin(0.3F * static_cast<float>(x + 2 * ch)) *
                                     std::cos(0.23F * static_cast<float>(y) + 0.1F * x);
      }
  return in;
}

TEST(TinyCugan, TilesShareGlobalMeans) {
  const auto model = load_model_file(kZoo / "realcugan_tiny_x2.param");
  // The random tiny net's SE blocks barely change anything: make them strong (their 1x1
  // convolutions x8) so that the means matter.
  engine::Graph g = model->graph();
  for (auto& n : g.nodes) {
    if (n.type == OpType::conv2d && n.kernel == 1) {
      for (float& w : n.weight) w *= 8.0F;
    }
  }
  auto backend = engine::make_backend("cpu", g, {});
  // Dark and flat on the left, bright and busy on the right: tile-local means differ.
  engine::Tensor in = smooth_pattern(3, 40, 112);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < in.h; ++y)
      for (int x = 0; x < in.w; ++x) {
        if (x < 40) in.at(c, y, x) = 0.05F;
        if (x >= 72) in.at(c, y, x) = ((x * 7 + y * 13 + c * 5) % 11) / 10.0F;
      }
  const engine::Tensor whole = backend->run(in);
  const auto whole_means = backend->last_global_means();
  ASSERT_EQ(whole_means.size(), 4U);

  engine::TilePlan plan = engine::plan_tiles(g, 32, 1ULL << 30, in.w);
  ASSERT_TRUE(engine::needs_global_means(g, plan, in.w, in.h));
  // Tile-local means: the output depends on the tiling.
  const double local = max_abs_diff(whole, run_tiled(g, *backend, plan, in));
  // Means shared by every tile: with the whole image's own means the tiles give exactly the
  // whole-image output; with the first-pass estimate, closer than tile-local means.
  plan.global_means = std::make_shared<const std::map<int, engine::Tensor>>(whole_means);
  EXPECT_LT(max_abs_diff(whole, run_tiled(g, *backend, plan, in)), 1e-4);
  const engine::ReadFn read = [&](const core::Rect& r) {
    engine::Tensor t(3, r.height, r.width);
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < r.height; ++y)
        for (int x = 0; x < r.width; ++x) t.at(c, y, x) = in.at(c, r.top + y, r.left + x);
    return t;
  };
  plan.global_means = engine::estimate_global_means(g, *backend, plan, in.w, in.h, read);
  ASSERT_EQ(plan.global_means->size(), 4U);
  const double shared = max_abs_diff(whole, run_tiled(g, *backend, plan, in));
  std::cout << fmt::format("tile 32: max error {:.3g} with tile-local means, {:.3g} shared\n",
                           local, shared);
  EXPECT_LT(shared, local);
}

TEST(TinyCugan, CliTilesCloseToTheWholeImage) {
  // Through `hires`: the libvips path's first pass over the tiles (input held in memory).
  test::TempDir dir;
  test::init_vips();
  const fs::path in = dir / "in.png";
  test::pattern_image(112, 48, 3, false).pngsave(in.c_str());
  const std::string m = (kZoo / "realcugan_tiny_x2.param").string();
  auto r = test::run_hires({in.string(), "-m", m, "-s", "2", "-o", (dir / "whole.png").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = test::run_hires(
      {in.string(), "-m", m, "-s", "2", "--tile", "32", "-o", (dir / "tiled.png").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const vips::VImage whole = test::load(dir / "whole.png");
  const vips::VImage tiled = test::load(dir / "tiled.png");
  ASSERT_EQ(tiled.width(), 224);
  ASSERT_EQ(tiled.height(), 96);
  const double psnr = test::psnr(whole, tiled);
  std::cout << fmt::format("tiles of 32 vs whole image: {:.1f} dB\n", psnr);
  EXPECT_GT(psnr, 40.0);
}

TEST(TinyCugan, WholeImageTileIsExact) {
  // With tiles at least as large as the image, the tiler runs the net once on the whole image.
  const auto model = load_model_file(kZoo / "realcugan_tiny_x2.param");
  const engine::Graph& g = model->graph();
  const engine::TilePlan plan = engine::plan_tiles(g, 0, 1ULL << 30, 40, 40);
  EXPECT_GE(plan.tile, 40);
  EXPECT_GE(plan.band, 40);
  EXPECT_FALSE(engine::needs_global_means(g, plan, 40, 40));
  EXPECT_EQ(plan.tile % 2, 0);
  EXPECT_EQ(plan.band % 2, 0);
}

// ---- the real models in ../shared --------------------------------------------------------------

struct Real {
  const char* file;  // under ../shared/models
  const char* name;
  const char* architecture;
  int scale;
};

const Real kReal[] = {
    {"waifu2x-ncnn/upconv7-photo/scale2.0x_model.param", "waifu2x-upconv7-photo-x2",
     "waifu2x-upconv7", 2},
    {"waifu2x-ncnn/upconv7-photo/noise0_scale2.0x_model.param", "waifu2x-upconv7-photo-noise0-x2",
     "waifu2x-upconv7", 2},
    {"waifu2x-ncnn/upconv7-photo/noise1_scale2.0x_model.param", "waifu2x-upconv7-photo-noise1-x2",
     "waifu2x-upconv7", 2},
    {"waifu2x-ncnn/upconv7-photo/noise2_scale2.0x_model.param", "waifu2x-upconv7-photo-noise2-x2",
     "waifu2x-upconv7", 2},
    {"waifu2x-ncnn/upconv7-photo/noise3_scale2.0x_model.param", "waifu2x-upconv7-photo-noise3-x2",
     "waifu2x-upconv7", 2},
    {"waifu2x-ncnn/noise1_scale2.0x_model.param", "waifu2x-cunet-noise1-x2", "waifu2x-cunet", 2},
    {"realcugan-ncnn/up2x-conservative.param", "realcugan-up2x-conservative", "realcugan", 2},
    {"realcugan-ncnn/up4x-conservative.param", "realcugan-up4x-conservative", "realcugan", 4},
};

void PrintTo(const Real& r, std::ostream* os) {
  *os << r.name;
}

class RealZoo : public ::testing::TestWithParam<Real> {};

// A 192x192 crop of a Manga109 page (line art and screen tone), as in docs/QUALITY.md.
RgbImage manga_crop(const fs::path& dataset) {
  const RgbImage page = read_rgb(dataset / "LoveHina_vol01.png");
  constexpr int kLeft = 300;
  constexpr int kTop = 500;
  constexpr int kSide = 192;
  RgbImage hr;
  hr.width = kSide;
  hr.height = kSide;
  hr.pixels.resize(static_cast<std::size_t>(kSide) * kSide * 3);
  for (int y = 0; y < kSide; ++y) {
    std::copy_n(
        page.pixels.begin() + ((static_cast<std::ptrdiff_t>(kTop + y) * page.width) + kLeft) * 3,
        kSide * 3, hr.pixels.begin() + static_cast<std::ptrdiff_t>(y) * kSide * 3);
  }
  return hr;
}

TEST_P(RealZoo, NamedAndBeatsBicubicOnManga109) {
  const Real& r = GetParam();
  HIRES_REQUIRE_SHARED(file, std::string("models/") + r.file);
  HIRES_REQUIRE_SHARED(manga, "datasets/bench/Manga109");
  const auto model = load_model_file(file);
  EXPECT_EQ(model->info().name, r.name);
  EXPECT_EQ(model->info().architecture, r.architecture);
  EXPECT_EQ(model->info().scale, r.scale);

  const RgbImage hr = manga_crop(manga);
  const RgbImage lr = degrade_bicubic(hr, r.scale);
  EvalOptions bicubic;
  bicubic.scale = r.scale;
  bicubic.method = "bicubic";
  EvalOptions net = bicubic;
  net.method = file.string();
  const double base = psnr_y(hr, upscale_for_eval(lr, r.scale, bicubic), r.scale);
  const auto t0 = std::chrono::steady_clock::now();
  const RgbImage up = upscale_for_eval(lr, r.scale, net);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double got = psnr_y(hr, up, r.scale);
  std::cout << fmt::format("{} x{}: PSNR-Y {:.2f} dB, bicubic {:.2f} dB ({:.2f} s)\n", r.name,
                           r.scale, got, base, seconds);
  RecordProperty("psnr_y", fmt::format("{:.3f}", got));
  RecordProperty("bicubic_psnr_y", fmt::format("{:.3f}", base));
  EXPECT_GT(got, base) << r.name;
}

INSTANTIATE_TEST_SUITE_P(Shared, RealZoo, ::testing::ValuesIn(kReal),
                         [](const ::testing::TestParamInfo<Real>& i) {
                           std::string n = i.param.name;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(RealZoo, TilesMatchTheWholeImageWithoutSe) {
  // upconv_7 has no global pooling: tiles with the receptive radius of context give the same
  // output as one run on the whole image (including the reflect pre-padding at the edges).
  HIRES_REQUIRE_SHARED(file, "models/waifu2x-ncnn/upconv7-photo/noise1_scale2.0x_model.param");
  const auto model = load_model_file(file);
  const engine::Graph& g = model->graph();
  EXPECT_FALSE(engine::has_global_context(g));
  EXPECT_GE(g.receptive_radius, 8);
  engine::Tensor in(3, 50, 70);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < in.h; ++y)
      for (int x = 0; x < in.w; ++x) {
        in.at(c, y, x) = 0.5F + 0.4F * std::sin(0.3F * static_cast<float>(x + 2 * c)) *
                                    std::cos(0.23F * static_cast<float>(y));
      }
  const auto made = engine::make_backend(BackendKind::cpu, model->graph(), {});
  engine::Backend& backend = *made;
  const engine::Tensor whole = backend.run(in);
  ASSERT_EQ(whole.h, 100);
  ASSERT_EQ(whole.w, 140);
  const engine::TilePlan plan = engine::plan_tiles(g, 32, 1ULL << 30, in.w);
  engine::Tensor tiled(3, whole.h, whole.w);
  for (int y0 = 0; y0 < in.h; y0 += plan.band) {
    const int y1 = std::min(in.h, y0 + plan.band);
    engine::run_band(
        g, backend, plan, in.w, in.h, y0, y1,
        [&](const core::Rect& r) {
          engine::Tensor t(3, r.height, r.width);
          for (int c = 0; c < 3; ++c)
            for (int y = 0; y < r.height; ++y)
              for (int x = 0; x < r.width; ++x) t.at(c, y, x) = in.at(c, r.top + y, r.left + x);
          return t;
        },
        [&](const engine::Tensor& t, int sy, int sx, int rows, int cols, int dx) {
          for (int c = 0; c < 3; ++c)
            for (int y = 0; y < rows; ++y)
              for (int x = 0; x < cols; ++x) {
                tiled.at(c, y0 * 2 + y, dx + x) = t.at(c, sy + y, sx + x);
              }
        });
  }
  EXPECT_LT(max_abs_diff(whole, tiled), 1e-4);
}

}  // namespace
}  // namespace hires
