// DRCT (Hsu et al., CVPRW 2024) from .pth and .safetensors against outputs computed by an
// independent PyTorch module (tools/make_drct_fixtures.py): x2 (no patch norm, identity after
// the body, window 8), x3 and x4 (two groups, heads 3 giving blocks of 3, 2, 1, 3 and 2 heads);
// inputs that are no multiple of the window; both backends within 1e-4, the detected variant,
// errors naming the tensor, and tile 64 against the whole image.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "engine/tiler.hpp"
#include "hires/error.hpp"
#include "models/drct.hpp"
#include "models/formats/pth_reader.hpp"
#include "models/model.hpp"
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
  int groups;
  bool patch_norm;
  const char* variant;
};

void PrintTo(const Fixture& f, std::ostream* os) {
  *os << f.file;
}

class DrctFixture : public ::testing::TestWithParam<Fixture> {};

TEST_P(DrctFixture, EngineMatchesPyTorchWithin1e4) {
  const Fixture& f = GetParam();
  const auto model = load_model_file(kArchs / f.file);
  const ModelInfo& info = model->info();
  EXPECT_EQ(info.architecture, "drct");
  EXPECT_EQ(info.variant, f.variant);
  EXPECT_EQ(info.format, f.format);
  EXPECT_EQ(info.scale, f.scale);
  const engine::Graph& g = model->graph();
  EXPECT_EQ(count(g, OpType::window_attention), 5 * f.groups);
  EXPECT_EQ(count(g, OpType::concat), 4 * f.groups);  // the dense connections
  EXPECT_EQ(count(g, OpType::layer_norm), 10 * f.groups + 1 + (f.patch_norm ? 1 : 0));
  test::expect_fixture_output(g, kArchs, f.io, f.file);
}

INSTANTIATE_TEST_SUITE_P(
    Archs, DrctFixture,
    ::testing::Values(
        Fixture{"drct_tiny_x4.pth", "drct_tiny_x4", "pth", 4, 2, true,
                "DRCT (custom), 12 dim, 2 groups, heads 3,2, growth 4, window 4, mlp 2"},
        Fixture{"drct_tiny_x4.safetensors", "drct_tiny_x4", "safetensors", 4, 2, true,
                "DRCT (custom), 12 dim, 2 groups, heads 3,2, growth 4, window 4, mlp 2"},
        Fixture{"drct_tiny_x2_noconv.pth", "drct_tiny_x2_noconv", "pth", 2, 1, false,
                "DRCT (custom), 8 dim, 1 group, 2 heads, growth 6, window 8, mlp 1.5"},
        Fixture{"drct_tiny_x3.pth", "drct_tiny_x3", "pth", 3, 1, true,
                "DRCT (custom), 8 dim, 1 group, 4 heads, growth 4, window 4, mlp 2"}));

TEST(Drct, HyperParametersComeFromNamesAndShapes) {
  const models::PthCheckpoint ck = models::load_pth(kArchs / "drct_tiny_x4.pth");
  const auto c = models::detect_drct(lookup_in(ck.tensors), "x4.pth");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->in_ch, 3);
  EXPECT_EQ(c->embed, 12);
  EXPECT_EQ(c->heads, (std::vector<int>{3, 2}));
  EXPECT_EQ(c->growth, 4);
  EXPECT_EQ(c->window, 4);
  EXPECT_EQ(c->mlp_hidden, 24);
  EXPECT_TRUE(c->patch_norm);
  EXPECT_TRUE(c->conv_after_body);
  EXPECT_EQ(c->tail.upscale, 4);
  EXPECT_EQ(c->tail.num_feat, 8);
  EXPECT_EQ(c->tail.upsampler, models::SwinUpsampler::pixelshuffle);
  // The released sizes name their variant.
  models::DrctConfig r = *c;
  r.embed = 180;
  r.growth = 32;
  r.window = 16;
  r.mlp_hidden = 360;
  r.heads.assign(12, 6);
  EXPECT_EQ(models::drct_variant(r),
            "DRCT-L, 180 dim, 12 groups, 6 heads, growth 32, window 16, mlp 2");
  r.heads.assign(6, 6);
  EXPECT_EQ(models::drct_variant(r),
            "DRCT, 180 dim, 6 groups, 6 heads, growth 32, window 16, mlp 2");
  // Not DRCT: the other Swin-like files; and none of them takes DRCT's.
  for (const char* other : {"swinir_tiny_x2_classical.pth", "hat_tiny_x4.pth", "dat_tiny_x4.pth"}) {
    const models::PthCheckpoint o = models::load_pth(kArchs / other);
    EXPECT_FALSE(models::detect_drct(lookup_in(o.tensors), other)) << other;
  }
}

// The problem text of loading the x4 fixture after `edit`.
std::string drct_problem(const std::function<void(models::PthCheckpoint&)>& edit) {
  return test::edited_problem(kArchs / "drct_tiny_x4.pth", edit, models::detect_drct,
                              models::build_drct);
}

TEST(Drct, MismatchedTensorsAreNamed) {
  EXPECT_EQ(drct_problem([](auto&) {}), "loaded");
  EXPECT_EQ(drct_problem([](auto& ck) { ck.tensors.erase("layers.1.adjust3.bias"); }),
            "tensor 'layers.1.adjust3.bias' is missing");
  // Block 3 of group 0 has 20 channels: 3 - 20 % 3 = 1 head.
  EXPECT_EQ(drct_problem([](auto& ck) {
              ck.tensors["layers.0.swin3.attn.relative_position_bias_table"] = {
                  {49, 2}, std::vector<float>(98)};
            }),
            "tensor 'layers.0.swin3.attn.relative_position_bias_table' is [49,2], expected [49,1]");
  EXPECT_EQ(drct_problem([](auto& ck) {
              ck.tensors["layers.0.adjust5.weight"] = {{12, 24, 1, 1}, std::vector<float>(288)};
            }),
            "tensor 'layers.0.adjust5.weight' is [12,24,1,1], expected [12,28,1,1]");
  EXPECT_EQ(drct_problem([](auto& ck) {
              ck.tensors["layers.1.swin1.attn.relative_position_bias_table"] = {
                  {81, 2}, std::vector<float>(162)};
            }),
            "tensor 'layers.1.swin1.attn.relative_position_bias_table' is for a window of 5, the "
            "first group's is 4");
  // A first table of 5 heads makes the group's head count 5, so block 1 (12 channels) needs
  // 5 - 12 % 5 = 3.
  EXPECT_EQ(drct_problem([](auto& ck) {
              ck.tensors["layers.1.swin1.attn.relative_position_bias_table"] = {
                  {49, 5}, std::vector<float>(245)};
            }),
            "tensor 'layers.1.swin1.attn.relative_position_bias_table' is [49,5], expected [49,3]");
  EXPECT_EQ(drct_problem([](auto& ck) { ck.tensors.erase("conv_last.weight"); }),
            "tensor 'conv_last.weight' is missing");
}

TEST(Drct, TruncatedFilesFail) {
  test::expect_truncated_copies_fail(kArchs, {"drct_tiny_x4.pth", "drct_tiny_x4.safetensors"});
}

// Window attention only: tiles on the window grid with the receptive field as context match
// the whole image.
TEST(Drct, Tile64MatchesTheWholeImage) {
  const auto model = load_model_file(kArchs / "drct_tiny_x4.pth");
  const engine::Graph& g = model->graph();
  EXPECT_EQ(g.tile_align, 4);
  const test::TiledRun r = test::run_whole_and_tile64(g);
  EXPECT_GE(r.plan.context, g.receptive_radius);
  const double err = max_abs_diff(r.whole, r.tiled);
  EXPECT_LT(err, 1e-4) << "tile 64 vs whole image";
  ::testing::Test::RecordProperty("tile64_max_abs_error", fmt::format("{:.3g}", err));
  std::cout << "drct_tiny_x4: context " << r.plan.context << ", tile 64 vs whole image max error "
            << err << "\n";
}

}  // namespace
}  // namespace hires
