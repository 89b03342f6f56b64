// Real-CUGAN from its PyTorch files (UpCunet v3 names) against outputs computed by an independent
// PyTorch module (tools/make_cugan_pth_fixtures.py): x2 'pro' (.pth and .safetensors), x3, x4
// and x2 fast, on sizes that are no multiple of the released padding's (the one reflect pad of
// the image is the released code's); every backend within 1e-4, the detected variant, errors
// naming the tensor, and tiles against the whole image (the SE means shared by the tiles).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "engine/tiler.hpp"
#include "hires/error.hpp"
#include "models/formats/ncnn/reader.hpp"
#include "models/formats/pth_reader.hpp"
#include "models/model.hpp"
#include "models/realcugan.hpp"
#include "support/tensor_helpers.hpp"
#include "support/test_support.hpp"

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
  const char* variant;
};

void PrintTo(const Fixture& f, std::ostream* os) {
  *os << f.file;
}

class RealcuganFixture : public ::testing::TestWithParam<Fixture> {};

TEST_P(RealcuganFixture, EngineMatchesPyTorchWithin1e4) {
  const Fixture& f = GetParam();
  const auto model = load_model_file(kArchs / f.file);
  const ModelInfo& info = model->info();
  EXPECT_EQ(info.architecture, "realcugan");
  EXPECT_EQ(info.variant, f.variant);
  EXPECT_EQ(info.format, f.format);
  EXPECT_EQ(info.scale, f.scale);
  const engine::Graph& g = model->graph();
  EXPECT_EQ(count(g, OpType::global_avg_pool), 4);  // the SE blocks: one in UNet1, three in UNet2
  EXPECT_EQ(count(g, OpType::pad_to_multiple), 1);
  test::expect_fixture_output(g, kArchs, f.io, f.file);
}

INSTANTIATE_TEST_SUITE_P(
    Archs, RealcuganFixture,
    ::testing::Values(
        Fixture{"realcugan_tiny_x2_pro.pth", "realcugan_tiny_x2_pro", "pth", 2, "x2 pro"},
        Fixture{"realcugan_tiny_x2_pro.safetensors", "realcugan_tiny_x2_pro", "safetensors", 2,
                "x2 pro"},
        Fixture{"realcugan_tiny_x3.pth", "realcugan_tiny_x3", "pth", 3, "x3"},
        Fixture{"realcugan_tiny_x4.pth", "realcugan_tiny_x4", "pth", 4, "x4"},
        Fixture{"realcugan_tiny_x2_fast.pth", "realcugan_tiny_x2_fast", "pth", 2, "x2 fast"}));

TEST(Realcugan, VariantsComeFromNamesAndShapes) {
  const struct {
    const char* file;
    int scale;
    bool fast, pro;
  } cases[] = {{"realcugan_tiny_x2_pro.pth", 2, false, true},
               {"realcugan_tiny_x3.pth", 3, false, false},
               {"realcugan_tiny_x4.pth", 4, false, false},
               {"realcugan_tiny_x2_fast.pth", 2, true, false}};
  for (const auto& k : cases) {
    const models::PthCheckpoint ck = models::load_pth(kArchs / k.file);
    const auto c = models::detect_realcugan(lookup_in(ck.tensors), k.file);
    ASSERT_TRUE(c) << k.file;
    EXPECT_EQ(c->scale, k.scale) << k.file;
    EXPECT_EQ(c->fast, k.fast) << k.file;
    EXPECT_EQ(c->pro, k.pro) << k.file;
    EXPECT_EQ(c->in_ch, 3) << k.file;
    EXPECT_EQ(c->out_ch, 3) << k.file;
  }
  for (const char* other : {"rcan_tiny_x4.pth", "mosr_tiny_x4.pth", "hat_tiny_x4.pth"}) {
    const models::PthCheckpoint o = models::load_pth(kArchs / other);
    EXPECT_FALSE(models::detect_realcugan(lookup_in(o.tensors), other)) << other;
  }
}

// The problem text of loading the x4 fixture after `edit`.
std::string cugan_problem(const std::function<void(models::PthCheckpoint&)>& edit) {
  return test::edited_problem(kArchs / "realcugan_tiny_x4.pth", edit, models::detect_realcugan,
                              models::build_realcugan);
}

TEST(Realcugan, MismatchedTensorsAreNamed) {
  EXPECT_EQ(cugan_problem([](auto&) {}), "loaded");
  EXPECT_EQ(cugan_problem([](auto& ck) { ck.tensors.erase("unet2.conv3.seblock.conv2.bias"); }),
            "tensor 'unet2.conv3.seblock.conv2.bias' is missing");
  EXPECT_EQ(cugan_problem([](auto& ck) { ck.tensors.erase("unet1.conv2_up.weight"); }),
            "tensor 'unet1.conv2_up.weight' is missing");
  EXPECT_EQ(cugan_problem([](auto& ck) {
              ck.tensors["unet2.conv5.weight"] = {{8, 8, 5, 5}, std::vector<float>(8 * 8 * 25)};
            }),
            "tensor 'unet2.conv5.weight' is [8,8,5,5], expected [8,8,3,3]");
  EXPECT_EQ(cugan_problem([](auto& ck) {
              ck.tensors["unet2.conv1.conv.0.weight"] = {{4, 5, 3, 3}, std::vector<float>(180)};
            }),
            "tensor 'unet2.conv1.conv.0.weight' is [4,5,3,3], expected [4,8,3,3]");
}

TEST(Realcugan, TruncatedFilesFail) {
  test::expect_truncated_copies_fail(
      kArchs, {"realcugan_tiny_x2_pro.pth", "realcugan_tiny_x2_pro.safetensors"});
}

// SE blocks take means over the whole image: tiles share those of a first pass over the tiles
// (close to the whole image's, not exact); the context covers the released pre-padding.
TEST(Realcugan, Tile64MatchesTheWholeImage) {
  for (const char* file : {"realcugan_tiny_x2_pro.pth", "realcugan_tiny_x3.pth"}) {
    const auto model = load_model_file(kArchs / file);
    const engine::Graph& g = model->graph();
    const test::TiledRun r = test::run_whole_and_tile64(g);
    EXPECT_GE(r.plan.context, g.receptive_radius);
    ASSERT_TRUE(r.plan.global_means) << "the SE means are shared";
    const double err = max_abs_diff(r.whole, r.tiled);
    EXPECT_LT(err, 1.0 / 255) << file << ": tile 64 vs whole image";
    ::testing::Test::RecordProperty("tile64_max_abs_error", fmt::format("{:.3g}", err));
    std::cout << file << ": context " << r.plan.context << ", tile 64 vs whole image max error "
              << err << "\n";
  }
}

// The real weights: bilibili's up2x/up4x-conservative from ../shared's ncnn files, put under the
// PyTorch names (the convolutions in forward order, as both files hold them) and run through the
// .pth builder: the same output as the ncnn graph (which adds the pre-padding itself).
TEST(Realcugan, ReleasedWeightsMatchTheNcnnGraph) {
  HIRES_REQUIRE_SHARED(dir, "models/realcugan-ncnn");
  for (const auto& [stem, tiny] : {std::pair{"up2x-conservative", "realcugan_tiny_x2_pro.pth"},
                                   std::pair{"up4x-conservative", "realcugan_tiny_x4.pth"}}) {
    const engine::Graph ncnn =
        models::load_ncnn(dir / (std::string(stem) + ".param"), dir / (std::string(stem) + ".bin"));
    // The PyTorch names, in forward order, from the fixture of that variant.
    const auto names_of = [](const engine::Graph& g) {
      std::vector<const engine::Node*> convs;
      for (const engine::Node& n : g.nodes) {
        if (n.type == OpType::conv2d || n.type == OpType::deconv2d) convs.push_back(&n);
      }
      return convs;
    };
    const auto fixture = load_model_file(kArchs / tiny);
    const std::vector<const engine::Node*> names = names_of(fixture->graph());
    const std::vector<const engine::Node*> weights = names_of(ncnn);
    ASSERT_EQ(names.size(), weights.size()) << stem;
    std::map<std::string, models::TensorData> tensors;
    for (std::size_t i = 0; i < names.size(); ++i) {
      const engine::Node& w = *weights[i];
      ASSERT_EQ(w.type, names[i]->type) << stem << ": " << names[i]->name;
      const std::int64_t a = w.type == OpType::conv2d ? w.out_channels : w.in_channels;
      const std::int64_t b = w.type == OpType::conv2d ? w.in_channels : w.out_channels;
      tensors[names[i]->name + ".weight"] = {{a, b, w.kernel, w.kernel}, w.weight};
      tensors[names[i]->name + ".bias"] = {{w.out_channels}, w.bias};
    }
    const auto lookup = lookup_in(tensors);
    const auto c = models::detect_realcugan(lookup, stem);
    ASSERT_TRUE(c) << stem;
    const engine::Graph pth = models::build_realcugan(*c, lookup, stem);
    const engine::Tensor in = test::wave_image();  // 170x150: even sides, as the ncnn path needs
    const engine::Tensor want = engine::make_backend("cpu", ncnn, {})->run(in);
    const engine::Tensor got = engine::make_backend("cpu", pth, {})->run(in);
    ASSERT_EQ(got.size(), want.size()) << stem;
    const double err = max_abs_diff(got, want);
    EXPECT_LT(err, 1e-4) << stem;
    std::cout << stem << ": PyTorch-named build vs the ncnn graph, max error " << err << "\n";
  }
}

}  // namespace
}  // namespace hires
