// OmniSR (Wang et al., CVPR 2023) from .pth and .safetensors against outputs computed by an
// independent PyTorch module (tools/make_omnisr_fixtures.py): x2 (no position bias, no conv
// biases, two blocks), x3 and x4 (two groups); windows of 4 and 8, inputs that are no multiple
// of the window (zero padding); both backends within 1e-4, the detected variant, errors naming
// the tensor, and tiles against the whole image (grid attention, the grid's channel attention
// and ESA's pooling span the image: tiles approximate them).
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
#include "models/omnisr.hpp"
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
  int blocks;  // OSA blocks in all
  int groups;  // OSAGs
  const char* variant;
};

void PrintTo(const Fixture& f, std::ostream* os) {
  *os << f.file;
}

class OmnisrFixture : public ::testing::TestWithParam<Fixture> {};

TEST_P(OmnisrFixture, EngineMatchesPyTorchWithin1e4) {
  const Fixture& f = GetParam();
  const auto model = load_model_file(kArchs / f.file);
  const ModelInfo& info = model->info();
  EXPECT_EQ(info.architecture, "omnisr");
  EXPECT_EQ(info.variant, f.variant);
  EXPECT_EQ(info.format, f.format);
  EXPECT_EQ(info.scale, f.scale);
  const engine::Graph& g = model->graph();
  EXPECT_EQ(count(g, OpType::window_attention), 2 * f.blocks);  // block and grid
  EXPECT_EQ(count(g, OpType::grid_to_windows), f.blocks);
  EXPECT_EQ(count(g, OpType::windows_to_grid), f.blocks);
  EXPECT_EQ(count(g, OpType::channel_attention), 2 * f.blocks);
  EXPECT_EQ(count(g, OpType::global_avg_pool), f.blocks);  // the MBConv's squeeze-excitation
  EXPECT_EQ(count(g, OpType::max_pool), f.groups);         // ESA
  EXPECT_EQ(count(g, OpType::resize_bilinear_like), f.groups);
  // Two attentions, four feed-forward networks and two channel attentions per block.
  EXPECT_EQ(count(g, OpType::layer_norm), 8 * f.blocks);
  test::expect_fixture_output(g, kArchs, f.io, f.file);
}

INSTANTIATE_TEST_SUITE_P(
    Archs, OmnisrFixture,
    ::testing::Values(Fixture{"omnisr_tiny_x4.pth", "omnisr_tiny_x4", "pth", 4, 2, 2,
                              "16nf, 2 groups x 1 block, window 4"},
                      Fixture{"omnisr_tiny_x4.safetensors", "omnisr_tiny_x4", "safetensors", 4, 2,
                              2, "16nf, 2 groups x 1 block, window 4"},
                      Fixture{"omnisr_tiny_x2_nope.pth", "omnisr_tiny_x2_nope", "pth", 2, 2, 1,
                              "8nf, 1 group x 2 blocks, window 8, no position bias"},
                      Fixture{"omnisr_tiny_x3.pth", "omnisr_tiny_x3", "pth", 3, 1, 1,
                              "12nf, 1 group x 1 block, window 4"}));

TEST(Omnisr, HyperParametersComeFromNamesAndShapes) {
  const models::PthCheckpoint ck = models::load_pth(kArchs / "omnisr_tiny_x4.pth");
  const auto c = models::detect_omnisr(lookup_in(ck.tensors), "x4.pth");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->in_ch, 3);
  EXPECT_EQ(c->out_ch, 3);
  EXPECT_EQ(c->features, 16);
  EXPECT_EQ(c->groups, 2);
  EXPECT_EQ(c->blocks, 1);
  EXPECT_EQ(c->window, 4);
  EXPECT_TRUE(c->pe);
  EXPECT_EQ(c->upscale, 4);
  EXPECT_EQ(c->esa_channels, 16);  // max(16 / 4, 16)
  // The released OmniSR x4: 64 features, 5 groups of 1 block, window 8.
  models::OmnisrConfig r = *c;
  r.features = 64;
  r.groups = 5;
  r.window = 8;
  EXPECT_EQ(models::omnisr_variant(r), "64nf, 5 groups x 1 block, window 8");
  // Not OmniSR: the other transformers' files, and OmniSR is taken for none of them.
  for (const char* other : {"swinir_tiny_x2_classical.pth", "hat_tiny_x4.pth", "dat_tiny_x4.pth"}) {
    const models::PthCheckpoint o = models::load_pth(kArchs / other);
    EXPECT_FALSE(models::detect_omnisr(lookup_in(o.tensors), other)) << other;
  }
}

// The problem text of loading the x4 fixture after `edit`.
std::string omnisr_problem(const std::function<void(models::PthCheckpoint&)>& edit) {
  return test::edited_problem(kArchs / "omnisr_tiny_x4.pth", edit, models::detect_omnisr,
                              models::build_omnisr);
}

TEST(Omnisr, MismatchedTensorsAreNamed) {
  const std::string b = "residual_layer.1.residual_layer.0.layer.";
  EXPECT_EQ(omnisr_problem([](auto&) {}), "loaded");
  EXPECT_EQ(omnisr_problem([&](auto& ck) { ck.tensors.erase(b + "8.fn.to_out.0.weight"); }),
            "tensor '" + b + "8.fn.to_out.0.weight' is missing");
  EXPECT_EQ(omnisr_problem([&](auto& ck) {
              ck.tensors[b + "11.fn.temperature"] = {{3, 1, 1}, std::vector<float>(3, 1.0F)};
            }),
            "tensor '" + b + "11.fn.temperature' is missing or not [heads, 1, 1]");
  EXPECT_EQ(omnisr_problem([&](auto& ck) {
              ck.tensors[b + "2.fn.rel_pos_bias.weight"] = {{49, 3}, std::vector<float>(147)};
            }),
            "tensor '" + b + "2.fn.rel_pos_bias.weight' is [49,3], expected [49,4]");
  EXPECT_EQ(omnisr_problem([&](auto& ck) { ck.tensors.erase("residual_layer.1.esa.conv3.bias"); }),
            "tensor 'residual_layer.1.esa.conv3.bias' is missing");
  EXPECT_EQ(omnisr_problem([](auto& ck) {
              ck.tensors["up.0.weight"] = {{20, 16, 3, 3}, std::vector<float>(20 * 16 * 9)};
            }),
            "tensor 'up.0.weight' has 20 output channels: no scale 1 to 8 for 3 image channels");
}

// PyTorch refuses images under 15 pixels a side (ESA's 7x7 pooling after a stride-2 conv); hires
// zero-pads them further and crops the result back.
TEST(Omnisr, TinyImagesRun) {
  const auto model = load_model_file(kArchs / "omnisr_tiny_x4.pth");
  for (const auto& [w, h] : {std::pair{7, 5}, std::pair{1, 1}, std::pair{12, 3}}) {
    engine::Tensor in(3, h, w);
    for (std::size_t i = 0; i < in.size(); ++i) in.data[i] = 0.1F * static_cast<float>(i % 7);
    const engine::Tensor out = engine::make_backend("cpu", model->graph(), {})->run(in);
    EXPECT_EQ(out.w, 4 * w);
    EXPECT_EQ(out.h, 4 * h);
    for (float v : out.data) ASSERT_TRUE(std::isfinite(v));
  }
}

TEST(Omnisr, TruncatedFilesFail) {
  test::expect_truncated_copies_fail(kArchs, {"omnisr_tiny_x4.pth", "omnisr_tiny_x4.safetensors"});
}

// Grid attention, the grid's channel attention and ESA's pooling span the whole image, so
// images up to the largest tile (8192 px) run whole; tiles of a larger one are an approximation
// (measured here at tile 64, with the statistics shared where the engine can).
TEST(Omnisr, Tile64AgainstTheWholeImage) {
  const auto model = load_model_file(kArchs / "omnisr_tiny_x4.pth");
  const engine::Graph& g = model->graph();
  EXPECT_EQ(g.tile_align, 4);
  EXPECT_TRUE(engine::has_global_context(g));
  const test::TiledRun r = test::run_whole_and_tile64(g);
  ASSERT_TRUE(r.plan.global_means);
  const double err = max_abs_diff(r.whole, r.tiled);
  const double mean = test::mean_abs_diff(r.tiled, r.whole);
  EXPECT_LT(mean, 0.05) << "tile 64 vs whole image, mean";
  ::testing::Test::RecordProperty("tile64_max_abs_error", fmt::format("{:.3g}", err));
  std::cout << "omnisr_tiny_x4: context " << r.plan.context << ", tile 64 vs whole image max error "
            << err << ", mean " << mean << "\n";
}

}  // namespace
}  // namespace hires
