// RRDBNet (ESRGAN / Real-ESRGAN) from .pth and .safetensors against outputs computed
// independently by PyTorch (tools/make_zoo_fixtures.py), and the realesr-animevideov3 .pth in
// ../shared against its ncnn twin.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "engine/backend.hpp"
#include "engine/tiler.hpp"
#include "hires/error.hpp"
#include "models/formats/pth_reader.hpp"
#include "models/formats/safetensors.hpp"
#include "models/model.hpp"
#include "models/rrdbnet.hpp"
#include "support/tensor_helpers.hpp"
#include "support/test_support.hpp"

namespace hires {
namespace {

namespace fs = std::filesystem;
using engine::OpType;

using namespace test;  // kZoo and the fixture helpers (support/tensor_helpers.hpp)

struct Fixture {
  const char* file;    // in tests/zoo
  const char* io;      // <io>.io.safetensors
  const char* format;  // ModelInfo::format
  int scale;
  int blocks;
  int upsamples = 2;  // nearest x2 + conv stages; the rest of 2^upsamples / scale is unshuffle
};

void PrintTo(const Fixture& f, std::ostream* os) {
  *os << f.file;
}

class RrdbFixture : public ::testing::TestWithParam<Fixture> {};

TEST_P(RrdbFixture, EngineMatchesPyTorchWithin1e4) {
  const Fixture& f = GetParam();
  const auto model = load_model_file(kZoo / f.file);
  const ModelInfo& info = model->info();
  EXPECT_EQ(info.architecture, "rrdbnet");
  EXPECT_EQ(info.format, f.format);
  EXPECT_EQ(info.scale, f.scale);
  const engine::Graph& g = model->graph();
  // conv_first, 15 per block, conv_body, one per upsample, conv_hr, conv_last.
  EXPECT_EQ(count(g, OpType::conv2d), 1 + 15 * f.blocks + 3 + f.upsamples);
  EXPECT_EQ(count(g, OpType::upsample_nearest), f.upsamples);
  const int unshuffle = (1 << f.upsamples) / f.scale;
  EXPECT_EQ(count(g, OpType::pixel_unshuffle), unshuffle == 1 ? 0 : 1);
  EXPECT_EQ(g.size_multiple, unshuffle);

  const models::SafeTensors io =
      models::load_safetensors(kZoo / (std::string(f.io) + ".io.safetensors"));
  const engine::Tensor input = to_tensor(io.get("input"));
  const engine::Tensor want = to_tensor(io.get("output"));
  for (const char* backend : {"reference", "cpu"}) {
    auto be = engine::make_backend(backend, g, {});
    const engine::Tensor got = be->run(input);
    ASSERT_NO_FATAL_FAILURE(test::expect_matches(got, want, f.file, backend));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Zoo, RrdbFixture,
    ::testing::Values(Fixture{"rrdb_tiny_x4.pth", "rrdb_tiny_x4", "pth", 4, 2},
                      Fixture{"rrdb_tiny_x4_esrgan_names.pth", "rrdb_tiny_x4", "pth", 4, 2},
                      Fixture{"rrdb_tiny_x4.safetensors", "rrdb_tiny_x4", "safetensors", 4, 2},
                      Fixture{"rrdb_tiny_x2.pth", "rrdb_tiny_x2", "pth", 2, 1},
                      Fixture{"rrdb_tiny_x1_fp16.pth", "rrdb_tiny_x1_fp16", "pth", 1, 1},
                      // The old sequential ESRGAN layout (model.0, model.1.sub.N.RDB1.conv1.0...).
                      Fixture{"rrdb_tiny_x4_old_layout.pth", "rrdb_tiny_x4", "pth", 4, 2},
                      Fixture{"rrdb_old_x1.pth", "rrdb_old_x1", "pth", 1, 1, 0},
                      Fixture{"rrdb_old_x2.pth", "rrdb_old_x2", "pth", 2, 1, 1},
                      Fixture{"rrdb_old_x8.pth", "rrdb_old_x8", "pth", 8, 1, 3}));

TEST(RrdbnetOldLayout, SameNetAsTheNewNames) {
  const auto old_model = load_model_file(kZoo / "rrdb_tiny_x4_old_layout.pth");
  const auto new_model = load_model_file(kZoo / "rrdb_tiny_x4.pth");
  EXPECT_EQ(old_model->info().architecture, "rrdbnet");
  EXPECT_EQ(old_model->info().scale, 4);
  EXPECT_EQ(old_model->info().parameters, new_model->info().parameters);
  const models::SafeTensors io = models::load_safetensors(kZoo / "rrdb_tiny_x4.io.safetensors");
  const engine::Tensor input = to_tensor(io.get("input"));
  const engine::Tensor a = old_model->run(BackendKind::cpu, input, 0);
  const engine::Tensor b = new_model->run(BackendKind::cpu, input, 0);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_LE(max_abs_diff(a, b), 1e-5);
}

TEST(RrdbnetOldLayout, HyperParametersComeFromNamesAndShapes) {
  const models::PthCheckpoint ck = models::load_pth(kZoo / "rrdb_old_x8.pth");
  const auto c = models::detect_rrdbnet(lookup_in(ck.tensors), "x8.pth");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->names, models::RrdbNames::sequential);
  EXPECT_EQ(c->num_feat, 8);
  EXPECT_EQ(c->num_grow_ch, 4);
  EXPECT_EQ(c->num_block, 1);
  EXPECT_EQ(c->num_upsample, 3);
  EXPECT_EQ(c->scale, 8);
  EXPECT_EQ(c->in_ch, 3);
  EXPECT_EQ(c->out_ch, 3);
  EXPECT_EQ(models::rrdb_stored_name(*c, "conv_up3.weight"), "model.9.weight");
  EXPECT_EQ(models::rrdb_stored_name(*c, "conv_hr.bias"), "model.11.bias");
  EXPECT_EQ(models::rrdb_stored_name(*c, "conv_last.weight"), "model.13.weight");
  EXPECT_EQ(models::rrdb_stored_name(*c, "conv_body.weight"), "model.1.sub.1.weight");
  EXPECT_EQ(models::rrdb_stored_name(*c, "body.0.rdb3.conv5.bias"),
            "model.1.sub.0.RDB3.conv5.0.bias");
}

// What went wrong with a file that is almost the old layout, in the words of the file's names.
std::string old_layout_problem(const std::function<void(models::PthCheckpoint&)>& edit) {
  models::PthCheckpoint ck = models::load_pth(kZoo / "rrdb_tiny_x4_old_layout.pth");
  edit(ck);
  const auto lookup = lookup_in(ck.tensors);
  try {
    const auto c = models::detect_rrdbnet(lookup, "old.pth");
    if (!c) return "not detected";
    models::build_rrdbnet(*c, lookup, "old.pth");
  } catch (const Error& e) {
    EXPECT_EQ(e.subject(), "model 'old.pth'");
    EXPECT_FALSE(e.hint().empty()) << e.what();
    return e.problem();
  }
  return "loaded";
}

TEST(RrdbnetOldLayout, AlmostTheLayoutIsAClearError) {
  EXPECT_EQ(old_layout_problem([](auto&) {}), "loaded");
  EXPECT_EQ(old_layout_problem([](auto& ck) {
              ck.tensors["model.1.sub.0.RDB1.conv1.1.weight"] = {{4}, std::vector<float>(4)};
            }),
            "old ESRGAN layout with normalisation layers (model.1.sub.0.RDB1.conv1.1)");
  EXPECT_EQ(old_layout_problem([](auto& ck) { ck.tensors.erase("model.0.weight"); }),
            "old ESRGAN layout (model.1.sub.N.RDB1...) without its first conv 'model.0.weight'");
  EXPECT_EQ(old_layout_problem([](auto& ck) { ck.tensors.erase("model.1.sub.2.weight"); }),
            "old ESRGAN layout with 2 blocks but no trunk conv 'model.1.sub.2.weight'");
  // A pixel-shuffle upsampler: conv to 4 x 8 channels at model.2, then model.5.
  EXPECT_EQ(old_layout_problem([](auto& ck) {
              ck.tensors["model.2.weight"] = {{32, 8, 3, 3}, std::vector<float>(32 * 8 * 9)};
            }),
            "old ESRGAN layout whose upsampler starts with a conv to 32 channels "
            "('model.2.weight'): a pixel-shuffle upsampler");
  EXPECT_EQ(old_layout_problem([](auto& ck) { ck.tensors.erase("model.8.weight"); }),
            "old ESRGAN layout with 2 upsample convs but no 'model.8.weight' (the HR conv)");
  EXPECT_EQ(old_layout_problem([](auto& ck) {
              ck.tensors["model.12.weight"] = {{3, 3, 3, 3}, std::vector<float>(81)};
            }),
            "old ESRGAN layout with an unexpected layer after the last conv "
            "('model.12.weight')");
  EXPECT_EQ(old_layout_problem([](auto& ck) {
              ck.tensors["model.6.weight"] = {{8, 4, 3, 3}, std::vector<float>(8 * 4 * 9)};
            }),
            "tensor 'model.6.weight' is [8,4,3,3], expected [8,8,3,3]");
  EXPECT_EQ(old_layout_problem([](auto& ck) {
              ck.tensors.erase("model.1.sub.0.RDB1.conv1.0.weight");
              ck.tensors["model.1.sub.0.res.0.weight"] = {{8, 8, 3, 3}, std::vector<float>(576)};
            }),
            "an old sequential SRResNet (model.1.sub.N.res), not an ESRGAN RRDBNet");
}

TEST(RrdbnetOldLayout, TheUnknownArchitectureHintNamesIt) {
  try {
    load_model_file(kZoo / "unknown_arch.pth");
    FAIL() << "loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.hint()).find("old 'model.N'"), std::string::npos) << e.what();
  }
}

TEST(Rrdbnet, HyperParametersComeFromTheWeights) {
  const models::PthCheckpoint ck = models::load_pth(kZoo / "rrdb_tiny_x2.pth");
  const models::WeightLookup lookup =
      [&](const std::string& name) -> std::optional<models::WeightView> {
    auto it = ck.tensors.find(name);
    if (it == ck.tensors.end()) return std::nullopt;
    return models::WeightView{it->second.shape, &it->second.values};
  };
  const auto c = models::detect_rrdbnet(lookup);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->num_feat, 8);
  EXPECT_EQ(c->num_grow_ch, 4);
  EXPECT_EQ(c->num_block, 1);
  EXPECT_EQ(c->scale, 2);
  EXPECT_EQ(c->in_ch, 3);
  EXPECT_EQ(c->out_ch, 3);
  EXPECT_EQ(c->names, models::RrdbNames::basicsr);
  EXPECT_EQ(c->num_upsample, 2);
  const auto model = load_model_file(kZoo / "rrdb_tiny_x2.pth");
  // conv_first (12 -> 8), a block of 3 dense blocks, four 8 -> 8 convs, conv_last (8 -> 3).
  const std::uint64_t rdb =
      (4 * 8 * 9 + 4) + (4 * 12 * 9 + 4) + (4 * 16 * 9 + 4) + (4 * 20 * 9 + 4) + (8 * 24 * 9 + 8);
  EXPECT_EQ(model->info().parameters,
            (8 * 12 * 9 + 8) + 3 * rdb + 4 * (8 * 8 * 9 + 8) + (3 * 8 * 9 + 3));
}

TEST(Rrdbnet, WrongOrMissingWeightsNameTheTensor) {
  models::PthCheckpoint ck = models::load_pth(kZoo / "rrdb_tiny_x4.pth");
  const models::WeightLookup lookup =
      [&](const std::string& name) -> std::optional<models::WeightView> {
    auto it = ck.tensors.find(name);
    if (it == ck.tensors.end()) return std::nullopt;
    return models::WeightView{it->second.shape, &it->second.values};
  };
  const models::RrdbConfig c = *models::detect_rrdbnet(lookup);
  ck.tensors.erase("body.1.rdb2.conv3.bias");
  try {
    models::build_rrdbnet(c, lookup, "tiny.pth");
    FAIL() << "built without body.1.rdb2.conv3.bias";
  } catch (const Error& e) {
    EXPECT_EQ(e.subject(), "model 'tiny.pth'");
    EXPECT_EQ(e.problem(), "tensor 'body.1.rdb2.conv3.bias' is missing");
  }
  ck.tensors["body.1.rdb2.conv3.bias"] = {{5}, std::vector<float>(5)};
  try {
    models::build_rrdbnet(c, lookup, "tiny.pth");
    FAIL() << "built with a wrong shape";
  } catch (const Error& e) {
    EXPECT_EQ(e.problem(), "tensor 'body.1.rdb2.conv3.bias' is [5], expected [4]");
  }
}

// RRDBNet's receptive radius is wide (15 convs per block): an image that fits the budget at once
// runs as one tile and one band, not as small tiles each of which reads the whole image.
TEST(RrdbnetTiles, AnImageThatFitsTheBudgetIsOneTile) {
  const auto model = load_model_file(kZoo / "rrdb_tiny_x4.pth");
  const engine::Graph& g = model->graph();
  EXPECT_GE(g.receptive_radius, 2 * 15);
  // The dense blocks' concatenations keep every step of a block alive: far more than a plain
  // chain of 24-channel convs (3 x 24 + the output).
  const double peak = engine::peak_floats_per_pixel(g);
  EXPECT_GT(peak, 3 * 24 + 2 * 16 * 3);
  // A budget whose half holds 100 x 80 input pixels at that peak: one tile.
  const auto budget = static_cast<std::uint64_t>(2 * 4 * peak * 100 * 80 * 1.01);
  const engine::TilePlan whole = engine::plan_tiles(g, 0, budget, 100, 80);
  EXPECT_GE(whole.tile, 100);
  EXPECT_GE(whole.band, 80);
  // Without the height (or for a larger image) the tile follows the budget and the radius:
  // the tile with its context fits in half the budget.
  for (const auto& p :
       {engine::plan_tiles(g, 0, budget, 100), engine::plan_tiles(g, 0, budget, 1000, 800)}) {
    EXPECT_LT(p.tile, 100);
    const double side = std::max(32, p.tile) + 2.0 * p.context;
    EXPECT_TRUE(p.tile == 32 || side * side * 4 * peak <= budget / 2.0);
  }
  EXPECT_EQ(engine::plan_tiles(g, 48, budget, 100, 80).tile, 48);  // asked for
}

// The same network as PyTorch .pth (fp32) and as ncnn (fp16 weights): both readers, one engine.
TEST(ZooShared, AnimeVideoV3PthAgreesWithItsNcnnTwin) {
  HIRES_REQUIRE_SHARED(dir, "models/realesr-animevideov3");
  const auto pth = load_model_file(dir / "realesr-animevideov3.pth");
  EXPECT_EQ(pth->info().architecture, "srvgg");
  EXPECT_EQ(pth->info().format, "pth");
  EXPECT_EQ(pth->info().scale, 4);
  // 16 body convs between the first and the last, PReLU after all but the last.
  EXPECT_EQ(count(pth->graph(), OpType::conv2d), 18);
  EXPECT_EQ(count(pth->graph(), OpType::prelu), 17);
  const auto ncnn = load_model_file(dir / "realesr-animevideov3-x4.param");
  ASSERT_EQ(ncnn->info().scale, 4);

  // A 40 x 32 crop of a smooth pattern with edges and fine texture.
  engine::Tensor input(3, 32, 40);
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < input.h; ++y) {
      for (int x = 0; x < input.w; ++x) {
        const double v = 0.5 + 0.3 * std::sin(0.3 * x + 0.7 * c) * std::cos(0.2 * y) +
                         (((x / 6) + (y / 5)) % 2 == 0 ? 0.15 : -0.15);
        input.at(c, y, x) = static_cast<float>(std::clamp(v, 0.0, 1.0));
      }
    }
  }
  const engine::Tensor a = pth->run(BackendKind::cpu, input, 0);
  const engine::Tensor b = ncnn->run(BackendKind::cpu, input, 0);
  ASSERT_EQ(a.c, b.c);
  ASSERT_EQ(a.h, b.h);
  ASSERT_EQ(a.w, b.w);
  double sum = 0;
  double max_err = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = std::abs(static_cast<double>(a.data[i]) - b.data[i]);
    sum += d;
    max_err = std::max(max_err, d);
  }
  const double mae = sum / static_cast<double>(a.size());
  std::cout << fmt::format("[ zoo ] animevideov3 .pth vs ncnn: MAE {:.3e}, max {:.3e}\n", mae,
                           max_err);
  RecordProperty("mae", fmt::format("{:.3e}", mae));
  EXPECT_LT(mae, 1e-2);
  EXPECT_GT(max_err, 0.0) << "fp32 and fp16 weights should differ a little";
}

}  // namespace
}  // namespace hires
