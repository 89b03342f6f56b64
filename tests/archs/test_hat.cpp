// HAT (Chen et al., CVPR 2023) from .pth and .safetensors against outputs computed by an
// independent PyTorch module (tools/make_swin_fixtures.py): x2, x3 and x4, windows of 4 and 8
// (key windows of 6 and 12, whose bias index reaches below zero), inputs that are no multiple of
// the window; both backends within 1e-4, the detected variant, errors naming the tensor, and
// tiles close to the whole image (the conv branch's channel attention averages over the image).
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
#include "models/hat.hpp"
#include "models/model.hpp"
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
  int scale;
  int layers;  // residual hybrid attention groups
  int blocks;  // hybrid attention blocks in all
  const char* variant;
};

void PrintTo(const Fixture& f, std::ostream* os) {
  *os << f.file;
}

class HatFixture : public ::testing::TestWithParam<Fixture> {};

TEST_P(HatFixture, EngineMatchesPyTorchWithin1e4) {
  const Fixture& f = GetParam();
  const auto model = load_model_file(kArchs / f.file);
  const ModelInfo& info = model->info();
  EXPECT_EQ(info.architecture, "hat");
  EXPECT_EQ(info.variant, f.variant);
  EXPECT_EQ(info.format, f.format);
  EXPECT_EQ(info.scale, f.scale);
  const engine::Graph& g = model->graph();
  EXPECT_EQ(count(g, OpType::window_attention), f.blocks);
  EXPECT_EQ(count(g, OpType::overlap_attention), f.layers);
  EXPECT_EQ(count(g, OpType::global_avg_pool), f.blocks);  // one channel attention per block
  // norm1 and norm2 of every block and OCAB, patch_embed.norm and norm.
  EXPECT_EQ(count(g, OpType::layer_norm), 2 * (f.blocks + f.layers) + 2);
  EXPECT_EQ(count(g, OpType::gelu), 2 * f.blocks + f.layers);  // MLPs and conv branches
  test::expect_fixture_output(g, kArchs, f.io, f.file);
}

INSTANTIATE_TEST_SUITE_P(
    Archs, HatFixture,
    ::testing::Values(Fixture{"hat_tiny_x4.pth", "hat_tiny_x4", "pth", 4, 2, 4,
                              "HAT (custom), 12 dim, blocks 2,2, heads 2,3, window 4, overlap 6"},
                      Fixture{"hat_tiny_x4.safetensors", "hat_tiny_x4", "safetensors", 4, 2, 4,
                              "HAT (custom), 12 dim, blocks 2,2, heads 2,3, window 4, overlap 6"},
                      Fixture{"hat_tiny_x2.pth", "hat_tiny_x2", "pth", 2, 1, 2,
                              "HAT (custom), 12 dim, 1x2 blocks, 3 heads, window 8, overlap 12"},
                      Fixture{"hat_tiny_x3.pth", "hat_tiny_x3", "pth", 3, 1, 2,
                              "HAT (custom), 8 dim, 1x2 blocks, 2 heads, window 4, overlap 6"}));

TEST(Hat, HyperParametersComeFromNamesAndShapes) {
  const models::PthCheckpoint ck = models::load_pth(kArchs / "hat_tiny_x4.pth");
  const auto c = models::detect_hat(lookup_in(ck.tensors), "x4.pth");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->in_ch, 3);
  EXPECT_EQ(c->embed, 12);
  EXPECT_EQ(c->depths, (std::vector<int>{2, 2}));
  EXPECT_EQ(c->heads, (std::vector<int>{2, 3}));
  EXPECT_EQ(c->window, 4);
  EXPECT_EQ(c->overlap_window, 6);
  EXPECT_EQ(c->mlp_hidden, 24);
  EXPECT_EQ(c->cab_channels, 4);      // compress ratio 3
  EXPECT_EQ(c->squeeze_channels, 3);  // squeeze factor 4
  EXPECT_EQ(c->tail.upscale, 4);
  EXPECT_EQ(c->tail.num_feat, 8);
  EXPECT_EQ(c->tail.upsampler, models::SwinUpsampler::pixelshuffle);
  // The released sizes name their variant.
  models::HatConfig large = *c;
  large.embed = 180;
  large.depths.assign(12, 6);
  large.heads.assign(12, 6);
  large.window = 16;
  large.overlap_window = 24;
  EXPECT_EQ(models::hat_variant(large),
            "HAT-L, 180 dim, 12x6 blocks, 6 heads, window 16, overlap 24");
  large.depths.assign(6, 6);
  large.heads.assign(6, 6);
  large.embed = 144;
  EXPECT_EQ(models::hat_variant(large),
            "HAT-S, 144 dim, 6x6 blocks, 6 heads, window 16, overlap 24");
  // Not HAT: SwinIR's tensors (no conv branch), and SwinIR is not taken for HAT.
  const models::PthCheckpoint swinir = models::load_pth(kArchs / "swinir_tiny_x2_classical.pth");
  EXPECT_FALSE(models::detect_hat(lookup_in(swinir.tensors), "swinir.pth"));
  const auto model = load_model_file(kArchs / "hat_tiny_x2.pth");
  EXPECT_EQ(model->info().architecture, "hat");
}

// The problem text of loading the x4 fixture after `edit`.
std::string hat_problem(const std::function<void(models::PthCheckpoint&)>& edit) {
  return test::edited_problem(kArchs / "hat_tiny_x4.pth", edit, models::detect_hat,
                              models::build_hat);
}

TEST(Hat, MismatchedTensorsAreNamed) {
  const std::string b = "layers.1.residual_group.blocks.1.";
  const std::string o = "layers.1.residual_group.overlap_attn.";
  EXPECT_EQ(hat_problem([](auto&) {}), "loaded");
  EXPECT_EQ(hat_problem([&](auto& ck) { ck.tensors.erase(b + "conv_block.cab.2.bias"); }),
            "tensor '" + b + "conv_block.cab.2.bias' is missing");
  EXPECT_EQ(
      hat_problem([&](auto& ck) {
        ck.tensors[b + "conv_block.cab.3.attention.3.weight"] = {{12, 2, 1, 1},
                                                                 std::vector<float>(24)};
      }),
      "tensor '" + b + "conv_block.cab.3.attention.3.weight' is [12,2,1,1], expected [12,3,1,1]");
  EXPECT_EQ(hat_problem([&](auto& ck) { ck.tensors.erase(o + "mlp.fc1.weight"); }),
            "tensor '" + o + "mlp.fc1.weight' is missing");
  EXPECT_EQ(hat_problem([&](auto& ck) {
              ck.tensors[o + "relative_position_bias_table"] = {{81, 2}, std::vector<float>(162)};
            }),
            "tensor '" + o + "relative_position_bias_table' is [81,2], expected [81,3]");
  EXPECT_EQ(hat_problem([](auto& ck) {
              ck.tensors["layers.0.residual_group.overlap_attn.relative_position_bias_table"] = {
                  {64, 2}, std::vector<float>(128)};
            }),
            "tensor 'layers.0.residual_group.overlap_attn.relative_position_bias_table' has 64 "
            "rows, not (window + key window - 1)^2 for a window of 4 and a key window larger by "
            "an even number up to 128");
  EXPECT_EQ(hat_problem([](auto& ck) { ck.tensors.erase("conv_last.weight"); }),
            "tensor 'conv_last.weight' is missing");
}

// Tiles start on the window grid with the whole receptive field as context and share the channel
// attention's means (a first pass): close to the whole image, though not exact.
TEST(Hat, Tile64IsCloseToTheWholeImage) {
  const auto model = load_model_file(kArchs / "hat_tiny_x4.pth");
  const engine::Graph& g = model->graph();
  EXPECT_EQ(g.tile_align, 4);
  const test::TiledRun r = test::run_whole_and_tile64(g);
  EXPECT_GE(r.plan.context, g.receptive_radius);
  ASSERT_TRUE(r.plan.global_means);
  const double err = max_abs_diff(r.whole, r.tiled);
  EXPECT_LT(err, 1e-4) << "tile 64 vs whole image";
  ::testing::Test::RecordProperty("tile64_max_abs_error", fmt::format("{:.3g}", err));
  std::cout << "hat_tiny_x4: context " << r.plan.context << ", tile 64 vs whole image max error "
            << err << "\n";
}

}  // namespace
}  // namespace hires
