// RGT (Chen et al., ICLR 2024) from .pth and .safetensors against outputs computed by an
// independent PyTorch module (tools/make_rgt_fixtures.py): x4 (two groups, split 2x4, a shifted
// L-SA block in the odd group) and x3 (split 4x8, c_ratio 0.25, 3conv); RG-SA reduces the
// fixtures' images to 2x2 tokens; both backends within 1e-4, the detected variant, errors naming
// the tensor, images under 16 pixels a side, and tiles (RG-SA's tokens span the image).
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
#include "models/model.hpp"
#include "models/rgt.hpp"
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

class RgtFixture : public ::testing::TestWithParam<Fixture> {};

TEST_P(RgtFixture, EngineMatchesPyTorchWithin1e4) {
  const Fixture& f = GetParam();
  const auto model = load_model_file(kArchs / f.file);
  const ModelInfo& info = model->info();
  EXPECT_EQ(info.architecture, "rgt");
  EXPECT_EQ(info.variant, f.variant);
  EXPECT_EQ(info.format, f.format);
  EXPECT_EQ(info.scale, f.scale);
  const engine::Graph& g = model->graph();
  EXPECT_EQ(count(g, OpType::window_attention), f.blocks);  // two window shapes per L-SA
  EXPECT_EQ(count(g, OpType::token_attention), f.blocks / 2);
  EXPECT_EQ(count(g, OpType::recursive_reduction), f.blocks / 2);
  EXPECT_TRUE(engine::has_global_context(g));
  test::expect_fixture_output(g, kArchs, f.io, f.file);
}

INSTANTIATE_TEST_SUITE_P(
    Archs, RgtFixture,
    ::testing::Values(Fixture{"rgt_tiny_x4.pth", "rgt_tiny_x4", "pth", 4, 4,
                              "RGT (custom), 16 dim, blocks 2,2, heads 2,4, split 2x4, mlp 2, "
                              "c_ratio 0.5"},
                      Fixture{"rgt_tiny_x4.safetensors", "rgt_tiny_x4", "safetensors", 4, 4,
                              "RGT (custom), 16 dim, blocks 2,2, heads 2,4, split 2x4, mlp 2, "
                              "c_ratio 0.5"},
                      Fixture{"rgt_tiny_x3.pth", "rgt_tiny_x3", "pth", 3, 2,
                              "RGT (custom), 16 dim, 1x2 blocks, 2 heads, split 4x8, mlp 1.5, "
                              "c_ratio 0.25, 3conv"}));

TEST(Rgt, HyperParametersComeFromNamesAndShapes) {
  const models::PthCheckpoint ck = models::load_pth(kArchs / "rgt_tiny_x4.pth");
  const auto c = models::detect_rgt(lookup_in(ck.tensors), "x4.pth");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->embed, 16);
  EXPECT_EQ(c->depths, (std::vector<int>{2, 2}));
  EXPECT_EQ(c->heads, (std::vector<int>{2, 4}));
  EXPECT_EQ(c->split_h, 2);
  EXPECT_EQ(c->split_w, 4);
  EXPECT_EQ(c->mlp_hidden, 32);
  EXPECT_EQ(c->reduced, 8);
  EXPECT_EQ(c->reduction, 4);
  EXPECT_EQ(c->tail.upscale, 4);
  // DAT shares RGT's names but does not take its files (nor RGT DAT's).
  EXPECT_FALSE(models::detect_dat(lookup_in(ck.tensors), "x4.pth"));
  const models::PthCheckpoint dat = models::load_pth(kArchs / "dat_tiny_x4.pth");
  EXPECT_FALSE(models::detect_rgt(lookup_in(dat.tensors), "dat.pth"));
  // The released sizes name their variant.
  models::RgtConfig r = *c;
  r.embed = 180;
  r.depths.assign(8, 6);
  r.heads.assign(8, 6);
  r.split_h = 8;
  r.split_w = 32;
  r.mlp_hidden = 360;
  r.reduced = 90;
  EXPECT_EQ(models::rgt_variant(r),
            "RGT, 180 dim, 8x6 blocks, 6 heads, split 8x32, mlp 2, c_ratio 0.5");
  r.depths.assign(6, 6);
  r.heads.assign(6, 6);
  EXPECT_EQ(models::rgt_variant(r),
            "RGT-S, 180 dim, 6x6 blocks, 6 heads, split 8x32, mlp 2, c_ratio 0.5");
}

// The problem text of loading the x4 fixture after `edit`.
std::string rgt_problem(const std::function<void(models::PthCheckpoint&)>& edit) {
  return test::edited_problem(kArchs / "rgt_tiny_x4.pth", edit, models::detect_rgt,
                              models::build_rgt);
}

TEST(Rgt, MismatchedTensorsAreNamed) {
  const std::string b = "layers.1.blocks.1.attn.";
  EXPECT_EQ(rgt_problem([](auto&) {}), "loaded");
  EXPECT_EQ(rgt_problem([&](auto& ck) { ck.tensors.erase(b + "cpe.bias"); }),
            "tensor '" + b + "cpe.bias' is missing");
  EXPECT_EQ(rgt_problem([&](auto& ck) {
              ck.tensors[b + "k.weight"] = {{8, 16}, std::vector<float>(128)};
            }),
            "tensor '" + b + "k.weight' is [8,16], expected [8,8]");
  EXPECT_EQ(rgt_problem([](auto& ck) { ck.tensors.erase("layers.0.blocks.0.attn.get_v.weight"); }),
            "tensor 'layers.0.blocks.0.attn.get_v.weight' is missing");
  EXPECT_EQ(rgt_problem([](auto& ck) { ck.tensors.erase("layers.1.blocks.0.gamma"); }),
            "tensor 'layers.1.blocks.0.gamma' is missing");
  EXPECT_EQ(
      rgt_problem([](auto& ck) {
        ck.tensors["layers.0.blocks.1.attn.conv.weight"] = {{6, 16, 1, 1}, std::vector<float>(96)};
      }),
      "tensor 'layers.0.blocks.1.attn.conv.weight' has 6 output channels, which 4 heads "
      "do not divide");
}

TEST(Rgt, TruncatedFilesFail) {
  test::expect_truncated_copies_fail(kArchs, {"rgt_tiny_x4.pth", "rgt_tiny_x4.safetensors"});
}

// PyTorch refuses images under 16 pixels a side (RG-SA reduces by 16); hires reflects them up
// to 16 and crops the result back.
TEST(Rgt, SmallImagesRun) {
  const auto model = load_model_file(kArchs / "rgt_tiny_x3.pth");
  for (const auto& [w, h] : {std::pair{7, 5}, std::pair{1, 1}, std::pair{20, 3}}) {
    engine::Tensor in(3, h, w);
    for (std::size_t i = 0; i < in.size(); ++i) in.data[i] = 0.1F * static_cast<float>(i % 7);
    const engine::Tensor out = engine::make_backend("cpu", model->graph(), {})->run(in);
    EXPECT_EQ(out.w, 3 * w);
    EXPECT_EQ(out.h, 3 * h);
    for (float v : out.data) ASSERT_TRUE(std::isfinite(v));
  }
}

// RG-SA's tokens span the image: images up to the largest tile run whole; a forced tile 64 of a
// larger one approximates them with each tile's own tokens (measured, asserted loosely).
TEST(Rgt, Tile64AgainstTheWholeImage) {
  const auto model = load_model_file(kArchs / "rgt_tiny_x4.pth");
  const engine::Graph& g = model->graph();
  EXPECT_EQ(g.tile_align, 4);
  const test::TiledRun r = test::run_whole_and_tile64(g);
  const double err = max_abs_diff(r.whole, r.tiled);
  const double mean = test::mean_abs_diff(r.tiled, r.whole);
  EXPECT_LT(mean, 0.05) << "tile 64 vs whole image, mean";
  ::testing::Test::RecordProperty("tile64_max_abs_error", fmt::format("{:.3g}", err));
  std::cout << "rgt_tiny_x4: context " << r.plan.context << ", tile 64 vs whole image max error "
            << err << ", mean " << mean << "\n";
}

}  // namespace
}  // namespace hires
