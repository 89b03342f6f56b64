// `hires models` lists models from their headers (model_facts, the format registry) without
// loading weights: for every fixture that loads, the listed facts equal the loaded model's; a
// .bin that is empty or a storage that is damaged does not stop the listing, only the loading.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "hires/error.hpp"
#include "hires/models.hpp"
#include "models/formats/registry.hpp"
#include "models/model.hpp"
#include "support/test_support.hpp"

namespace hires {
namespace {

namespace fs = std::filesystem;

const fs::path kSource(HIRES_SOURCE_DIR);

// Every file in `dir` (and its sub-folders) that the format registry knows.
std::vector<fs::path> model_files(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && models::format_of(e.path()) != nullptr) out.push_back(e.path());
  }
  return out;
}

void expect_same_facts(const fs::path& file) {
  std::shared_ptr<Model> loaded;
  try {
    loaded = load_model_file(file);
  } catch (const Error&) {
    return;  // not loadable: listing may refuse it or not (it reads no weights)
  }
  const ModelInfo& want = loaded->info();
  const ModelInfo got = model_facts(file);
  EXPECT_EQ(got.name, want.name) << file;
  EXPECT_EQ(got.architecture, want.architecture) << file;
  EXPECT_EQ(got.format, want.format) << file;
  EXPECT_EQ(got.scale, want.scale) << file;
  EXPECT_EQ(got.parameters, want.parameters) << file;
  EXPECT_EQ(got.source, want.source) << file;
  EXPECT_EQ(got.license, want.license) << file;
}

TEST(ModelFacts, EqualTheLoadedModelsInfo) {
  int checked = 0;
  for (const char* dir : {"tests/zoo", "tests/golden", "tests/builtin"}) {
    if (!fs::is_directory(kSource / dir)) continue;
    for (const fs::path& f : model_files(kSource / dir)) {
      expect_same_facts(f);
      ++checked;
    }
  }
  EXPECT_GE(checked, 20);
}

TEST(ModelFacts, EqualTheLoadedModelsInfoForSharedModels) {
  HIRES_REQUIRE_SHARED(models, "models");
  for (const fs::path& f : model_files(models)) expect_same_facts(f);
}

TEST(ModelFacts, WeightsAreNotRead) {
  test::TempDir dir;
  const fs::path param = dir / "realcugan_tiny_x2.param";
  fs::copy_file(kSource / "tests/zoo/realcugan_tiny_x2.param", param);
  // Weights of the right size, but unreadable ones (0xFF... is no storage tag).
  const auto bin_size = fs::file_size(kSource / "tests/zoo/realcugan_tiny_x2.bin");
  std::ofstream(dir / "realcugan_tiny_x2.bin", std::ios::binary)
      << std::string(static_cast<std::size_t>(bin_size), '\xFF');
  const ModelInfo facts = model_facts(param);
  const ModelInfo want = load_model_file(kSource / "tests/zoo/realcugan_tiny_x2.param")->info();
  EXPECT_EQ(facts.scale, want.scale);
  EXPECT_EQ(facts.parameters, want.parameters);
  EXPECT_EQ(facts.architecture, want.architecture);
  EXPECT_THROW(load_model_file(param), Error) << "loading reads the weights";
  ASSERT_EQ(list_models({dir.path()}).size(), 1U);

  // A .bin too short or too long for the layers' weights (fp16 to fp32) is not listed.
  const fs::path bin = dir / "realcugan_tiny_x2.bin";
  for (const std::uintmax_t size : {std::uintmax_t{0}, std::uintmax_t{100}, 4 * bin_size}) {
    fs::resize_file(bin, size);
    try {
      model_facts(param);
      ADD_FAILURE() << size << " bytes were accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.subject(), bin.string());
      EXPECT_TRUE(std::string(e.problem())
                      .starts_with(fmt::format("has {} bytes, but the layers' "
                                               "weights take ",
                                               size)))
          << e.problem();
    }
    EXPECT_TRUE(list_models({dir.path()}).empty());
  }
  // Without a .bin at all, neither lists nor loads.
  fs::remove(bin);
  EXPECT_THROW(model_facts(param), Error);
  EXPECT_TRUE(list_models({dir.path()}).empty());
}

TEST(ModelFacts, FilesNoArchitectureMatchesAreLeftOut) {
  for (const char* f : {"unknown_arch.pth", "evil_system.pth", "no_tensors.pth", "legacy.pth"}) {
    EXPECT_THROW(model_facts(kSource / "tests/zoo" / f), Error) << f;
  }
  EXPECT_THROW(model_facts(kSource / "tests/zoo/README.md"), Error);
}

TEST(ModelFormats, OneListOfExtensions) {
  std::vector<std::string> names;
  std::vector<std::string> extensions;
  for (const auto& f : models::model_formats()) {
    names.emplace_back(f.name);
    for (const auto e : f.extensions) extensions.emplace_back(e);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"safetensors", "ncnn", "pth"}));
  EXPECT_EQ(extensions, (std::vector<std::string>{".safetensors", ".param", ".pth", ".pt"}));
  EXPECT_EQ(models::format_of("a/b.pt")->name, "pth");
  EXPECT_EQ(models::format_of("a/b.bin"), nullptr) << "the .param names an ncnn model";
}

}  // namespace
}  // namespace hires
