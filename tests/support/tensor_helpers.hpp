// Helpers shared by the tests that run models against fixtures computed by PyTorch (tests/golden,
// tests/zoo): fixture tensors, op counts, and the comparison of outputs.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <string>

#include "engine/graph.hpp"
#include "engine/tensor.hpp"
#include "models/formats/safetensors.hpp"

namespace hires::test {

// The model-zoo fixtures (tools/make_zoo_fixtures.py, tools/make_cugan_fixture.py).
inline const std::filesystem::path kZoo = std::filesystem::path(HIRES_SOURCE_DIR) / "tests" / "zoo";

// A fixture's [1, C, H, W] tensor as an engine tensor.
inline engine::Tensor to_tensor(const models::TensorData& t) {
  EXPECT_EQ(t.shape.size(), 4U);
  engine::Tensor x(static_cast<int>(t.shape[1]), static_cast<int>(t.shape[2]),
                   static_cast<int>(t.shape[3]));
  x.data = t.values;
  return x;
}

// How many nodes of `g` are of type `t`.
inline int count(const engine::Graph& g, engine::OpType t) {
  return static_cast<int>(
      std::count_if(g.nodes.begin(), g.nodes.end(), [t](const auto& n) { return n.type == t; }));
}

inline double max_abs_diff(const engine::Tensor& a, const engine::Tensor& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, static_cast<double>(std::abs(a.data[i] - b.data[i])));
  }
  return worst;
}

// `got` (the output of `backend`) has `want`'s shape and is within 1e-4 of it everywhere; the
// error is recorded as the test's <backend>_max_abs_error property. Wrap in
// ASSERT_NO_FATAL_FAILURE to stop the test on a shape mismatch.
inline void expect_matches(const engine::Tensor& got, const engine::Tensor& want,
                           const std::string& what, const std::string& backend) {
  ASSERT_EQ(got.c, want.c);
  ASSERT_EQ(got.h, want.h);
  ASSERT_EQ(got.w, want.w);
  const double err = max_abs_diff(got, want);
  EXPECT_LT(err, 1e-4) << what << " on " << backend;
  ::testing::Test::RecordProperty(fmt::format("{}_max_abs_error", backend),
                                  fmt::format("{:.3g}", err));
}

}  // namespace hires::test
