// Rough edges a new user hit (the pipeline issue's list): each gets its exact behaviour here.
#include <gtest/gtest.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/test_support.hpp"

namespace hires {
namespace {

using test::run_hires;
using test::TempDir;
namespace fs = std::filesystem;

fs::path small_png(const TempDir& dir, const char* name) {
  test::init_vips();
  const fs::path p = dir / name;
  test::pattern_image(8, 6, 3, false).pngsave(p.c_str());
  return p;
}

std::vector<nlohmann::json> events(const std::string& out) {
  std::vector<nlohmann::json> v;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) v.push_back(nlohmann::json::parse(line));
  return v;
}

TEST(RoughEdges, MissingInputIsAnErrorEvenWhenItsOutputExists) {
  TempDir dir;
  const fs::path out = small_png(dir, "gone-hires.png");  // an old result
  const fs::path missing = dir / "gone.png";
  const auto r = run_hires({missing.string(), "-m", "lanczos"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("hires: error: " + missing.string() + ": no such file"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("skipped"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(out));  // nothing lost
}

TEST(RoughEdges, SeveralInputsRefuseAFileLikeOutput) {
  TempDir dir;
  const fs::path a = small_png(dir, "a.png"), b = small_png(dir, "b.png");
  const fs::path one = dir / "one.png";
  const auto r = run_hires({a.string(), b.string(), "-o", one.string(), "-m", "lanczos"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("hires: error: " + one.string() +
                       ": names a file, but several inputs need an output folder"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(one));
  // A trailing slash asks for the folder by that name.
  const auto ok =
      run_hires({a.string(), b.string(), "-o", one.string() + "/", "-m", "lanczos", "-s", "2"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_TRUE(fs::is_directory(one));
}

TEST(RoughEdges, SkippedJsonEventsCarryIndexAndTotal) {
  TempDir dir;
  const fs::path a = small_png(dir, "a.png"), b = small_png(dir, "b.png");
  const fs::path outdir = dir / "out";
  ASSERT_EQ(run_hires({a.string(), b.string(), "-o", outdir.string(), "-m", "lanczos", "-s", "2"})
                .exit_code,
            0);
  const auto r = run_hires(
      {a.string(), b.string(), "-o", outdir.string(), "-m", "lanczos", "-s", "2", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  int skipped = 0;
  for (const auto& e : events(r.out)) {
    if (e["event"] != "skipped") continue;
    ++skipped;
    EXPECT_EQ(e["index"], skipped);
    EXPECT_EQ(e["total"], 2);
  }
  EXPECT_EQ(skipped, 2);
}

TEST(RoughEdges, OwnResultsBesideTheirOriginalsAreNotInputs) {
  TempDir dir;
  const fs::path a = small_png(dir, "a.png");
  ASSERT_EQ(run_hires({a.string(), "-m", "lanczos", "-s", "2"}).exit_code, 0);
  const fs::path result = dir / "a-hires.png";
  ASSERT_TRUE(fs::exists(result));
  // `hires *.png` again: the earlier result is among the inputs.
  const auto r =
      run_hires({a.string(), result.string(), "-m", "lanczos", "-s", "2", "--overwrite"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("hires: skipped: " + result.string() +
                       ": hires' own result of a.png, left out as an input"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(dir / "a-hires-hires.png"));
  EXPECT_EQ(test::load(result).width(), 16);  // rewritten from a.png
}

TEST(RoughEdges, AVideoIsSaidToBeAVideo) {
  TempDir dir;
  const fs::path mp4 = dir / "clip.mp4", mkv = dir / "clip.mkv";
  {
    std::ofstream f(mp4, std::ios::binary);
    const char head[] = {0, 0, 0, 0x18, 'f', 't', 'y', 'p', 'i', 's', 'o', 'm',
                         0, 0, 2, 0,    'i', 's', 'o', 'm', 'm', 'p', '4', '1'};
    f.write(head, sizeof head);
    f << std::string(200, '\0');
    std::ofstream g(mkv, std::ios::binary);
    const char ebml[] = {0x1A, 0x45, static_cast<char>(0xDF), static_cast<char>(0xA3)};
    g.write(ebml, sizeof ebml);
    g << std::string(200, '\0');
  }
  for (const auto& [file, kind] : {std::pair{mp4, "MP4"}, {mkv, "Matroska/WebM"}}) {
    const auto r = run_hires({file.string(), "-o", (dir / "x.png").string()});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("hires: error: " + file.string() + ": is a video (" + kind +
                         "), not an image (upscale videos with hires video " + file.string() +
                         " -o OUT.mp4)"),
              std::string::npos)
        << r.err;
  }
  const fs::path real = fs::path(HIRES_SOURCE_DIR) / ".." / "shared" / "datasets" / "edge" /
                        "video" / "onepiece_demo.mp4";
  if (!fs::exists(real)) GTEST_SKIP() << "../shared/datasets/edge/video is absent";
  const auto r = run_hires({real.string(), "-o", (dir / "y.png").string()});
  EXPECT_NE(r.err.find("is a video (MP4)"), std::string::npos) << r.err;
}

TEST(RoughEdges, ModelsDirThatIsNoFolderIsSaid) {
  const auto r = run_hires({"models", "--models-dir", "/nonexistent-hires-models"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("hires: error: --models-dir: '/nonexistent-hires-models' is not a folder"),
            std::string::npos)
      << r.err;
}

TEST(RoughEdges, UsageNamesTheProgram) {
  const auto r = run_hires({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("Usage: hires"), std::string::npos) << r.out;
}

TEST(RoughEdges, DoneLineNamesTheModelWithoutPassEs) {
  TempDir dir;
  const fs::path a = small_png(dir, "a.png");
  const auto r = run_hires({a.string(), "-o", (dir / "o.png").string(), "-m", "photo-x2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("pass(es)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("photo-x2 (1 pass)"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace hires
