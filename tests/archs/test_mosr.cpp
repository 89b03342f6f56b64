// MoSR (neosr, 2024; MambaOut's gated CNN blocks) from .pth and .safetensors against outputs
// computed by an independent PyTorch module (tools/make_mosr_fixtures.py): x4 'ps' (7x7, an
// identity part beside the conv part), x2 'gps' (the 8-conv geo ensemble, folded at load; conv
// ratio 0.5), x2 'dys' (DySample) and x3 with the conv part taking all hidden channels; every
// backend within 1e-4, the detected variant, errors naming the tensor, and tile 64 against the
// whole image.
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
#include "models/mosr.hpp"
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

class MosrFixture : public ::testing::TestWithParam<Fixture> {};

TEST_P(MosrFixture, EngineMatchesPyTorchWithin1e4) {
  const Fixture& f = GetParam();
  const auto model = load_model_file(kArchs / f.file);
  const ModelInfo& info = model->info();
  EXPECT_EQ(info.architecture, "mosr");
  EXPECT_EQ(info.variant, f.variant);
  EXPECT_EQ(info.format, f.format);
  EXPECT_EQ(info.scale, f.scale);
  const engine::Graph& g = model->graph();
  EXPECT_EQ(count(g, OpType::layer_norm), f.blocks);
  EXPECT_EQ(count(g, OpType::mish), 2 * f.blocks + 4);     // two per block, tail and shortcut
  EXPECT_EQ(count(g, OpType::scale_shift), f.blocks + 1);  // the "- 0.5"s
  test::expect_fixture_output(g, kArchs, f.io, f.file);
}

INSTANTIATE_TEST_SUITE_P(
    Archs, MosrFixture,
    ::testing::Values(Fixture{"mosr_tiny_x4.pth", "mosr_tiny_x4", "pth", 4, 2,
                              "8 dim, 2 blocks, 7x7, expansion 1.5, ps"},
                      Fixture{"mosr_tiny_x4.safetensors", "mosr_tiny_x4", "safetensors", 4, 2,
                              "8 dim, 2 blocks, 7x7, expansion 1.5, ps"},
                      Fixture{"mosr_tiny_x2_gps.pth", "mosr_tiny_x2_gps", "pth", 2, 1,
                              "6 dim, 1 block, 5x5, expansion 2, conv ratio 0.5, gps"},
                      Fixture{"mosr_tiny_x3_noident.pth", "mosr_tiny_x3_noident", "pth", 3, 1,
                              "8 dim, 1 block, 3x3, expansion 1, ps"},
                      Fixture{"mosr_tiny_x2_dys.pth", "mosr_tiny_x2_dys", "pth", 2, 1,
                              "8 dim, 1 block, 5x5, expansion 1.5, dys"}));

TEST(Mosr, HyperParametersComeFromNamesAndShapes) {
  const models::PthCheckpoint ck = models::load_pth(kArchs / "mosr_tiny_x2_gps.pth");
  const auto c = models::detect_mosr(lookup_in(ck.tensors), "x2.pth");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->in_ch, 3);
  EXPECT_EQ(c->dim, 6);
  EXPECT_EQ(c->blocks, 1);
  EXPECT_EQ(c->hidden, 12);
  EXPECT_EQ(c->conv_channels, 3);
  EXPECT_EQ(c->kernel, 5);
  EXPECT_EQ(c->upscale, 2);
  EXPECT_TRUE(c->geo_ensemble);
  // The released defaults: 64 dim, 24 blocks, 7x7, expansion 1.5.
  models::MosrConfig r = *c;
  r.dim = 64;
  r.blocks = 24;
  r.hidden = 96;
  r.conv_channels = 64;
  r.kernel = 7;
  r.geo_ensemble = false;
  EXPECT_EQ(models::mosr_variant(r), "64 dim, 24 blocks, 7x7, expansion 1.5, ps");
  for (const char* other : {"span_tiny_x4.pth", "plksr_tiny_x4.pth", "drct_tiny_x4.pth"}) {
    const models::PthCheckpoint o = models::load_pth(kArchs / other);
    EXPECT_FALSE(models::detect_mosr(lookup_in(o.tensors), other)) << other;
  }
}

// The problem text of loading the x4 fixture after `edit`.
std::string mosr_problem(const std::function<void(models::PthCheckpoint&)>& edit) {
  return test::edited_problem(kArchs / "mosr_tiny_x4.pth", edit, models::detect_mosr,
                              models::build_mosr);
}

TEST(Mosr, MismatchedTensorsAreNamed) {
  EXPECT_EQ(mosr_problem([](auto&) {}), "loaded");
  EXPECT_EQ(mosr_problem([](auto& ck) { ck.tensors.erase("gblocks.2.norm.bias"); }),
            "tensor 'gblocks.2.norm.bias' is missing");
  EXPECT_EQ(mosr_problem([](auto& ck) {
              ck.tensors["gblocks.2.conv.weight"] = {{8, 1, 5, 5}, std::vector<float>(200)};
            }),
            "tensor 'gblocks.2.conv.weight' is [8,1,5,5], expected [8,1,7,7]");
  EXPECT_EQ(mosr_problem([](auto& ck) { ck.tensors.erase("gblocks.7.weight"); }),
            "tensor 'gblocks.7.weight' is missing");  // the tail's 1x1 conv
  EXPECT_EQ(mosr_problem([](auto& ck) { ck.tensors.erase("shortcut.conv11.bias"); }),
            "tensor 'shortcut.conv11.bias' is missing");
  EXPECT_EQ(mosr_problem([](auto& ck) {
              ck.tensors["upsampler.init_pos"] = {{1, 32, 1, 1}, std::vector<float>(32)};
              ck.tensors["upsampler.end_conv.weight"] = {{3, 8, 1, 1}, std::vector<float>(24)};
              ck.tensors["upsampler.offset.weight"] = {{40, 8, 1, 1}, std::vector<float>(320)};
            }),
            "tensor 'upsampler.offset.weight' has 40 output channels: not 8 x scale^2 for a "
            "scale of 1 to 8");
  EXPECT_EQ(mosr_problem([](auto& ck) {
              ck.tensors["upsampler.0.weight"] = {{20, 8, 3, 3}, std::vector<float>(20 * 72)};
            }),
            "tensor 'upsampler.0.weight' has 20 output channels: no scale 1 to 8 for 3 image "
            "channels");
}

TEST(Mosr, TruncatedFilesFail) {
  test::expect_truncated_copies_fail(kArchs, {"mosr_tiny_x4.pth", "mosr_tiny_x4.safetensors"});
}

// Convolutions and per-pixel norms only: tiles with the receptive field as context match the
// whole image.
TEST(Mosr, Tile64MatchesTheWholeImage) {
  const auto model = load_model_file(kArchs / "mosr_tiny_x4.pth");
  const engine::Graph& g = model->graph();
  const test::TiledRun r = test::run_whole_and_tile64(g);
  EXPECT_GE(r.plan.context, g.receptive_radius);
  const double err = max_abs_diff(r.whole, r.tiled);
  EXPECT_LT(err, 1e-4) << "tile 64 vs whole image";
  ::testing::Test::RecordProperty("tile64_max_abs_error", fmt::format("{:.3g}", err));
  std::cout << "mosr_tiny_x4: context " << r.plan.context << ", tile 64 vs whole image max error "
            << err << "\n";
}

}  // namespace
}  // namespace hires
