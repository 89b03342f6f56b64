// Helpers shared by the tests that run models against fixtures computed by PyTorch (tests/golden,
// tests/zoo): fixture tensors, op counts, and the comparison of outputs.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/backend.hpp"
#include "engine/graph.hpp"
#include "engine/tensor.hpp"
#include "engine/tiler.hpp"
#include "hires/devices.hpp"
#include "hires/error.hpp"
#include "models/formats/pth_reader.hpp"
#include "models/formats/safetensors.hpp"
#include "models/model.hpp"
#include "models/srvgg.hpp"

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

inline double mean_abs_diff(const engine::Tensor& a, const engine::Tensor& b) {
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += std::abs(a.data[i] - b.data[i]);
  return sum / static_cast<double>(a.size());
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

// A fixture's tensors as the weight lookup the architecture builders read.
inline models::WeightLookup lookup_in(const std::map<std::string, models::TensorData>& tensors) {
  return [&tensors](const std::string& name) -> std::optional<models::WeightView> {
    auto it = tensors.find(name);
    if (it == tensors.end()) return std::nullopt;
    return models::WeightView{it->second.shape, &it->second.values};
  };
}

// The tiler's reader of rectangles of `in` (which must outlive it).
inline engine::ReadFn reader_of(const engine::Tensor& in) {
  return [&in](const core::Rect& r) {
    engine::Tensor t(in.c, r.height, r.width);
    for (int c = 0; c < in.c; ++c)
      for (int y = 0; y < r.height; ++y)
        for (int x = 0; x < r.width; ++x) t.at(c, y, x) = in.at(c, r.top + y, r.left + x);
    return t;
  };
}

// The problem text of detecting and building an architecture from `tensors` ("x.pth"):
// `build` returns false when the file is not detected as it ("not detected"); "loaded" when it
// builds; else the Error's problem, whose subject must be "model 'x.pth'" with a hint.
inline std::string build_problem(const std::map<std::string, models::TensorData>& tensors,
                                 const std::function<bool(const models::WeightLookup&)>& build) {
  try {
    if (!build(lookup_in(tensors))) return "not detected";
  } catch (const Error& e) {
    EXPECT_EQ(e.subject(), "model 'x.pth'");
    EXPECT_FALSE(e.hint().empty()) << e.what();
    return e.problem();
  }
  return "loaded";
}

// The problem text (build_problem's) of detecting and building the .pth `file` after `edit`,
// with an architecture's detect_* and build_* functions.
template <class Detect, class Build>
std::string edited_problem(const std::filesystem::path& file,
                           const std::function<void(models::PthCheckpoint&)>& edit, Detect detect,
                           Build build) {
  models::PthCheckpoint ck = models::load_pth(file);
  edit(ck);
  return build_problem(ck.tensors, [&](const models::WeightLookup& lookup) {
    const auto c = detect(lookup, "x.pth");
    if (c) build(*c, lookup, "x.pth");
    return c.has_value();
  });
}

// Copies each of `files` cut to 2/3 of its bytes into a fresh folder and expects loading it to
// fail with Error(input) naming the file.
inline void expect_truncated_copies_fail(const std::filesystem::path& folder,
                                         const std::vector<std::string>& files) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / fmt::format("hires-cut-{}", ::getpid());
  fs::create_directories(dir);
  for (const std::string& name : files) {
    std::ifstream in(folder / name, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
    const fs::path cut = dir / name;
    std::ofstream(cut, std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size() * 2 / 3));
    try {
      load_model_file(cut);
      ADD_FAILURE() << name << " loaded when truncated";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::input) << e.what();
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
      std::cout << name << " cut to 2/3: " << e.what() << "\n";
    }
  }
  fs::remove_all(dir);
}

// Runs `g` over `in` in tiles as the tiler does (plan.tile, its band and context).
inline engine::Tensor run_tiled(const engine::Graph& g, engine::Backend& backend,
                                const engine::TilePlan& plan, const engine::Tensor& in) {
  const int s = g.scale;
  engine::Tensor out(g.out_channels, in.h * s, in.w * s);
  const engine::ReadFn read = reader_of(in);
  for (int y0 = 0; y0 < in.h; y0 += plan.band) {
    const int y1 = std::min(in.h, y0 + plan.band);
    engine::run_band(g, backend, plan, in.w, in.h, y0, y1, read,
                     [&](const engine::Tensor& t, int sy, int sx, int rows, int cols, int dx) {
                       for (int c = 0; c < out.c; ++c)
                         for (int y = 0; y < rows; ++y)
                           for (int x = 0; x < cols; ++x) {
                             out.at(c, y0 * s + y, dx + x) = t.at(c, sy + y, sx + x);
                           }
                     });
  }
  return out;
}

// Runs `<folder>/<io>.io.safetensors`' input through `g` on every backend (vulkan where a Vulkan
// device exists, lavapipe in CI) and expects each output within 1e-4 of the fixture's; vulkan
// also with fp16 values where the device has 16-bit storage, within 1/255.
inline void expect_fixture_output(const engine::Graph& g, const std::filesystem::path& folder,
                                  const std::string& io, const std::string& file) {
  const models::SafeTensors st = models::load_safetensors(folder / (io + ".io.safetensors"));
  const engine::Tensor input = to_tensor(st.get("input"));
  const engine::Tensor want = to_tensor(st.get("output"));
  for (BackendKind kind : engine::backend_order()) {
    auto be = engine::make_backend(kind, g, {});
    const std::string name(backend_name(kind));
    ASSERT_NO_FATAL_FAILURE(expect_matches(be->run(input), want, file, name));
    if (kind == BackendKind::vulkan && list_gpus().devices.at(0).fp16_storage) {
      // fp16 storage (11 significant bits per stored value, arithmetic fp32): the whole
      // network's roundings within one 8-bit level of the output's scale (its largest
      // magnitude, at least 1: random-weight fixtures reach 7), the saved image's precision.
      engine::BackendOptions o;
      o.storage = engine::ValueStorage::fp16;
      const double err = max_abs_diff(engine::make_backend(kind, g, o)->run(input), want);
      double scale = 1.0;
      for (const float v : want.data) scale = std::max(scale, static_cast<double>(std::abs(v)));
      EXPECT_LT(err, scale / 255) << file << " on vulkan with fp16 values";
      ::testing::Test::RecordProperty("vulkan_fp16_max_abs_error", fmt::format("{:.3g}", err));
    }
  }
}

// A smooth 3-channel test image of 170x150 pixels.
inline engine::Tensor wave_image() {
  engine::Tensor in(3, 150, 170);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < in.h; ++y)
      for (int x = 0; x < in.w; ++x)
        in.at(c, y, x) = 0.5F + 0.45F * std::sin(0.21F * x + 0.7F * c) * std::cos(0.17F * y);
  return in;
}

// `g` on wave_image() whole and in tiles of 64 (after the first pass that shares global
// statistics, where the graph has them) on the cpu backend, with the plan used.
struct TiledRun {
  engine::TilePlan plan;
  engine::Tensor whole, tiled;
};
inline TiledRun run_whole_and_tile64(const engine::Graph& g) {
  const engine::Tensor in = wave_image();
  auto backend = engine::make_backend("cpu", g, {});
  TiledRun r;
  r.whole = backend->run(in);
  r.plan = engine::plan_tiles(g, 64, 1ULL << 30, in.w, in.h);
  EXPECT_EQ(r.plan.tile, 64);
  EXPECT_EQ(r.plan.context % g.tile_align, 0);
  engine::prepare_plan(g, *backend, r.plan, in.w, in.h, reader_of(in));
  r.tiled = run_tiled(g, *backend, r.plan, in);
  return r;
}

}  // namespace hires::test
