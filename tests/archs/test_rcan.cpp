// RCAN (Zhang et al., ECCV 2018) from .pth and .safetensors against outputs computed by an
// independent PyTorch module (tools/make_rcan_fixtures.py): x4 (two factor-2 upsampler steps) and
// x3 with the DIV2K mean shifts on a 0..255 range, the 'unshuffle' variants at x2 (no mean shift)
// and x1 (5x5 convolutions) on sizes that are no multiple of the unshuffle factor; every backend
// within 1e-4, the detected variant, errors naming the tensor, and tile 64 against the whole
// image (channel attention's means shared between tiles).
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
#include "models/rcan.hpp"
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
  int blocks;  // RCABs in all
  const char* variant;
};

void PrintTo(const Fixture& f, std::ostream* os) {
  *os << f.file;
}

class RcanFixture : public ::testing::TestWithParam<Fixture> {};

TEST_P(RcanFixture, EngineMatchesPyTorchWithin1e4) {
  const Fixture& f = GetParam();
  const auto model = load_model_file(kArchs / f.file);
  const ModelInfo& info = model->info();
  EXPECT_EQ(info.architecture, "rcan");
  EXPECT_EQ(info.variant, f.variant);
  EXPECT_EQ(info.format, f.format);
  EXPECT_EQ(info.scale, f.scale);
  const engine::Graph& g = model->graph();
  EXPECT_EQ(count(g, OpType::global_avg_pool), f.blocks);  // one channel attention per block
  EXPECT_EQ(count(g, OpType::sigmoid), f.blocks);
  test::expect_fixture_output(g, kArchs, f.io, f.file);
}

INSTANTIATE_TEST_SUITE_P(
    Archs, RcanFixture,
    ::testing::Values(Fixture{"rcan_tiny_x4.pth", "rcan_tiny_x4", "pth", 4, 4,
                              "16 feats, 2 groups x 2 blocks, reduction 4"},
                      Fixture{"rcan_tiny_x4.safetensors", "rcan_tiny_x4", "safetensors", 4, 4,
                              "16 feats, 2 groups x 2 blocks, reduction 4"},
                      Fixture{"rcan_tiny_x3.pth", "rcan_tiny_x3", "pth", 3, 1,
                              "8 feats, 1 group x 1 block, reduction 2"},
                      Fixture{
                          "rcan_tiny_x2_unshuffle.pth", "rcan_tiny_x2_unshuffle", "pth", 2, 2,
                          "8 feats, 1 group x 2 blocks, reduction 2, unshuffle 2, no mean shift"},
                      Fixture{"rcan_tiny_x1_unshuffle_k5.pth", "rcan_tiny_x1_unshuffle_k5", "pth",
                              1, 2, "8 feats, 2 groups x 1 block, reduction 4, 5x5, unshuffle 4"}));

TEST(Rcan, HyperParametersComeFromNamesAndShapes) {
  const models::PthCheckpoint ck = models::load_pth(kArchs / "rcan_tiny_x1_unshuffle_k5.pth");
  const auto c = models::detect_rcan(lookup_in(ck.tensors), "x1.pth");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->colors, 3);
  EXPECT_EQ(c->features, 8);
  EXPECT_EQ(c->groups, 2);
  EXPECT_EQ(c->blocks, 1);
  EXPECT_EQ(c->kernel, 5);
  EXPECT_EQ(c->reduction, 4);
  EXPECT_EQ(c->unshuffle, 4);
  EXPECT_EQ(c->upscale, 1);
  EXPECT_TRUE(c->mean_shift);
  // The released RCAN: 64 features, 10 groups of 20 blocks, reduction 16.
  models::RcanConfig r;
  EXPECT_EQ(models::rcan_variant(r), "64 feats, 10 groups x 20 blocks, reduction 16");
  for (const char* other : {"span_tiny_x4.pth", "mosr_tiny_x4.pth", "hat_tiny_x4.pth"}) {
    const models::PthCheckpoint o = models::load_pth(kArchs / other);
    EXPECT_FALSE(models::detect_rcan(lookup_in(o.tensors), other)) << other;
  }
}

// The problem text of loading the x4 fixture after `edit`.
std::string rcan_problem(const std::function<void(models::PthCheckpoint&)>& edit) {
  return test::edited_problem(kArchs / "rcan_tiny_x4.pth", edit, models::detect_rcan,
                              models::build_rcan);
}

TEST(Rcan, MismatchedTensorsAreNamed) {
  EXPECT_EQ(rcan_problem([](auto&) {}), "loaded");
  EXPECT_EQ(rcan_problem([](auto& ck) { ck.tensors.erase("body.1.body.1.body.3.conv_du.2.bias"); }),
            "tensor 'body.1.body.1.body.3.conv_du.2.bias' is missing");
  EXPECT_EQ(rcan_problem([](auto& ck) { ck.tensors.erase("body.0.body.2.weight"); }),
            "tensor 'body.0.body.2.weight' is missing");  // the group's closing conv
  EXPECT_EQ(rcan_problem([](auto& ck) {
              ck.tensors["body.1.body.0.body.2.weight"] = {{16, 16, 5, 5},
                                                           std::vector<float>(16 * 16 * 25)};
            }),
            "tensor 'body.1.body.0.body.2.weight' is [16,16,5,5], expected [16,16,3,3]");
  EXPECT_EQ(rcan_problem([](auto& ck) {
              ck.tensors["tail.0.2.weight"] = {{40, 16, 3, 3}, std::vector<float>(40 * 144)};
            }),
            "tensor 'tail.0.2.weight' has 40 output channels, expected 64 or 144 (a factor 2 or "
            "3 of 16 features)");
  EXPECT_EQ(rcan_problem([](auto& ck) {
              ck.tensors["body.0.body.0.body.3.conv_du.0.weight"] = {{5, 16, 1, 1},
                                                                     std::vector<float>(80)};
            }),
            "tensor 'body.0.body.0.body.3.conv_du.0.weight' has 5 output channels, no divisor "
            "of the 16 features");
  EXPECT_EQ(rcan_problem([](auto& ck) { ck.tensors.erase("add_mean.bias"); }),
            "tensor 'add_mean.bias' is missing");
}

TEST(Rcan, TruncatedFilesFail) {
  test::expect_truncated_copies_fail(kArchs, {"rcan_tiny_x4.pth", "rcan_tiny_x4.safetensors"});
}

// Channel attention takes each block's mean over the whole image: tiles share the means of a
// first pass over the tiles (estimated, so close to but not exactly the whole image's): within
// one 8-bit level, as DAT's (measured 1.2e-3 at x4, 6e-5 for the unshuffle x2).
TEST(Rcan, Tile64MatchesTheWholeImage) {
  for (const char* file : {"rcan_tiny_x4.pth", "rcan_tiny_x2_unshuffle.pth"}) {
    const auto model = load_model_file(kArchs / file);
    const engine::Graph& g = model->graph();
    const test::TiledRun r = test::run_whole_and_tile64(g);
    EXPECT_GE(r.plan.context, g.receptive_radius);
    ASSERT_TRUE(r.plan.global_means) << "the channel attention's means are shared";
    const double err = max_abs_diff(r.whole, r.tiled);
    EXPECT_LT(err, 1.0 / 255) << file << ": tile 64 vs whole image";
    ::testing::Test::RecordProperty("tile64_max_abs_error", fmt::format("{:.3g}", err));
    std::cout << file << ": context " << r.plan.context << ", tile 64 vs whole image max error "
              << err << "\n";
  }
}

}  // namespace
}  // namespace hires
