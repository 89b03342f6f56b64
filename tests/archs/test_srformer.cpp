// SRFormer (Zhou et al., ICCV 2023) from .pth and .safetensors against outputs computed by an
// independent PyTorch module (tools/make_srformer_fixtures.py): x4 classical (window 8, two
// groups), x2 lightweight (window 4, pixelshuffledirect) and x3 with window 6 (an odd shift: the
// keys' mask regions shift by 2 on the half-size grid) and 3conv; inputs that are no multiple of
// the window; both backends within 1e-4, the detected variant, errors naming the tensor, and
// tile 64 against the whole image.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "engine/tiler.hpp"
#include "hires/error.hpp"
#include "models/formats/pth_reader.hpp"
#include "models/model.hpp"
#include "models/srformer.hpp"
#include "models/swinir.hpp"
#include "support/tensor_helpers.hpp"

namespace hires {
namespace {

namespace fs = std::filesystem;
using engine::OpType;
using test::count;
using test::lookup_in;
using test::max_abs_diff;

const fs::path kArchs = fs::path(HIRES_SOURCE_DIR) / "tests" / "archs";

struct Fixture {
  const char* file;
  const char* io;
  const char* format;
  int scale;
  int blocks;
  const char* variant;
};

void PrintTo(const Fixture& f, std::ostream* os) {
  *os << f.file;
}

class SrformerFixture : public ::testing::TestWithParam<Fixture> {};

TEST_P(SrformerFixture, EngineMatchesPyTorchWithin1e4) {
  const Fixture& f = GetParam();
  const auto model = load_model_file(kArchs / f.file);
  const ModelInfo& info = model->info();
  EXPECT_EQ(info.architecture, "srformer");
  EXPECT_EQ(info.variant, f.variant);
  EXPECT_EQ(info.format, f.format);
  EXPECT_EQ(info.scale, f.scale);
  const engine::Graph& g = model->graph();
  EXPECT_EQ(count(g, OpType::permuted_attention), f.blocks);
  EXPECT_EQ(count(g, OpType::window_attention), 0);
  EXPECT_EQ(count(g, OpType::gelu), 2 * f.blocks);  // the ConvFFN's two
  test::expect_fixture_output(g, kArchs, f.io, f.file);
}

INSTANTIATE_TEST_SUITE_P(
    Archs, SrformerFixture,
    ::testing::Values(Fixture{"srformer_tiny_x4.pth", "srformer_tiny_x4", "pth", 4, 4,
                              "classical, 16 dim, blocks 2,2, heads 2,4, window 8"},
                      Fixture{"srformer_tiny_x4.safetensors", "srformer_tiny_x4", "safetensors", 4,
                              4, "classical, 16 dim, blocks 2,2, heads 2,4, window 8"},
                      Fixture{"srformer_tiny_x2_light.pth", "srformer_tiny_x2_light", "pth", 2, 2,
                              "lightweight, 12 dim, 1x2 blocks, 3 heads, window 4"},
                      Fixture{"srformer_tiny_x3_w6.pth", "srformer_tiny_x3_w6", "pth", 3, 2,
                              "classical, 8 dim, 1x2 blocks, 2 heads, window 6, 3conv"}));

TEST(Srformer, HyperParametersComeFromNamesAndShapes) {
  const models::PthCheckpoint ck = models::load_pth(kArchs / "srformer_tiny_x4.pth");
  const auto c = models::detect_srformer(lookup_in(ck.tensors), "x4.pth");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->embed, 16);
  EXPECT_EQ(c->depths, (std::vector<int>{2, 2}));
  EXPECT_EQ(c->heads, (std::vector<int>{2, 4}));
  EXPECT_EQ(c->window, 8);  // a table of 7^2 rows: 4x4 blocks of 2x2
  EXPECT_EQ(c->mlp_hidden, 32);
  EXPECT_EQ(c->upscale, 4);
  EXPECT_EQ(c->num_feat, 8);
  EXPECT_FALSE(c->three_conv);
  // SwinIR does not take SRFormer's files, nor SRFormer SwinIR's, HAT's or DRCT's.
  EXPECT_FALSE(models::detect_swinir(lookup_in(ck.tensors), "x4.pth"));
  for (const char* other :
       {"swinir_tiny_x2_classical.pth", "hat_tiny_x4.pth", "drct_tiny_x4.pth"}) {
    const models::PthCheckpoint o = models::load_pth(kArchs / other);
    EXPECT_FALSE(models::detect_srformer(lookup_in(o.tensors), other)) << other;
  }
}

// The problem text of loading the x4 fixture after `edit`.
std::string srformer_problem(const std::function<void(models::PthCheckpoint&)>& edit) {
  return test::edited_problem(kArchs / "srformer_tiny_x4.pth", edit, models::detect_srformer,
                              models::build_srformer);
}

TEST(Srformer, MismatchedTensorsAreNamed) {
  const std::string b = "layers.1.residual_group.blocks.1.";
  EXPECT_EQ(srformer_problem([](auto&) {}), "loaded");
  EXPECT_EQ(srformer_problem([&](auto& ck) { ck.tensors.erase(b + "attn.kv.bias"); }),
            "tensor '" + b + "attn.kv.bias' is missing");
  EXPECT_EQ(srformer_problem([&](auto& ck) {
              ck.tensors[b + "attn.kv.weight"] = {{16, 16}, std::vector<float>(256)};
            }),
            "tensor '" + b + "attn.kv.weight' is [16,16], expected [8,16]");
  EXPECT_EQ(srformer_problem([&](auto& ck) {
              ck.tensors[b + "mlp.dwconv.depthwise_conv.0.weight"] = {{32, 1, 3, 3},
                                                                      std::vector<float>(288)};
            }),
            "tensor '" + b +
                "mlp.dwconv.depthwise_conv.0.weight' is [32,1,3,3], expected "
                "[32,1,5,5]");
  EXPECT_EQ(
      srformer_problem([&](auto& ck) {
        ck.tensors[b + "attn.relative_position_bias_table"] = {{49, 2}, std::vector<float>(98)};
      }),
      "tensor '" + b + "attn.relative_position_bias_table' is [49,2], expected [49,4]");
  EXPECT_EQ(srformer_problem([](auto& ck) {
              ck.tensors["conv_first.weight"] = {{18, 3, 3, 3}, std::vector<float>(18 * 27)};
            }),
            "tensor 'conv_first.weight' has 18 output channels, not a multiple of 4 (the "
            "permuted attention's 2x2 blocks)");
}

TEST(Srformer, TruncatedFilesFail) {
  test::expect_truncated_copies_fail(kArchs,
                                     {"srformer_tiny_x4.pth", "srformer_tiny_x4.safetensors"});
}

// Window attention only: tiles on the window grid with the receptive field as context match the
// whole image.
TEST(Srformer, Tile64MatchesTheWholeImage) {
  const auto model = load_model_file(kArchs / "srformer_tiny_x4.pth");
  const engine::Graph& g = model->graph();
  EXPECT_EQ(g.tile_align, 8);
  const test::TiledRun r = test::run_whole_and_tile64(g);
  EXPECT_GE(r.plan.context, g.receptive_radius);
  const double err = max_abs_diff(r.whole, r.tiled);
  EXPECT_LT(err, 1e-4) << "tile 64 vs whole image";
  ::testing::Test::RecordProperty("tile64_max_abs_error", fmt::format("{:.3g}", err));
  std::cout << "srformer_tiny_x4: context " << r.plan.context
            << ", tile 64 vs whole image max error " << err << "\n";
}

}  // namespace
}  // namespace hires
