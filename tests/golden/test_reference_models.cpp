// Real Real-ESRGAN compact models (ncnn files in ../shared) run by our engine against outputs
// computed independently by PyTorch in float64 from a separate Python ncnn parser
// (tools/make_ncnn_reference.py): mean absolute error under 1e-3, max under 2e-2, per crop and per
// backend. The measured errors are printed and recorded as test properties.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "engine/backend.hpp"
#include "engine/graph.hpp"
#include "engine/tensor.hpp"
#include "models/formats/ncnn/reader.hpp"
#include "models/formats/safetensors.hpp"
#include "support/test_support.hpp"

namespace hires {
namespace {

namespace fs = std::filesystem;

const fs::path kGolden = fs::path(HIRES_SOURCE_DIR) / "tests" / "golden";

constexpr double kMaxMeanAbsError = 1e-3;
constexpr double kMaxAbsError = 2e-2;

struct RefModel {
  const char* fixture;  // tests/golden/<fixture>.safetensors
  const char* folder;   // under ../shared/models
  const char* stem;     // <stem>.param / <stem>.bin
};

const RefModel kModels[] = {
    {"realesr_general_x4v3_ref", "realesr-general-x4v3-ncnn", "realesr-general-x4v3"},
    {"realesr_animevideov3_ref", "realesr-animevideov3", "realesr-animevideov3-x4"},
};

// Readable test names in ctest (instead of the bytes of the struct).
void PrintTo(const RefModel& m, std::ostream* os) {
  *os << m.stem;
}

engine::Tensor to_tensor(const models::TensorData& t) {
  EXPECT_EQ(t.shape.size(), 4U);
  EXPECT_EQ(t.shape[0], 1);
  engine::Tensor x(static_cast<int>(t.shape[1]), static_cast<int>(t.shape[2]),
                   static_cast<int>(t.shape[3]));
  x.data = t.values;
  return x;
}

// Crop names: the fixture's "<name>.input" tensors, in name order.
std::vector<std::string> crop_names(const models::SafeTensors& st) {
  const std::string suffix = ".input";
  std::vector<std::string> names;
  for (const auto& [key, value] : st.tensors) {
    if (key.size() > suffix.size() && key.ends_with(suffix)) {
      names.push_back(key.substr(0, key.size() - suffix.size()));
    }
  }
  return names;
}

std::string meta(const models::SafeTensors& st, const std::string& key) {
  const auto it = st.metadata.find(key);
  return it == st.metadata.end() ? std::string("?") : it->second;
}

class ReferenceModels : public ::testing::TestWithParam<RefModel> {};

TEST_P(ReferenceModels, EngineMatchesPyTorchFloat64) {
  const RefModel& m = GetParam();
  HIRES_REQUIRE_SHARED(dir, std::string("models/") + m.folder);
  const fs::path param = dir / (std::string(m.stem) + ".param");
  const fs::path bin = dir / (std::string(m.stem) + ".bin");
  const engine::Graph graph = models::load_ncnn(param, bin);
  const models::SafeTensors fixture =
      models::load_safetensors(kGolden / (std::string(m.fixture) + ".safetensors"));
  const std::vector<std::string> crops = crop_names(fixture);
  ASSERT_GE(crops.size(), 3U) << "fixture " << m.fixture << " has too few crops";

  for (const char* backend_name : {"reference", "cpu"}) {
    auto backend = engine::make_backend(backend_name, graph, {});
    for (const std::string& crop : crops) {
      SCOPED_TRACE(fmt::format("{} {} on {} (fixture made from .bin sha256 {})", m.stem, crop,
                               backend_name, meta(fixture, "model_bin_sha256")));
      const engine::Tensor input = to_tensor(fixture.get(crop + ".input"));
      const engine::Tensor want = to_tensor(fixture.get(crop + ".output"));
      const auto start = std::chrono::steady_clock::now();
      const engine::Tensor got = backend->run(input);
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count();
      ASSERT_EQ(got.c, want.c);
      ASSERT_EQ(got.h, want.h);
      ASSERT_EQ(got.w, want.w);
      ASSERT_EQ(got.size(), want.size());
      double sum = 0;
      double max_err = 0;
      for (std::size_t i = 0; i < got.size(); ++i) {
        const double e = std::abs(static_cast<double>(got.data[i]) - want.data[i]);
        sum += e;
        max_err = std::max(max_err, e);  // NaN compares false: caught by the sum below
      }
      const double mae = sum / static_cast<double>(got.size());
      std::cout << fmt::format("[ reference-model ] {} {} {}: MAE {:.3e}, max {:.3e} ({:.0f} ms)\n",
                               m.stem, crop, backend_name, mae, max_err, ms);
      RecordProperty(fmt::format("{}_{}_mae", crop, backend_name), fmt::format("{:.3e}", mae));
      RecordProperty(fmt::format("{}_{}_max", crop, backend_name), fmt::format("{:.3e}", max_err));
      EXPECT_LT(mae, kMaxMeanAbsError);
      EXPECT_LT(max_err, kMaxAbsError);
    }
  }
}

std::string fixture_name(const ::testing::TestParamInfo<RefModel>& p) {
  return p.param.fixture;
}

INSTANTIATE_TEST_SUITE_P(Shared, ReferenceModels, ::testing::ValuesIn(kModels), fixture_name);

}  // namespace
}  // namespace hires
