// DAT (Chen et al., ICCV 2023) from .pth and .safetensors against outputs computed by an
// independent PyTorch module (tools/make_dat_fixtures.py): x2 (pixelshuffledirect, 3conv), x3
// and x4; windows of 2x4, 4x8 and 4x2 (rows more than columns), shifted blocks in both kinds of
// groups, inputs that are no multiple of the larger split (zero padding); both backends within
// 1e-4, the detected variant, errors naming the tensor, and tiles close to the whole image (the
// channel attention and the channel maps are over the whole image; tiles share them).
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
#include "models/dat.hpp"
#include "models/formats/pth_reader.hpp"
#include "models/formats/safetensors.hpp"
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
  int blocks;   // blocks in all
  int spatial;  // of which spatial-attention blocks
  const char* variant;
};

void PrintTo(const Fixture& f, std::ostream* os) {
  *os << f.file;
}

class DatFixture : public ::testing::TestWithParam<Fixture> {};

TEST_P(DatFixture, EngineMatchesPyTorchWithin1e4) {
  const Fixture& f = GetParam();
  const auto model = load_model_file(kArchs / f.file);
  const ModelInfo& info = model->info();
  EXPECT_EQ(info.architecture, "dat");
  EXPECT_EQ(info.variant, f.variant);
  EXPECT_EQ(info.format, f.format);
  EXPECT_EQ(info.scale, f.scale);
  const engine::Graph& g = model->graph();
  const int channel = f.blocks - f.spatial;
  EXPECT_EQ(count(g, OpType::window_attention), 2 * f.spatial);  // two window shapes each
  EXPECT_EQ(count(g, OpType::channel_attention), channel);
  EXPECT_EQ(count(g, OpType::channel_gram), channel);
  EXPECT_EQ(count(g, OpType::global_avg_pool), f.blocks);  // one channel map per block
  // norm1, norm2 and the spatial gate's norm of every block, before_RG and norm.
  EXPECT_EQ(count(g, OpType::layer_norm), 3 * f.blocks + 2);
  test::expect_fixture_output(g, kArchs, f.io, f.file);
}

INSTANTIATE_TEST_SUITE_P(
    Archs, DatFixture,
    ::testing::Values(
        Fixture{"dat_tiny_x4.pth", "dat_tiny_x4", "pth", 4, 5, 3,
                "DAT (custom), 16 dim, blocks 3,2, heads 2,4, split 2x4, expansion 2"},
        Fixture{"dat_tiny_x4.safetensors", "dat_tiny_x4", "safetensors", 4, 5, 3,
                "DAT (custom), 16 dim, blocks 3,2, heads 2,4, split 2x4, expansion 2"},
        Fixture{"dat_tiny_x2_light.pth", "dat_tiny_x2_light", "pth", 2, 4, 2,
                "DAT (custom), 16 dim, 1x4 blocks, 2 heads, split 4x8, expansion 2, 3conv"},
        Fixture{"dat_tiny_x3.pth", "dat_tiny_x3", "pth", 3, 4, 2,
                "DAT (custom), 32 dim, 2x2 blocks, 4 heads, split 4x2, expansion 4"}));

TEST(Dat, HyperParametersComeFromNamesAndShapes) {
  const models::PthCheckpoint ck = models::load_pth(kArchs / "dat_tiny_x4.pth");
  const auto c = models::detect_dat(lookup_in(ck.tensors), "x4.pth");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->in_ch, 3);
  EXPECT_EQ(c->embed, 16);
  EXPECT_EQ(c->depths, (std::vector<int>{3, 2}));
  EXPECT_EQ(c->heads, (std::vector<int>{2, 4}));
  EXPECT_EQ(c->split_h, 2);
  EXPECT_EQ(c->split_w, 4);
  EXPECT_EQ(c->ffn_hidden, 32);
  EXPECT_FALSE(c->three_conv);
  EXPECT_EQ(c->tail.upscale, 4);
  EXPECT_EQ(c->tail.num_feat, 8);
  EXPECT_EQ(c->tail.upsampler, models::SwinUpsampler::pixelshuffle);
  // The released sizes name their variant.
  models::DatConfig r = *c;
  r.embed = 180;
  r.depths.assign(6, 6);
  r.heads.assign(6, 6);
  r.split_h = 8;
  r.split_w = 32;
  r.ffn_hidden = 720;
  EXPECT_EQ(models::dat_variant(r), "DAT, 180 dim, 6x6 blocks, 6 heads, split 8x32, expansion 4");
  r.ffn_hidden = 360;
  EXPECT_EQ(models::dat_variant(r), "DAT-2, 180 dim, 6x6 blocks, 6 heads, split 8x32, expansion 2");
  r.split_w = 16;
  EXPECT_EQ(models::dat_variant(r), "DAT-S, 180 dim, 6x6 blocks, 6 heads, split 8x16, expansion 2");
  r.embed = 60;
  r.depths = {18};
  r.heads = {6};
  r.split_w = 32;
  r.ffn_hidden = 120;
  r.three_conv = true;
  r.tail.upsampler = models::SwinUpsampler::pixelshuffledirect;
  EXPECT_EQ(models::dat_variant(r),
            "DAT-light, 60 dim, 1x18 blocks, 6 heads, split 8x32, expansion 2, 3conv");
  // Not DAT: SwinIR's and HAT's tensors, and DAT is taken for neither.
  for (const char* other : {"swinir_tiny_x2_classical.pth", "hat_tiny_x4.pth"}) {
    const models::PthCheckpoint o = models::load_pth(kArchs / other);
    EXPECT_FALSE(models::detect_dat(lookup_in(o.tensors), other)) << other;
  }
}

// The problem text of loading the x4 fixture after `edit`.
std::string dat_problem(const std::function<void(models::PthCheckpoint&)>& edit) {
  return test::edited_problem(kArchs / "dat_tiny_x4.pth", edit, models::detect_dat,
                              models::build_dat);
}

TEST(Dat, MismatchedTensorsAreNamed) {
  const std::string s = "layers.1.blocks.0.attn.";   // a shifted spatial block
  const std::string ch = "layers.1.blocks.1.attn.";  // a channel block
  EXPECT_EQ(dat_problem([](auto&) {}), "loaded");
  EXPECT_EQ(dat_problem([&](auto& ck) { ck.tensors.erase(s + "attns.1.pos.pos2.2.bias"); }),
            "tensor '" + s + "attns.1.pos.pos2.2.bias' is missing");
  EXPECT_EQ(dat_problem([&](auto& ck) { ck.tensors.erase(s + "dwconv.1.running_var"); }),
            "tensor '" + s + "dwconv.1.running_var' is missing");
  EXPECT_EQ(dat_problem([&](auto& ck) {
              ck.tensors[ch + "temperature"] = {{2, 1, 1}, std::vector<float>(2, 1.0F)};
            }),
            "tensor '" + ch + "temperature' is [2,1,1], expected [4,1,1]");
  EXPECT_EQ(
      dat_problem([&](auto& ck) {
        ck.tensors[ch + "spatial_interaction.3.weight"] = {{2, 1, 1, 1}, std::vector<float>(2)};
      }),
      "tensor '" + ch + "spatial_interaction.3.weight' is [2,1,1,1], expected [1,1,1,1]");
  EXPECT_EQ(dat_problem([](auto& ck) {
              ck.tensors["layers.0.blocks.0.attn.attns.0.rpe_biases"] = {
                  {21, 2}, std::vector<float>(42, -2.0F)};
            }),
            "tensor 'layers.0.blocks.0.attn.attns.0.rpe_biases' is not the offsets of a window "
            "of 1 to 64 pixels a side");
  EXPECT_EQ(dat_problem([](auto& ck) { ck.tensors.erase("upsample.0.weight"); }),
            "tensor 'upsample.0.weight' is missing");
}

TEST(Dat, TruncatedFilesFail) {
  test::expect_truncated_copies_fail(kArchs, {"dat_tiny_x4.pth", "dat_tiny_x4.safetensors"});
}

// Tiles start on the window grid (lcm of the splits) with the whole receptive field as context
// and share the global statistics (a first pass): close to the whole image, though not exact.
TEST(Dat, Tile64IsCloseToTheWholeImage) {
  const auto model = load_model_file(kArchs / "dat_tiny_x4.pth");
  const engine::Graph& g = model->graph();
  EXPECT_EQ(g.tile_align, 4);
  const test::TiledRun r = test::run_whole_and_tile64(g);
  EXPECT_GE(r.plan.context, g.receptive_radius);
  ASSERT_TRUE(r.plan.global_means);
  const double err = max_abs_diff(r.whole, r.tiled);
  EXPECT_LT(err, 1.0 / 255) << "tile 64 vs whole image";
  ::testing::Test::RecordProperty("tile64_max_abs_error", fmt::format("{:.3g}", err));
  std::cout << "dat_tiny_x4: context " << r.plan.context << ", tile 64 vs whole image max error "
            << err << "\n";
}

}  // namespace
}  // namespace hires
