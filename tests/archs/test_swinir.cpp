// SwinIR (Liang et al., ICCVW 2021) from .pth and .safetensors against outputs computed by an
// independent PyTorch module (tools/make_swin_fixtures.py): every upsampler of the released
// models (classical pixelshuffle at x2 and x3, lightweight pixelshuffledirect, real-world
// nearest+conv at x2 and x4 with '3conv', x1 grey restoration) on inputs that are no multiple of
// the window; both backends within 1e-4, the detected variant, errors naming the tensor, and
// tiles that agree with the whole image.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "engine/backend.hpp"
#include "engine/tiler.hpp"
#include "hires/error.hpp"
#include "models/formats/pth_reader.hpp"
#include "models/formats/safetensors.hpp"
#include "models/model.hpp"
#include "models/swinir.hpp"
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
  int blocks;  // Swin blocks in all
  const char* variant;
};

void PrintTo(const Fixture& f, std::ostream* os) {
  *os << f.file;
}

class SwinirFixture : public ::testing::TestWithParam<Fixture> {};

TEST_P(SwinirFixture, EngineMatchesPyTorchWithin1e4) {
  const Fixture& f = GetParam();
  const auto model = load_model_file(kArchs / f.file);
  const ModelInfo& info = model->info();
  EXPECT_EQ(info.architecture, "swinir");
  EXPECT_EQ(info.variant, f.variant);
  EXPECT_EQ(info.format, f.format);
  EXPECT_EQ(info.scale, f.scale);
  const engine::Graph& g = model->graph();
  EXPECT_EQ(count(g, OpType::window_attention), f.blocks);
  EXPECT_EQ(count(g, OpType::layer_norm), 2 * f.blocks + 2);  // + patch_embed.norm and norm
  EXPECT_EQ(count(g, OpType::gelu), f.blocks);
  EXPECT_EQ(count(g, OpType::pad_to_multiple), 1);
  EXPECT_EQ(count(g, OpType::crop_like), 1);
  test::expect_fixture_output(g, kArchs, f.io, f.file);
}

INSTANTIATE_TEST_SUITE_P(
    Archs, SwinirFixture,
    ::testing::Values(
        Fixture{"swinir_tiny_x2_classical.pth", "swinir_tiny_x2_classical", "pth", 2, 4,
                "classical, 12 dim, blocks 2,2, heads 2,3, window 4"},
        Fixture{"swinir_tiny_x2_classical.safetensors", "swinir_tiny_x2_classical", "safetensors",
                2, 4, "classical, 12 dim, blocks 2,2, heads 2,3, window 4"},
        Fixture{"swinir_tiny_x3_classical.pth", "swinir_tiny_x3_classical", "pth", 3, 2,
                "classical, 8 dim, 1x2 blocks, 2 heads, window 4"},
        Fixture{"swinir_tiny_x4_lightweight.pth", "swinir_tiny_x4_lightweight", "pth", 4, 4,
                "lightweight, 12 dim, 2x2 blocks, 3 heads, window 4"},
        Fixture{"swinir_tiny_x4_lightweight.safetensors", "swinir_tiny_x4_lightweight",
                "safetensors", 4, 4, "lightweight, 12 dim, 2x2 blocks, 3 heads, window 4"},
        Fixture{"swinir_tiny_x4_realworld.pth", "swinir_tiny_x4_realworld", "pth", 4, 4,
                "real-world, 16 dim, 2x2 blocks, 2 heads, window 4, 3conv"},
        Fixture{"swinir_tiny_x4_realworld.safetensors", "swinir_tiny_x4_realworld", "safetensors",
                4, 4, "real-world, 16 dim, 2x2 blocks, 2 heads, window 4, 3conv"},
        Fixture{"swinir_tiny_x2_realworld.pth", "swinir_tiny_x2_realworld", "pth", 2, 2,
                "real-world, 8 dim, 1x2 blocks, 2 heads, window 2"},
        Fixture{"swinir_tiny_x1_grey.pth", "swinir_tiny_x1_grey", "pth", 1, 4,
                "restoration (x1), 8 dim, 2x2 blocks, 2 heads, window 4"}));

TEST(Swinir, HyperParametersComeFromNamesAndShapes) {
  const models::PthCheckpoint ck = models::load_pth(kArchs / "swinir_tiny_x2_classical.pth");
  const auto c = models::detect_swinir(lookup_in(ck.tensors), "x2.pth");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->in_ch, 3);
  EXPECT_EQ(c->out_ch, 3);
  EXPECT_EQ(c->embed, 12);
  EXPECT_EQ(c->depths, (std::vector<int>{2, 2}));
  EXPECT_EQ(c->heads, (std::vector<int>{2, 3}));
  EXPECT_EQ(c->window, 4);
  EXPECT_EQ(c->mlp_hidden, 24);
  EXPECT_EQ(c->num_feat, 8);
  EXPECT_EQ(c->upscale, 2);
  EXPECT_EQ(c->upsampler, models::SwinUpsampler::pixelshuffle);
  EXPECT_FALSE(c->three_conv);
  EXPECT_TRUE(c->patch_norm);
  const models::PthCheckpoint grey = models::load_pth(kArchs / "swinir_tiny_x1_grey.pth");
  const auto g = models::detect_swinir(lookup_in(grey.tensors), "grey.pth");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->in_ch, 1);
  EXPECT_EQ(g->upsampler, models::SwinUpsampler::none);
  EXPECT_EQ(g->upscale, 1);
  // Not SwinIR: SPAN's tensors.
  const models::PthCheckpoint other = models::load_pth(kArchs / "span_tiny_x4.pth");
  EXPECT_FALSE(models::detect_swinir(lookup_in(other.tensors), "span.pth"));
}

// The problem text of loading the x2 classical fixture after `edit`.
std::string swinir_problem(const std::function<void(models::PthCheckpoint&)>& edit) {
  return test::edited_problem(kArchs / "swinir_tiny_x2_classical.pth", edit, models::detect_swinir,
                              models::build_swinir);
}

TEST(Swinir, MismatchedTensorsAreNamed) {
  const std::string b = "layers.1.residual_group.blocks.1.";
  EXPECT_EQ(swinir_problem([](auto&) {}), "loaded");
  EXPECT_EQ(swinir_problem([&](auto& ck) { ck.tensors.erase(b + "mlp.fc2.bias"); }),
            "tensor '" + b + "mlp.fc2.bias' is missing");
  EXPECT_EQ(swinir_problem([&](auto& ck) {
              ck.tensors[b + "attn.qkv.weight"] = {{36, 11}, std::vector<float>(396)};
            }),
            "tensor '" + b + "attn.qkv.weight' is [36,11], expected [36,12]");
  EXPECT_EQ(
      swinir_problem([&](auto& ck) {
        ck.tensors[b + "attn.relative_position_bias_table"] = {{49, 2}, std::vector<float>(98)};
      }),
      "tensor '" + b + "attn.relative_position_bias_table' is [49,2], expected [49,3]");
  EXPECT_EQ(swinir_problem([](auto& ck) {
              ck.tensors["layers.0.residual_group.blocks.0.attn.relative_position_bias_table"] = {
                  {48, 2}, std::vector<float>(96)};
            }),
            "tensor 'layers.0.residual_group.blocks.0.attn.relative_position_bias_table' has 48 "
            "rows, not (2 x window - 1)^2 for a window of 1 to 64");
  EXPECT_EQ(swinir_problem([](auto& ck) {
              ck.tensors["upsample.0.weight"] = {{31, 8, 3, 3}, std::vector<float>(31 * 72)};
            }),
            "tensor 'upsample.0.weight' has 31 output channels, expected 32 (x2) or 72 (x3)");
  EXPECT_EQ(swinir_problem([](auto& ck) { ck.tensors.erase("conv_after_body.weight"); }),
            "tensor 'conv_after_body.weight' is missing");
  // HAT's conv branch makes it another architecture.
  EXPECT_EQ(swinir_problem([](auto& ck) {
              ck.tensors["layers.0.residual_group.blocks.0.conv_block.cab.0.weight"] = {
                  {4, 12, 3, 3}, std::vector<float>(432)};
            }),
            "not detected");
}

TEST(Swinir, TruncatedFilesAreClearErrors) {
  test::expect_truncated_copies_fail(
      kArchs, {"swinir_tiny_x2_classical.safetensors", "swinir_tiny_x2_classical.pth"});
}

// Tiles start on the window grid with the whole receptive field as context: tile 64 gives the
// whole image's output up to float rounding, though every attention block spans a window.
TEST(Swinir, Tile64MatchesTheWholeImage) {
  for (const char* file : {"swinir_tiny_x2_classical.pth", "swinir_tiny_x4_realworld.pth"}) {
    const auto model = load_model_file(kArchs / file);
    const engine::Graph& g = model->graph();
    EXPECT_EQ(g.tile_align, 4);
    const test::TiledRun r = test::run_whole_and_tile64(g);
    EXPECT_GE(r.plan.context, g.receptive_radius);
    const double err = max_abs_diff(r.whole, r.tiled);
    EXPECT_LT(err, 1e-4) << file;
    ::testing::Test::RecordProperty(fmt::format("tile64_max_abs_error_{}", file),
                                    fmt::format("{:.3g}", err));
    std::cout << file << ": context " << r.plan.context << ", tile 64 vs whole image max error "
              << err << "\n";
  }
}

}  // namespace
}  // namespace hires
