// SPAN (Wan et al., CVPRW 2024) from .pth and .safetensors against outputs computed by an
// independent PyTorch module (tools/make_arch_fixtures.py, Conv3XC in its unfused training form):
// both backends within 1e-4, the detected variant and scale of every fixture, clear errors naming
// the tensor for mismatched and truncated files, and tiles that agree with the whole image.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/backend.hpp"
#include "engine/tiler.hpp"
#include "hires/error.hpp"
#include "models/formats/pth_reader.hpp"
#include "models/formats/safetensors.hpp"
#include "models/model.hpp"
#include "models/span.hpp"
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
  int features;
  int blocks;
  bool norm;
  const char* variant;
};

void PrintTo(const Fixture& f, std::ostream* os) {
  *os << f.file;
}

class SpanFixture : public ::testing::TestWithParam<Fixture> {};

TEST_P(SpanFixture, EngineMatchesPyTorchWithin1e4) {
  const Fixture& f = GetParam();
  const auto model = load_model_file(kArchs / f.file);
  const ModelInfo& info = model->info();
  EXPECT_EQ(info.architecture, "span");
  EXPECT_EQ(info.variant, f.variant);
  EXPECT_EQ(info.format, f.format);
  EXPECT_EQ(info.scale, f.scale);
  const engine::Graph& g = model->graph();
  // Every Conv3XC is one 3x3 conv: conv_1, three per block, conv_2; plus conv_cat, the
  // upsampler's conv and the normalisation's 1x1.
  EXPECT_EQ(count(g, OpType::conv2d), 2 + 3 * f.blocks + 2 + (f.norm ? 1 : 0));
  EXPECT_EQ(count(g, OpType::silu), 2 * f.blocks);
  EXPECT_EQ(count(g, OpType::pixel_shuffle), f.scale > 1 ? 1 : 0);
  const models::SafeTensors io =
      models::load_safetensors(kArchs / (std::string(f.io) + ".io.safetensors"));
  const engine::Tensor input = to_tensor(io.get("input"));
  const engine::Tensor want = to_tensor(io.get("output"));
  // Every backend here: reference, cpu, and vulkan where a Vulkan device exists (lavapipe in CI).
  for (BackendKind kind : engine::backend_order()) {
    auto be = engine::make_backend(kind, g, {});
    const std::string name(backend_name(kind));
    ASSERT_NO_FATAL_FAILURE(test::expect_matches(be->run(input), want, f.file, name.c_str()));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Archs, SpanFixture,
    ::testing::Values(
        Fixture{"span_tiny_x4.pth", "span_tiny_x4", "pth", 4, 4, 6, true, "4nf, 6 blocks, norm"},
        Fixture{"span_tiny_x4.safetensors", "span_tiny_x4", "safetensors", 4, 4, 6, true,
                "4nf, 6 blocks, norm"},
        Fixture{"span_tiny_x2_nonorm.pth", "span_tiny_x2_nonorm", "pth", 2, 4, 2, false,
                "4nf, 2 blocks, no norm"},
        Fixture{"span_tiny_x2_nonorm.safetensors", "span_tiny_x2_nonorm", "safetensors", 2, 4, 2,
                false, "4nf, 2 blocks, no norm"},
        Fixture{"span_tiny_x3.pth", "span_tiny_x3", "pth", 3, 6, 1, true, "6nf, 1 blocks, norm"},
        Fixture{"span_tiny_x1_nonorm.pth", "span_tiny_x1_nonorm", "pth", 1, 4, 2, false,
                "4nf, 2 blocks, no norm"}));

TEST(Span, HyperParametersComeFromNamesAndShapes) {
  const models::PthCheckpoint ck = models::load_pth(kArchs / "span_tiny_x3.pth");
  const auto c = models::detect_span(lookup_in(ck.tensors), "x3.pth");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->in_ch, 3);
  EXPECT_EQ(c->out_ch, 3);
  EXPECT_EQ(c->feature_channels, 6);
  EXPECT_EQ(c->blocks, 1);
  EXPECT_EQ(c->upscale, 3);
  EXPECT_TRUE(c->norm);
  // Not SPAN: an RRDBNet's tensors.
  const models::PthCheckpoint other = models::load_pth(test::kZoo / "rrdb_tiny_x4.pth");
  EXPECT_FALSE(models::detect_span(lookup_in(other.tensors), "rrdb.pth"));
}

// The problem text of loading the x4 fixture after `edit`.
std::string span_problem(const std::function<void(models::PthCheckpoint&)>& edit) {
  return test::edited_problem(kArchs / "span_tiny_x4.pth", edit, models::detect_span,
                              models::build_span);
}

TEST(Span, MismatchedTensorsAreNamed) {
  EXPECT_EQ(span_problem([](auto&) {}), "loaded");
  EXPECT_EQ(span_problem([](auto& ck) {
              ck.tensors["block_2.c2_r.conv.1.weight"] = {{8, 8, 3, 1}, std::vector<float>(192)};
            }),
            "tensor 'block_2.c2_r.conv.1.weight' is [8,8,3,1], expected [8,8,3,3]");
  EXPECT_EQ(span_problem([](auto& ck) { ck.tensors.erase("conv_cat.bias"); }),
            "tensor 'conv_cat.bias' is missing");
  EXPECT_EQ(span_problem([](auto& ck) {
              ck.tensors["conv_cat.weight"] = {{4, 12, 1, 1}, std::vector<float>(48)};
            }),
            "tensor 'conv_cat.weight' is [4,12,1,1], expected [4,16,1,1]");
  EXPECT_EQ(span_problem([](auto& ck) {
              ck.tensors["upsampler.0.weight"] = {{47, 4, 3, 3}, std::vector<float>(47 * 36)};
            }),
            "tensor 'upsampler.0.weight' has 47 output channels: no scale 1 to 8 for 3 image "
            "channels");
  EXPECT_EQ(span_problem([](auto& ck) {
              ck.tensors["conv_1.sk.weight"] = {{4, 1, 1, 1}, std::vector<float>(4)};
            }),
            "SPAN with RGB mean normalisation on 1 input channels");
}

TEST(Span, TruncatedFilesAreClearErrors) {
  test::expect_truncated_copies_fail(kArchs, {"span_tiny_x4.safetensors", "span_tiny_x4.pth"});
}

TEST(Span, Tile64MatchesTheWholeImage) {
  const auto model = load_model_file(kArchs / "span_tiny_x4.pth");
  const engine::Graph& g = model->graph();
  // 3x3 convs on the longest path: conv_1, 3 per block, conv_2 and the upsampler conv.
  EXPECT_EQ(g.receptive_radius, 21);
  engine::Tensor in(3, 150, 170);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < in.h; ++y)
      for (int x = 0; x < in.w; ++x)
        in.at(c, y, x) = 0.5F + 0.45F * std::sin(0.21F * x + 0.7F * c) * std::cos(0.17F * y);
  auto backend = engine::make_backend("cpu", g, {});
  const engine::Tensor whole = backend->run(in);
  const engine::TilePlan plan = engine::plan_tiles(g, 64, 1ULL << 30, in.w, in.h);
  ASSERT_EQ(plan.tile, 64);
  const double err = max_abs_diff(whole, run_tiled(g, *backend, plan, in));
  EXPECT_LT(err, 1.0 / 255);
  EXPECT_LT(err, 1e-4);
  ::testing::Test::RecordProperty("tile64_max_abs_error", fmt::format("{:.3g}", err));
}

}  // namespace
}  // namespace hires
