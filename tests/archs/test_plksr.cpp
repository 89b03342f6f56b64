// PLKSR and RealPLKSR (Lee and Yoo, 2024; neosr's RealPLKSR) from .pth and .safetensors against
// outputs of an independent PyTorch module (tools/make_arch_fixtures.py): every backend within
// 1e-4, the detected variant and scale of every fixture (RealPLKSR's DySample upsampler at x4 and
// x3, its LayerNorm blocks), errors naming the tensor, and tiling (exact for PLKSR; RealPLKSR's
// GroupNorm takes whole-image statistics).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "engine/backend.hpp"
#include "engine/tiler.hpp"
#include "hires/error.hpp"
#include "models/formats/pth_reader.hpp"
#include "models/formats/safetensors.hpp"
#include "models/model.hpp"
#include "models/plksr.hpp"
#include "support/tensor_helpers.hpp"

namespace hires {
namespace {

namespace fs = std::filesystem;
using engine::OpType;
using test::count;
using test::lookup_in;
using test::max_abs_diff;
using test::run_tiled;
using test::to_tensor;

const fs::path kArchs = fs::path(HIRES_SOURCE_DIR) / "tests" / "archs";

struct Fixture {
  const char* file;
  const char* io;
  const char* format;
  const char* architecture;
  int scale;
  int blocks;
  const char* variant;
};

void PrintTo(const Fixture& f, std::ostream* os) {
  *os << f.file;
}

class PlksrFixture : public ::testing::TestWithParam<Fixture> {};

TEST_P(PlksrFixture, EngineMatchesPyTorchWithin1e4) {
  const Fixture& f = GetParam();
  const auto model = load_model_file(kArchs / f.file);
  const ModelInfo& info = model->info();
  EXPECT_EQ(info.architecture, f.architecture);
  EXPECT_EQ(info.variant, f.variant);
  EXPECT_EQ(info.format, f.format);
  EXPECT_EQ(info.scale, f.scale);
  const engine::Graph& g = model->graph();
  const bool real = std::string(f.architecture) == "realplksr";
  const std::string variant = f.variant;
  const bool layer_norm = variant.find("LayerNorm") != std::string::npos;
  const bool dysample = variant.find("DySample") != std::string::npos;
  EXPECT_EQ(count(g, OpType::group_norm), real && !layer_norm ? f.blocks : 0);
  EXPECT_EQ(count(g, OpType::layer_norm), layer_norm ? f.blocks : 0);
  EXPECT_EQ(count(g, real ? OpType::mish : OpType::gelu), f.blocks);
  EXPECT_EQ(count(g, OpType::upsample_nearest), f.scale > 1 && !dysample ? 1 : 0);
  EXPECT_EQ(count(g, OpType::offset_sample), dysample ? 1 : 0);
  // Every backend: reference, cpu, and vulkan where a Vulkan device exists (lavapipe in CI).
  test::expect_fixture_output(g, kArchs, f.io, f.file);
}

INSTANTIATE_TEST_SUITE_P(
    Archs, PlksrFixture,
    ::testing::Values(Fixture{"plksr_tiny_x4.pth", "plksr_tiny_x4", "pth", "plksr", 4, 2,
                              "8dim, 2 blocks, 17x17 on 2, CCM"},
                      Fixture{"plksr_tiny_x4.safetensors", "plksr_tiny_x4", "safetensors", "plksr",
                              4, 2, "8dim, 2 blocks, 17x17 on 2, CCM"},
                      Fixture{"plksr_tiny_x2_dccm_noea.pth", "plksr_tiny_x2_dccm_noea", "pth",
                              "plksr", 2, 1, "8dim, 1 blocks, 9x9 on 4, DCCM, no EA"},
                      Fixture{"plksr_tiny_x3_iccm.pth", "plksr_tiny_x3_iccm", "pth", "plksr", 3, 1,
                              "6dim, 1 blocks, 13x13 on 6, ICCM"},
                      Fixture{"realplksr_tiny_x4.pth", "realplksr_tiny_x4", "pth", "realplksr", 4,
                              2, "8dim, 2 blocks, 17x17 on 2, DCCM, GroupNorm"},
                      Fixture{"realplksr_tiny_x4.safetensors", "realplksr_tiny_x4", "safetensors",
                              "realplksr", 4, 2, "8dim, 2 blocks, 17x17 on 2, DCCM, GroupNorm"},
                      Fixture{"realplksr_tiny_x1.pth", "realplksr_tiny_x1", "pth", "realplksr", 1,
                              1, "8dim, 1 blocks, 7x7 on 2, DCCM, GroupNorm"},
                      Fixture{"realplksr_tiny_x4_dysample.pth", "realplksr_tiny_x4_dysample", "pth",
                              "realplksr", 4, 1,
                              "8dim, 1 blocks, 9x9 on 2, DCCM, GroupNorm, DySample"},
                      Fixture{"realplksr_tiny_x3_dysample_layernorm.pth",
                              "realplksr_tiny_x3_dysample_layernorm", "pth", "realplksr", 3, 2,
                              "8dim, 2 blocks, 7x7 on 2, DCCM, LayerNorm, DySample"}));

std::string plksr_problem(const char* file,
                          const std::function<void(models::PthCheckpoint&)>& edit) {
  models::PthCheckpoint ck = models::load_pth(kArchs / file);
  edit(ck);
  const auto lookup = lookup_in(ck.tensors);
  try {
    const auto c = models::detect_plksr(lookup, "x.pth");
    if (!c) return "not detected";
    models::build_plksr(*c, lookup, "x.pth");
  } catch (const Error& e) {
    EXPECT_EQ(e.subject(), "model 'x.pth'");
    EXPECT_FALSE(e.hint().empty()) << e.what();
    return e.problem();
  }
  return "loaded";
}

TEST(Plksr, MismatchedTensorsAreNamed) {
  EXPECT_EQ(plksr_problem("plksr_tiny_x4.pth", [](auto&) {}), "loaded");
  EXPECT_EQ(plksr_problem(
                "plksr_tiny_x4.pth",
                [](auto& ck) {
                  ck.tensors["feats.2.lk.conv.weight"] = {{2, 2, 15, 15}, std::vector<float>(900)};
                }),
            "tensor 'feats.2.lk.conv.weight' is [2,2,15,15], expected [2,2,17,17]");
  EXPECT_EQ(plksr_problem("plksr_tiny_x4.pth",
                          [](auto& ck) { ck.tensors.erase("feats.1.attn.f.0.bias"); }),
            "tensor 'feats.1.attn.f.0.bias' is missing");
  EXPECT_EQ(
      plksr_problem("plksr_tiny_x4.pth",
                    [](auto& ck) {
                      ck.tensors["feats.3.weight"] = {{40, 8, 3, 3}, std::vector<float>(40 * 72)};
                    }),
      "tensor 'feats.3.weight' has 40 output channels: no scale 1 to 8 for RGB");
  EXPECT_EQ(plksr_problem("realplksr_tiny_x4.pth",
                          [](auto& ck) { ck.tensors.erase("feats.2.norm.bias"); }),
            "tensor 'feats.2.norm.bias' is missing");
  EXPECT_EQ(plksr_problem("realplksr_tiny_x4_dysample.pth",
                          [](auto& ck) { ck.tensors.erase("to_img.scope.weight"); }),
            "tensor 'to_img.scope.weight' is missing");
  EXPECT_EQ(plksr_problem("realplksr_tiny_x4_dysample.pth",
                          [](auto& ck) {
                            ck.tensors["to_img.init_pos"] = {{1, 16, 1, 1}, std::vector<float>(16)};
                          }),
            "tensor 'to_img.init_pos' is [1,16,1,1], expected [1,128,1,1]");
  EXPECT_EQ(
      plksr_problem("plksr_tiny_x4.pth",
                    [](auto& ck) {
                      ck.tensors["to_img.init_pos"] = {{1, 128, 1, 1}, std::vector<float>(128)};
                    }),
      "tensor 'to_img.init_pos' belongs to RealPLKSR, but this is PLKSR ('channe_mixer')");
  // Not PLKSR at all.
  EXPECT_EQ(plksr_problem("span_tiny_x3.pth", [](auto&) {}), "not detected");
}

engine::Tensor pattern(int h, int w) {
  engine::Tensor in(3, h, w);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        in.at(c, y, x) = 0.5F + 0.45F * std::sin(0.19F * x + 0.7F * c) * std::cos(0.13F * y);
  return in;
}

TEST(Plksr, Tile64MatchesTheWholeImage) {
  const auto model = load_model_file(kArchs / "plksr_tiny_x4.pth");
  const engine::Graph& g = model->graph();
  // feats.0, then per block 3x3 mixer + 17x17 + 3x3 attention, then the last 3x3 conv.
  EXPECT_EQ(g.receptive_radius, 1 + 2 * (1 + 8 + 1) + 1);
  const engine::Tensor in = pattern(150, 170);
  auto backend = engine::make_backend("cpu", g, {});
  const engine::Tensor whole = backend->run(in);
  const engine::TilePlan plan = engine::plan_tiles(g, 64, 1ULL << 30, in.w, in.h);
  ASSERT_EQ(plan.tile, 64);
  const double err = max_abs_diff(whole, run_tiled(g, *backend, plan, in));
  EXPECT_LT(err, 1e-4);
  ::testing::Test::RecordProperty("tile64_max_abs_error", fmt::format("{:.3g}", err));
}

TEST(Plksr, RealPlksrRunsWholeImagesInOneTile) {
  // GroupNorm's statistics are over the whole image: the tiler gives such nets the largest
  // tiles, so an image that fits is run at once and matches exactly.
  const auto model = load_model_file(kArchs / "realplksr_tiny_x4.pth");
  const engine::Graph& g = model->graph();
  EXPECT_TRUE(engine::has_global_context(g));
  const engine::TilePlan plan = engine::plan_tiles(g, 0, 1ULL << 30, 150, 170);
  EXPECT_GE(plan.tile, 170);
}

}  // namespace
}  // namespace hires
