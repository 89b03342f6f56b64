// The vulkan backend against outputs computed independently by PyTorch: the golden SRVGG nets,
// the RRDBNet and Real-CUGAN fixtures of tests/zoo (concat, scaled adds, pixel unshuffle,
// deconvolutions, SE pooling, reflect padding), and realesr-general-x4v3 from ../shared. fp32
// storage and arithmetic: the same 1e-4 bound as the cpu backend; fp16 storage (where the
// device has it, lavapipe does): within one 8-bit level.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "engine/backend.hpp"
#include "hires/devices.hpp"
#include "models/formats/ncnn/reader.hpp"
#include "models/formats/safetensors.hpp"
#include "models/model.hpp"
#include "support/tensor_helpers.hpp"
#include "support/test_support.hpp"
#include "support/vulkan_skip.hpp"

namespace hires {
namespace {

namespace fs = std::filesystem;
const fs::path kGoldenDir = fs::path(HIRES_SOURCE_DIR) / "tests" / "golden";

struct Fixture {
  const char* model;  // under tests/
  const char* io;     // <io>.io.safetensors under tests/
  // fp16 values: the largest error allowed, one 8-bit level unless the net's values grow large
  // (fp16 keeps 11 significant bits: its rounding grows with the magnitude stored).
  double fp16_bound = 1.0 / 255;
};

void PrintTo(const Fixture& f, std::ostream* os) {
  *os << f.model;
}

class VulkanGolden : public ::testing::TestWithParam<Fixture> {};

TEST_P(VulkanGolden, MatchesPyTorchWithin1e4) {
  HIRES_REQUIRE_VULKAN();
  const Fixture& f = GetParam();
  const fs::path tests = fs::path(HIRES_SOURCE_DIR) / "tests";
  const auto model = load_model_file(tests / f.model);
  const models::SafeTensors io =
      models::load_safetensors(tests / (std::string(f.io) + ".io.safetensors"));
  const engine::Tensor input = test::to_tensor(io.get("input"));
  const engine::Tensor want = test::to_tensor(io.get("output"));
  auto be = engine::make_backend(BackendKind::vulkan, model->graph(), {});
  ASSERT_NO_FATAL_FAILURE(test::expect_matches(be->run(input), want, f.model, "vulkan"));
  // Again on the recorded commands of the first run (one plan per tile shape).
  ASSERT_NO_FATAL_FAILURE(test::expect_matches(be->run(input), want, f.model, "vulkan_again"));
  if (!list_gpus().devices.at(0).fp16_storage) return;
  // fp16 values (arithmetic fp32): within the fixture's bound.
  engine::BackendOptions o;
  o.storage = engine::ValueStorage::fp16;
  auto half = engine::make_backend(BackendKind::vulkan, model->graph(), o);
  EXPECT_NE(half->describe().find("fp16 values"), std::string::npos) << half->describe();
  const double err = test::max_abs_diff(half->run(input), want);
  EXPECT_LT(err, f.fp16_bound) << f.model << " with fp16 values";
  RecordProperty("vulkan_fp16_max_abs_error", fmt::format("{:.3g}", err));
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, VulkanGolden,
    ::testing::Values(
        Fixture{"golden/srvgg_tiny_prelu_x2.safetensors", "golden/srvgg_tiny_prelu_x2"},
        Fixture{"golden/srvgg_tiny_leaky_x4.safetensors", "golden/srvgg_tiny_leaky_x4"},
        Fixture{"golden/srvgg_tiny_relu_x3.safetensors", "golden/srvgg_tiny_relu_x3"},
        Fixture{"zoo/rrdb_tiny_x4.safetensors", "zoo/rrdb_tiny_x4"},
        Fixture{"zoo/rrdb_tiny_x2.pth", "zoo/rrdb_tiny_x2"},
        Fixture{"zoo/rrdb_tiny_x1_fp16.pth", "zoo/rrdb_tiny_x1_fp16"},
        Fixture{"zoo/rrdb_old_x8.pth", "zoo/rrdb_old_x8"},
        Fixture{"zoo/realcugan_tiny_x2.param", "zoo/realcugan_tiny_x2"},
        // Random weights: its values reach 10.7 (fp16's spacing there is 2^-7); measured 0.0104,
        // mean 0.0018.
        Fixture{"zoo/realcugan_tiny_x4.param", "zoo/realcugan_tiny_x4", 4.0 / 255}),
    [](const ::testing::TestParamInfo<Fixture>& p) {
      std::string name = fs::path(p.param.model).filename().string();
      for (char& c : name) c = std::isalnum(static_cast<unsigned char>(c)) != 0 ? c : '_';
      return name;
    });

// realesr-general-x4v3 (SRVGG, 64 channels, 32 convs, PReLU) from ../shared against PyTorch in
// float64 (tools/make_ncnn_reference.py), with the bounds of test_reference_models.cpp.
TEST(VulkanGoldenShared, RealesrGeneralX4v3MatchesPyTorchFloat64) {
  HIRES_REQUIRE_VULKAN();
  HIRES_REQUIRE_SHARED(dir, "models/realesr-general-x4v3-ncnn");
  const engine::Graph graph =
      models::load_ncnn(dir / "realesr-general-x4v3.param", dir / "realesr-general-x4v3.bin");
  const models::SafeTensors fixture =
      models::load_safetensors(kGoldenDir / "realesr_general_x4v3_ref.safetensors");
  // fp32 values, then fp16 ones where the device has 16-bit storage: the same bounds (the
  // MAE bound is a quarter of an 8-bit level; fp16 measures about 1.5e-4 here on lavapipe).
  std::vector<engine::ValueStorage> storages{engine::ValueStorage::fp32};
  if (list_gpus().devices.at(0).fp16_storage) storages.push_back(engine::ValueStorage::fp16);
  for (const engine::ValueStorage storage : storages) {
    engine::BackendOptions o;
    o.storage = storage;
    auto be = engine::make_backend(BackendKind::vulkan, graph, o);
    const char* values = storage == engine::ValueStorage::fp16 ? "fp16" : "fp32";
    int crops = 0;
    for (const auto& [key, t] : fixture.tensors) {
      if (!key.ends_with(".input")) continue;
      const std::string crop = key.substr(0, key.size() - 6);
      const engine::Tensor got = be->run(test::to_tensor(t));
      const engine::Tensor want = test::to_tensor(fixture.get(crop + ".output"));
      ASSERT_EQ(got.size(), want.size()) << crop;
      double sum = 0, worst = 0;
      for (std::size_t i = 0; i < got.size(); ++i) {
        const double e = std::abs(static_cast<double>(got.data[i]) - want.data[i]);
        sum += e;
        worst = std::max(worst, e);
      }
      const double mae = sum / static_cast<double>(got.size());
      std::cout << fmt::format(
          "[ vulkan ] realesr-general-x4v3 {}, {} values: MAE {:.3e}, max "
          "{:.3e}\n",
          crop, values, mae, worst);
      EXPECT_LT(mae, 1e-3) << crop << ", " << values;
      EXPECT_LT(worst, 2e-2) << crop << ", " << values;
      ++crops;
    }
    EXPECT_GE(crops, 3);
  }
}

}  // namespace
}  // namespace hires
