// Our engine against outputs computed independently by PyTorch (tools/make_golden.py).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "engine/backend.hpp"
#include "models/formats/safetensors.hpp"
#include "models/model.hpp"
#include "support/tensor_helpers.hpp"

namespace hires {
namespace {

const std::filesystem::path kGolden = std::filesystem::path(HIRES_SOURCE_DIR) / "tests" / "golden";

using test::to_tensor;

class Golden : public ::testing::TestWithParam<const char*> {};

TEST_P(Golden, EngineMatchesPyTorchWithin1e4) {
  const std::string name = GetParam();
  const auto model = load_model_file(kGolden / (name + ".safetensors"));
  const models::SafeTensors io = models::load_safetensors(kGolden / (name + ".io.safetensors"));
  const engine::Tensor input = to_tensor(io.get("input"));
  const engine::Tensor want = to_tensor(io.get("output"));
  for (const char* backend : {"reference", "cpu"}) {
    auto be = engine::make_backend(backend, model->graph(), {});
    const engine::Tensor got = be->run(input);
    ASSERT_NO_FATAL_FAILURE(test::expect_matches(got, want, name, backend));
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Golden,
                         ::testing::Values("srvgg_tiny_prelu_x2", "srvgg_tiny_leaky_x4",
                                           "srvgg_tiny_relu_x3"));

TEST(GoldenModel, MetadataIsRead) {
  const auto model = load_model_file(kGolden / "srvgg_tiny_prelu_x2.safetensors");
  const ModelInfo& info = model->info();
  EXPECT_EQ(info.name, "srvgg-tiny-prelu-x2");
  EXPECT_EQ(info.architecture, "srvgg");
  EXPECT_EQ(info.format, "safetensors");
  EXPECT_EQ(info.scale, 2);
  // 3->8 conv, 3 x (8->8 conv + prelu), prelu after the first, 8->12 last conv.
  EXPECT_EQ(info.parameters, (8 * 27 + 8) + 8 + 3 * (8 * 72 + 8 + 8) + (12 * 72 + 12));
  EXPECT_EQ(model->graph().receptive_radius, 5);
}

}  // namespace
}  // namespace hires
