// RRDBNet (ESRGAN / Real-ESRGAN) from .pth and .safetensors against outputs computed
// independently by PyTorch (tools/make_zoo_fixtures.py), and the realesr-animevideov3 .pth in
// ../shared against its ncnn twin.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "engine/backend.hpp"
#include "hires/error.hpp"
#include "models/formats/pth_reader.hpp"
#include "models/formats/safetensors.hpp"
#include "models/model.hpp"
#include "models/rrdbnet.hpp"
#include "support/test_support.hpp"

namespace hires {
namespace {

namespace fs = std::filesystem;
using engine::OpType;

const fs::path kZoo = fs::path(HIRES_SOURCE_DIR) / "tests" / "zoo";

engine::Tensor to_tensor(const models::TensorData& t) {
  EXPECT_EQ(t.shape.size(), 4U);
  engine::Tensor x(static_cast<int>(t.shape[1]), static_cast<int>(t.shape[2]),
                   static_cast<int>(t.shape[3]));
  x.data = t.values;
  return x;
}

int count(const engine::Graph& g, OpType t) {
  return static_cast<int>(
      std::count_if(g.nodes.begin(), g.nodes.end(), [&](const auto& n) { return n.type == t; }));
}

struct Fixture {
  const char* file;    // in tests/zoo
  const char* io;      // <io>.io.safetensors
  const char* format;  // ModelInfo::format
  int scale;
  int blocks;
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
  // conv_first, 15 per block, conv_body, conv_up1, conv_up2, conv_hr, conv_last.
  EXPECT_EQ(count(g, OpType::conv2d), 1 + 15 * f.blocks + 5);
  EXPECT_EQ(count(g, OpType::pixel_unshuffle), f.scale == 4 ? 0 : 1);
  EXPECT_EQ(g.size_multiple, 4 / f.scale);

  const models::SafeTensors io =
      models::load_safetensors(kZoo / (std::string(f.io) + ".io.safetensors"));
  const engine::Tensor input = to_tensor(io.get("input"));
  const engine::Tensor want = to_tensor(io.get("output"));
  for (const char* backend : {"reference", "cpu"}) {
    auto be = engine::make_backend(backend, g, {});
    const engine::Tensor got = be->run(input);
    ASSERT_EQ(got.c, want.c);
    ASSERT_EQ(got.h, want.h);
    ASSERT_EQ(got.w, want.w);
    double max_err = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
      max_err = std::max(max_err, static_cast<double>(std::abs(got.data[i] - want.data[i])));
    }
    EXPECT_LT(max_err, 1e-4) << f.file << " on " << backend;
    RecordProperty(fmt::format("{}_max_abs_error", backend), fmt::format("{:.3g}", max_err));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Zoo, RrdbFixture,
    ::testing::Values(Fixture{"rrdb_tiny_x4.pth", "rrdb_tiny_x4", "pth", 4, 2},
                      Fixture{"rrdb_tiny_x4_esrgan_names.pth", "rrdb_tiny_x4", "pth", 4, 2},
                      Fixture{"rrdb_tiny_x4.safetensors", "rrdb_tiny_x4", "safetensors", 4, 2},
                      Fixture{"rrdb_tiny_x2.pth", "rrdb_tiny_x2", "pth", 2, 1},
                      Fixture{"rrdb_tiny_x1_fp16.pth", "rrdb_tiny_x1_fp16", "pth", 1, 1}));

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
  EXPECT_FALSE(c->esrgan_names);
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
  const engine::Tensor a = pth->backend("cpu", 0).run(input);
  const engine::Tensor b = ncnn->backend("cpu", 0).run(input);
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
