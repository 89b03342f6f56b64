// The AI path end to end through the CLI: tiling, the pass planner, alpha, grey, model errors.
#include <gtest/gtest.h>
#include <cstdint>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>

#include "support/test_support.hpp"

namespace hires {
namespace {

using test::load;
using test::pattern_image;
using test::run_hires;
using test::TempDir;
namespace fs = std::filesystem;

const fs::path kGolden = fs::path(HIRES_SOURCE_DIR) / "tests" / "golden";
std::string model(const char* name) {
  return (kGolden / (std::string(name) + ".safetensors")).string();
}

// A 16-bit image with texture everywhere, so that every tile has work to do.
fs::path textured(const TempDir& dir, int w, int h, int bands, const char* name = "in.png") {
  test::init_vips();
  vips::VImage noise =
      vips::VImage::gaussnoise(w, h, vips::VImage::option()->set("sigma", 0.2)).linear(1.0, 0.5);
  vips::VImage base = pattern_image(w, h, bands, true).cast(VIPS_FORMAT_FLOAT) / 65535.0;
  vips::VImage mixed = (base * 0.5 + noise * 0.5) * 65535.0;
  if (bands == 4) {  // keep alpha smooth
    mixed = mixed.extract_band(0, vips::VImage::option()->set("n", 3))
                .bandjoin(pattern_image(w, h, 4, true).extract_band(3));
  }
  const fs::path p = dir / name;
  mixed.cast(VIPS_FORMAT_USHORT)
      .copy(vips::VImage::option()->set(
          "interpretation", bands >= 3 ? VIPS_INTERPRETATION_RGB16 : VIPS_INTERPRETATION_GREY16))
      .pngsave(p.c_str());
  return p;
}

double max_abs_diff(const vips::VImage& a, const vips::VImage& b) {
  return (a.cast(VIPS_FORMAT_DOUBLE) - b.cast(VIPS_FORMAT_DOUBLE)).abs().max();
}

TEST(Ai, TileSizeDoesNotChangeTheOutput) {
  TempDir dir;
  const fs::path in = textured(dir, 45, 37, 3);
  std::vector<vips::VImage> outs;
  for (const char* tile : {"0", "16", "7"}) {
    const fs::path out = dir / (std::string("t") + tile + ".png");
    const auto r = run_hires({in.string(), "-o", out.string(), "-m", model("srvgg_tiny_prelu_x2"),
                              "-s", "2", "-t", tile});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    outs.push_back(load(out));
  }
  EXPECT_EQ(outs[0].width(), 90);
  EXPECT_EQ(outs[0].format(), VIPS_FORMAT_USHORT);
  // Within 1/255 is the requirement; full context makes it float rounding only.
  EXPECT_LE(max_abs_diff(outs[0], outs[1]), 2.0);
  EXPECT_LE(max_abs_diff(outs[0], outs[2]), 2.0);
}

TEST(Ai, ScaleBelowTheModelsRunsOnePassThenAnExactResize) {
  TempDir dir;
  const fs::path in = textured(dir, 20, 16, 3);
  const std::string m = model("srvgg_tiny_leaky_x4");
  auto r = run_hires({in.string(), "-o", (dir / "x2.png").string(), "-m", m, "-s", "2", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(test::json_event(r.out, "done")["model_passes"], 1);
  r = run_hires({in.string(), "-o", (dir / "x4.png").string(), "-m", m, "-s", "4"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_hires({(dir / "x4.png").string(), "-o", (dir / "x4-half.png").string(), "-s", "0.5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const vips::VImage direct = load(dir / "x2.png");
  EXPECT_EQ(direct.width(), 40);
  EXPECT_EQ(direct.height(), 32);
  // The model's 4x output shrunk by 2 in linear light, not a mosaic of tiles.
  EXPECT_LE(max_abs_diff(direct, load(dir / "x4-half.png")), 2.0);
}

TEST(Ai, ScaleAboveTheModelsChainsPasses) {
  TempDir dir;
  const fs::path in = textured(dir, 6, 5, 3);
  auto r = run_hires({in.string(), "-o", (dir / "x8.png").string(), "-m",
                      model("srvgg_tiny_prelu_x2"), "-s", "8", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(test::json_event(r.out, "done")["model_passes"], 3);
  EXPECT_EQ(load(dir / "x8.png").width(), 48);
  r = run_hires({in.string(), "-o", (dir / "x8b.png").string(), "-m", model("srvgg_tiny_leaky_x4"),
                 "-s", "8", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(test::json_event(r.out, "done")["model_passes"], 2);
  EXPECT_EQ(load(dir / "x8b.png").height(), 40);
}

TEST(Ai, AlphaIsUpscaledSeparatelyAndKept) {
  TempDir dir;
  const fs::path in = textured(dir, 24, 20, 4);
  auto r = run_hires({in.string(), "-o", (dir / "ai.png").string(), "-m",
                      model("srvgg_tiny_prelu_x2"), "-s", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_hires({in.string(), "-o", (dir / "lz.png").string(), "-m", "lanczos", "-s", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const vips::VImage ai = load(dir / "ai.png");
  const vips::VImage lz = load(dir / "lz.png");
  ASSERT_EQ(ai.bands(), 4);
  EXPECT_LE(max_abs_diff(ai.extract_band(3), lz.extract_band(3)), 1.0);
}

TEST(Ai, GreyComesBackGrey) {
  TempDir dir;
  const fs::path in = textured(dir, 16, 12, 1);
  const auto r = run_hires(
      {in.string(), "-o", (dir / "g.png").string(), "-m", model("srvgg_tiny_relu_x3"), "-s", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const vips::VImage g = load(dir / "g.png");
  EXPECT_EQ(g.bands(), 1);
  EXPECT_EQ(g.width(), 48);
}

TEST(Ai, CommunityArchitecturesAreListedWithTheirFacts) {
  const fs::path archs = fs::path(HIRES_SOURCE_DIR) / "tests" / "archs";
  const auto r = run_hires({"models", "--json", "--models-dir", archs.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  int seen = 0;
  for (const auto& m : nlohmann::json::parse(r.out)) {
    const fs::path source = m.value("source", std::string());
    if (source.filename() == "span_tiny_x4.safetensors") {
      ++seen;
      EXPECT_EQ(m["architecture"], "span");
      EXPECT_EQ(m["variant"], "4nf, 6 blocks, norm");
      EXPECT_EQ(m["scale"], 4);
      EXPECT_EQ(m["format"], "safetensors");
    }
    if (source.filename() == "realplksr_tiny_x4.pth") {
      ++seen;
      EXPECT_EQ(m["architecture"], "realplksr");
      EXPECT_EQ(m["variant"], "8dim, 2 blocks, 17x17 on 2, DCCM, GroupNorm");
      EXPECT_EQ(m["scale"], 4);
      EXPECT_GT(m["parameters"].get<int>(), 0);
    }
  }
  EXPECT_EQ(seen, 2) << r.out;
}

TEST(Ai, ModelsAreListedFromAModelsDir) {
  const auto r = run_hires({"models", "--json", "--models-dir", kGolden.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto list = nlohmann::json::parse(r.out);
  bool found = false;
  for (const auto& m : list) {
    if (m["name"] == "srvgg-tiny-prelu-x2") {
      found = true;
      EXPECT_EQ(m["scale"], 2);
      EXPECT_EQ(m["architecture"], "srvgg");
      EXPECT_EQ(m["parameters"], 2884);
    }
  }
  EXPECT_TRUE(found) << r.out;
  // And found by name.
  TempDir dir;
  const fs::path in = textured(dir, 8, 8, 3);
  const auto by_name =
      run_hires({in.string(), "-o", (dir / "n.png").string(), "-m", "srvgg-tiny-prelu-x2",
                 "--models-dir", kGolden.string(), "-s", "2"});
  EXPECT_EQ(by_name.exit_code, 0) << by_name.err;
}

// Parameter counts of tests/zoo's tiny RRDBNets (8 features, growth 4, 3 channels): per dense
// block 4 convs of growth 4 over 8, 12, 16, 20 channels and one of 8 over 24.
constexpr std::uint64_t kConv8 = 8 * 8 * 9 + 8;
constexpr std::uint64_t kRrdb = 3 * ((4 * 8 * 9 + 4) + (4 * 12 * 9 + 4) + (4 * 16 * 9 + 4) +
                                     (4 * 20 * 9 + 4) + (8 * 24 * 9 + 8));
// conv_first (3 -> 8), the blocks, trunk conv, `upsamples` upsample convs, HR conv, conv_last.
constexpr std::uint64_t tiny_rrdb_parameters(int blocks, int upsamples) {
  return (8 * 3 * 9 + 8) + blocks * kRrdb + (2 + upsamples) * kConv8 + (3 * 8 * 9 + 3);
}

TEST(Ai, ModelsJsonListsNameArchitectureScaleParametersAndSource) {
  TempDir dir;
  const fs::path zoo = fs::path(HIRES_SOURCE_DIR) / "tests" / "zoo";
  for (const char* f :
       {"rrdb_tiny_x4.pth", "rrdb_tiny_x4_old_layout.pth", "rrdb_old_x2.pth", "unknown_arch.pth"}) {
    fs::copy_file(zoo / f, dir / f);
  }
  const auto r = run_hires({"models", "--json", "--models-dir", dir.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto list = nlohmann::json::parse(r.out);
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& m : list) by_name[m.at("name").get<std::string>()] = m;

  struct Want {
    const char* name;
    int scale;
    std::uint64_t parameters;
  };
  for (const Want& w : {Want{"rrdb_tiny_x4", 4, tiny_rrdb_parameters(2, 2)},
                        Want{"rrdb_tiny_x4_old_layout", 4, tiny_rrdb_parameters(2, 2)},
                        Want{"rrdb_old_x2", 2, tiny_rrdb_parameters(1, 1)}}) {
    ASSERT_TRUE(by_name.count(w.name)) << w.name << " not listed in " << r.out;
    const auto& m = by_name[w.name];
    EXPECT_EQ(m.at("architecture"), "rrdbnet") << w.name;
    EXPECT_EQ(m.at("scale"), w.scale) << w.name;
    EXPECT_EQ(m.at("parameters").get<std::uint64_t>(), w.parameters) << w.name;
    EXPECT_EQ(m.at("source"), (dir / (std::string(w.name) + ".pth")).string()) << w.name;
    EXPECT_EQ(m.at("format"), "pth") << w.name;
    EXPECT_EQ(m.at("builtin"), false) << w.name;
  }
  EXPECT_FALSE(by_name.count("unknown_arch")) << "a file no architecture matches is left out";
  for (const auto& [name, scale] : {std::pair{"photo-x4", 4}, std::pair{"photo-x2", 2}}) {
    ASSERT_TRUE(by_name.count(name)) << r.out;
    const auto& m = by_name[name];
    EXPECT_EQ(m.at("architecture"), "srvgg");
    EXPECT_EQ(m.at("scale"), scale);
    EXPECT_GT(m.at("parameters").get<std::uint64_t>(), 10000U);
    EXPECT_EQ(m.at("source"), std::string("builtin:") + name);
    EXPECT_EQ(m.at("builtin"), true);
  }

  // An old-layout ESRGAN runs by name like any other model.
  const fs::path in = textured(dir, 6, 5, 3);
  const auto up = run_hires({in.string(), "-o", (dir / "old.png").string(), "-m",
                             "rrdb_tiny_x4_old_layout", "--models-dir", dir.path().string()});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_EQ(load(dir / "old.png").width(), 24);
}

TEST(Ai, VerboseSaysWhichEngineRan) {
  TempDir dir;
  const fs::path in = textured(dir, 8, 8, 3);
  const auto r = run_hires({in.string(), "-o", (dir / "v.png").string(), "-m",
                            model("srvgg_tiny_prelu_x2"), "-s", "2", "-v"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("\nhires: engine: cpu: "), std::string::npos) << r.err;
  const auto ref =
      run_hires({in.string(), "-o", (dir / "r.png").string(), "-m", model("srvgg_tiny_prelu_x2"),
                 "-s", "2", "-v", "--backend", "reference"});
  ASSERT_EQ(ref.exit_code, 0) << ref.err;
  EXPECT_NE(ref.err.find(
                "\nhires: engine: reference: plain loops (asked for; OMP_WAIT_POLICY=passive)\n"),
            std::string::npos)
      << ref.err;
  EXPECT_LE(max_abs_diff(load(dir / "v.png"), load(dir / "r.png")), 2.0);
}

// HIRES_BACKEND forces the plain path for `auto` only: an explicit --backend wins, and -v says
// which ran and why.
TEST(Ai, ExplicitBackendWinsOverTheEnvironmentSwitch) {
  TempDir dir;
  const fs::path in = textured(dir, 8, 8, 3);
  ASSERT_EQ(setenv("HIRES_BACKEND", "reference", 1), 0);
  const auto forced = run_hires({in.string(), "-o", (dir / "f.png").string(), "-m",
                                 model("srvgg_tiny_prelu_x2"), "-s", "2", "-v"});
  const auto asked = run_hires({in.string(), "-o", (dir / "a.png").string(), "-m",
                                model("srvgg_tiny_prelu_x2"), "-s", "2", "-v", "--backend", "cpu"});
  ASSERT_EQ(setenv("HIRES_BACKEND", "gpu", 1), 0);
  const auto bad = run_hires(
      {in.string(), "-o", (dir / "b.png").string(), "-m", model("srvgg_tiny_prelu_x2"), "-s", "2"});
  unsetenv("HIRES_BACKEND");
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_NE(forced.err.find("hires: engine: reference: plain loops (HIRES_BACKEND=reference; OMP_"),
            std::string::npos)
      << forced.err;
  ASSERT_EQ(asked.exit_code, 0) << asked.err;
  EXPECT_NE(asked.err.find("hires: engine: cpu: "), std::string::npos) << asked.err;
  EXPECT_NE(asked.err.find(" (asked for; OMP_"), std::string::npos) << asked.err;
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find(
                "HIRES_BACKEND: 'gpu' is not a backend (expected auto, cpu, vulkan or reference)"),
            std::string::npos)
      << bad.err;
}

TEST(Ai, OpenMpThreadsWaitPassivelyUnlessTheUserChose) {
  TempDir dir;
  const fs::path in = textured(dir, 8, 8, 3);
  const std::vector<std::string> args = {in.string(),
                                         "-o",
                                         (dir / "v.png").string(),
                                         "-m",
                                         model("srvgg_tiny_prelu_x2"),
                                         "-s",
                                         "2",
                                         "-v",
                                         "--overwrite"};
  unsetenv("OMP_WAIT_POLICY");
  auto r = run_hires(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("(the fastest here; OMP_WAIT_POLICY=passive)\n"), std::string::npos)
      << r.err;
  setenv("OMP_WAIT_POLICY", "active", 1);
  r = run_hires(args);
  unsetenv("OMP_WAIT_POLICY");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("; OMP_WAIT_POLICY=active)\n"), std::string::npos) << r.err;
}

TEST(Ai, BadModelFilesGiveClearErrors) {
  TempDir dir;
  const fs::path in = textured(dir, 8, 8, 3);
  { std::ofstream(dir / "broken.safetensors", std::ios::binary) << "nonsense"; }
  const auto r = run_hires(
      {in.string(), "-o", (dir / "o.png").string(), "-m", (dir / "broken.safetensors").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("hires: error: " + (dir / "broken.safetensors").string() + ": "),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(dir / "o.png"));
}

TEST(Ai, RealModelTilingIsSeamless) {
  HIRES_REQUIRE_SHARED(models, "models/realesr-general-x4v3-ncnn");
  HIRES_REQUIRE_SHARED(edge, "datasets/edge");
  test::init_vips();
  TempDir dir;
  const fs::path in = dir / "crop.png";
  vips::VImage::new_from_file((edge / "0014.jpg").c_str()).crop(40, 40, 40, 36).pngsave(in.c_str());
  const std::string m = (models / "realesr-general-x4v3.param").string();
  std::vector<vips::VImage> outs;
  for (const char* tile : {"0", "12"}) {
    const fs::path out = dir / (std::string("r") + tile + ".png");
    const auto r = run_hires({in.string(), "-o", out.string(), "-m", m, "-t", tile});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    outs.push_back(load(out));
  }
  EXPECT_EQ(outs[0].width(), 160);
  EXPECT_LE(max_abs_diff(outs[0], outs[1]), 1.0);  // 8-bit output: within 1/255
}

}  // namespace
}  // namespace hires
