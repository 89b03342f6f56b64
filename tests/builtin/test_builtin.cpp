// Built-in models: weights embedded in the binary load by name with no files around, are listed
// as built in, and the in-memory safetensors reader agrees with the file reader.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "hires/error.hpp"
#include "hires/models.hpp"
#include "models/builtin/builtin.hpp"
#include "models/formats/safetensors.hpp"
#include "support/test_support.hpp"

namespace hires {
namespace {

namespace fs = std::filesystem;
const fs::path kGolden = fs::path(HIRES_SOURCE_DIR) / "tests" / "golden";

TEST(SafetensorsBytes, ParseAgreesWithTheFileReader) {
  const fs::path file = kGolden / "srvgg_tiny_prelu_x2.safetensors";
  const std::string bytes = test::read_file(file);
  const models::SafeTensors a = models::load_safetensors(file);
  const models::SafeTensors b = models::parse_safetensors(bytes, "mem");
  EXPECT_EQ(b.path, fs::path("mem"));
  EXPECT_EQ(a.metadata, b.metadata);
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (const auto& [name, t] : a.tensors) {
    EXPECT_EQ(t.shape, b.get(name).shape) << name;
    EXPECT_EQ(t.values, b.get(name).values) << name;
  }
  try {
    (void)models::parse_safetensors(std::string_view(bytes).substr(0, bytes.size() - 5), "cut");
    FAIL() << "truncated bytes were accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::input);
    EXPECT_EQ(e.subject(), "cut");
  }
}

TEST(Builtin, EveryEmbeddedModelLoadsByNameAndIsListed) {
  if (models::builtin_blobs().empty()) GTEST_SKIP() << "no built-in weights in this build";
  const auto infos = builtin_models();
  ASSERT_EQ(infos.size(), models::builtin_blobs().size());
  for (const ModelInfo& info : infos) {
    EXPECT_TRUE(info.builtin);
    EXPECT_FALSE(info.license.empty()) << info.name;
    const auto m = load_model(info.name, {});
    EXPECT_EQ(model_info(*m).name, info.name);
    EXPECT_TRUE(model_info(*m).builtin);
    // photo-x4 is 4x, photo-x2 is 2x.
    const auto x = info.name.rfind('x');
    ASSERT_NE(x, std::string::npos);
    EXPECT_EQ(std::to_string(info.scale), info.name.substr(x + 1));
  }
  EXPECT_EQ(load_builtin_model("no-such-builtin"), nullptr);

  const auto r = test::run_hires({"models", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto list = nlohmann::json::parse(r.out);
  for (const ModelInfo& info : infos) {
    bool listed = false;
    for (const auto& j : list) listed = listed || (j["name"] == info.name && j["builtin"] == true);
    EXPECT_TRUE(listed) << info.name;
  }
}

TEST(Builtin, UpscalesWithNoModelFilesAround) {
  if (models::builtin_blobs().empty()) GTEST_SKIP() << "no built-in weights in this build";
  test::TempDir dir;
  test::init_vips();
  test::pattern_image(24, 16, 3, false).pngsave((dir / "in.png").c_str());
  const std::string name(models::builtin_blobs().front().name);
  const auto r = test::run_hires(
      {(dir / "in.png").string(), "-o", (dir / "out.png").string(), "-m", name, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // A model named without a size runs at its own scale.
  const int scale = model_info(*load_builtin_model(name)).scale;
  const vips::VImage out = test::load(dir / "out.png");
  EXPECT_EQ(out.width(), 24 * scale);
  EXPECT_EQ(out.height(), 16 * scale);
  // With a size, the size.
  const auto s4 = test::run_hires(
      {(dir / "in.png").string(), "-o", (dir / "s4.png").string(), "-m", "photo-x2", "-s", "4"});
  ASSERT_EQ(s4.exit_code, 0) << s4.err;
  EXPECT_EQ(test::load(dir / "s4.png").width(), 96);
  const auto own = test::run_hires(
      {(dir / "in.png").string(), "-o", (dir / "own.png").string(), "-m", "photo-x2"});
  ASSERT_EQ(own.exit_code, 0) << own.err;
  EXPECT_EQ(test::load(dir / "own.png").width(), 48);
}

TEST(Cli, MistypedCommandIsAUsageErrorNotAnUpscale) {
  test::TempDir dir;
  test::init_vips();
  test::pattern_image(8, 8, 3, false).pngsave((dir / "photo.png").c_str());
  const auto r = test::run_hires({"chek", (dir / "photo.png").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("hires: error: chek: is not a command or a file (did you mean check?)"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(dir / "photo-hires.png"));
  // An existing file of any name is still an input.
  const auto ok = test::run_hires({(dir / "photo.png").string(), "-m", "lanczos"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

}  // namespace
}  // namespace hires
