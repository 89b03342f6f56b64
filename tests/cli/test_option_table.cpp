// The option table seen from the CLI: README.md's table is what `hires options --markdown`
// prints (regenerate it with scripts/update-readme-options.sh), every table option is a flag of
// `hires upscale`, library errors come out in flag spellings, and presets apply typed values.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "support/test_support.hpp"

namespace {

using hires::test::run_hires;

std::string readme_table() {
  std::ifstream in(std::filesystem::path(HIRES_SOURCE_DIR) / "README.md");
  std::stringstream all;
  all << in.rdbuf();
  const std::string text = all.str();
  const std::string begin = "<!-- options: made by `hires options --markdown` -->\n";
  const std::string end = "<!-- options end -->";
  const auto from = text.find(begin);
  const auto to = text.find(end);
  if (from == std::string::npos || to == std::string::npos || to < from) return "(no markers)";
  return text.substr(from + begin.size(), to - from - begin.size());
}

TEST(OptionTable, ReadmeTableIsTheTable) {
  const auto r = run_hires({"options", "--markdown"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(readme_table(), r.out)
      << "README.md's option table drifted from the table: run scripts/update-readme-options.sh";
}

TEST(OptionTable, EveryOptionIsAFlagOfUpscale) {
  const auto r = run_hires({"options"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto table = nlohmann::json::parse(r.out);
  const auto help = run_hires({"upscale", "--help"});
  for (const auto& o : table["options"]) {
    std::string flag = "--" + o["key"].get<std::string>();
    for (char& c : flag) c = c == '_' ? '-' : c;
    EXPECT_NE(help.out.find(flag), std::string::npos) << flag;
  }
  EXPECT_EQ(table["presets"][0]["name"], "print");
  EXPECT_EQ(table["presets"][0]["values"]["dpi"], 300.0);
}

TEST(OptionTable, LibraryErrorsUseFlagSpellings) {
  const auto conflict = run_hires({"in.png", "--dpi", "300", "--print", "4x6in@300"});
  EXPECT_EQ(conflict.exit_code, 2);
  EXPECT_EQ(conflict.err,
            "hires: error: --dpi and --print: conflict: --print already sets the DPI\n");
  const auto backend = run_hires({"in.png", "--backend", "gpu"});
  EXPECT_EQ(backend.err,
            "hires: error: --backend: 'gpu' is not a backend (expected auto, cpu, vulkan or "
            "reference)\n");
  const auto sizes = run_hires({"in.png", "-s", "2", "--long-edge", "900"});
  EXPECT_EQ(sizes.err,
            "hires: error: --scale and --long-edge: conflict: choose one sizing option (--scale, "
            "--width, --height, --fit, --long-edge or --print)\n");
}

// Web presets drop where a photo was taken (and say so); --keep-location keeps it.
TEST(OptionTable, WebPresetsStripLocationUnlessKept) {
  hires::test::TempDir dir;
  hires::test::init_vips();
  vips::VImage im = hires::test::pattern_image(32, 24, 3, false).copy();
  im.set("exif-ifd3-GPSLatitudeRef", "N");
  const std::string in = (dir / "gps.jpg").string();
  im.jpegsave(in.c_str());
  const auto gps = [](const std::string& path) {
    const vips::VImage out = vips::VImage::new_from_file(path.c_str());
    return out.get_typeof("exif-ifd3-GPSLatitudeRef") != 0;
  };
  const std::string web = (dir / "web.jpg").string();
  const auto r = run_hires({in, "-m", "lanczos", "-s", "2", "--preset", "web", "-o", web});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(gps(web));
  EXPECT_NE(r.err.find("notice: " + in + ": removed where the photo was taken"), std::string::npos)
      << r.err;
  const std::string kept = (dir / "kept.jpg").string();
  ASSERT_EQ(
      run_hires({in, "-m", "lanczos", "-s", "2", "--preset", "web", "--keep-location", "-o", kept})
          .exit_code,
      0);
  EXPECT_TRUE(gps(kept));
  const std::string print = (dir / "print.jpg").string();
  ASSERT_EQ(run_hires({in, "-m", "lanczos", "-s", "2", "--preset", "print", "-o", print}).exit_code,
            0);
  EXPECT_TRUE(gps(print)) << "print presets keep all metadata";
}

TEST(OptionTable, PresetsListInFlagTerms) {
  const auto r = run_hires({"presets"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("= --width 2400 --format jpg --max-bytes 150K --srgb"), std::string::npos)
      << r.out;
}

}  // namespace
