// Rough edges a new user hit (the pipeline issue's list): each gets its exact behaviour here.
#include <gtest/gtest.h>
#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
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

// Exactly one line on stderr, and that line.
void expect_one_line(const test::RunResult& r, const std::string& line) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err, line + "\n");
}

TEST(RoughEdges, ParseErrorsAreOneLineNamingOptionValueAndExpectation) {
  TempDir dir;
  const std::string a = small_png(dir, "a.png").string();
  expect_one_line(run_hires({a, "--denoise", "9"}),
                  "hires: error: --denoise 9: expected a whole number from 0 to 3");
  expect_one_line(run_hires({a, "--sharpen", "9"}),
                  "hires: error: --sharpen: '9' is not valid (expected a number from 0 to 5)");
  expect_one_line(
      run_hires({a, "--max-pixels", "-1"}),
      "hires: error: --max-pixels: '-1' is not valid (expected a number above 0 and at most "
      "1e+09)");
  expect_one_line(run_hires({"upscale"}),
                  "hires: error: no input given: name one or more images or folders, e.g. hires "
                  "photo.jpg");
  expect_one_line(run_hires({a, "--frobnicate"}),
                  "hires: error: --frobnicate: unknown option (hires --help lists the options)");
  expect_one_line(run_hires({a, "--tile"}), "hires: error: --tile: expects a value after it");
  expect_one_line(run_hires({a, "--restore", "9"}),
                  "hires: error: --restore: '9' is not a strength from 0 to 1 (0 keeps the photo "
                  "model's faithful look, 1 cleans up fully, e.g. --restore 0.5)");
}

TEST(RoughEdges, DpiHasItsOwnExampleAndRange) {
  TempDir dir;
  const std::string a = small_png(dir, "a.png").string();
  for (const char* bad : {"abc", "0", "70000", "inf", "nan", "-3"}) {
    expect_one_line(run_hires({a, "--dpi", bad}),
                    std::string("hires: error: --dpi: '") + bad +
                        "' is not valid (expected a DPI from 1 to 65535, like 300)");
  }
  const auto ok = run_hires({a, "-m", "lanczos", "-s", "2", "--dpi", "300", "--json"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(test::json_event(ok.out, "done")["dpi"], 300.0);
}

TEST(RoughEdges, RecursiveHintOnlyWhenSubFoldersHoldImages) {
  TempDir dir;
  const fs::path top = dir / "top";
  fs::create_directories(top / "empty-sub");
  const auto none = run_hires({top.string(), "-o", (dir / "out").string()});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_EQ(none.err,
            "hires: error: " + top.string() +
                ": no images found (hires reads .jpg .png .webp .tif .gif .heic .avif)\n");
  fs::create_directories(top / "sub");
  small_png(dir, "top/sub/a.png");
  const auto below = run_hires({top.string(), "-o", (dir / "out").string()});
  EXPECT_EQ(below.exit_code, 2);
  EXPECT_EQ(below.err, "hires: error: " + top.string() +
                           ": no images found (its sub-folders hold images: pass -r to look "
                           "inside them)\n");
}

TEST(RoughEdges, AQuotedGlobIsExpanded) {
  TempDir dir;
  small_png(dir, "a.png");
  small_png(dir, "b.png");
  const fs::path out = dir / "out";
  const std::string pattern = (dir / "*.png").string();
  const auto r = run_hires({pattern, "-o", out.string() + "/", "-m", "lanczos", "-s", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(test::load(out / "a.png").width(), 16);
  EXPECT_EQ(test::load(out / "b.png").width(), 16);
  const std::string nothing = (dir / "*.gif").string();
  const auto none = run_hires({nothing, "-o", out.string() + "/", "-m", "lanczos"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_EQ(none.err,
            "hires: error: no file matches " + nothing + " (check the pattern and the folder)\n");
}

// A sprite: blocks of 2x2 pixels from five exact colours, the way pixel art is drawn.
vips::VImage sprite(int side) {
  test::init_vips();
  static const unsigned char colours[5][3] = {
      {20, 20, 30}, {240, 200, 40}, {200, 40, 40}, {60, 160, 220}, {250, 250, 250}};
  std::vector<unsigned char> px(static_cast<std::size_t>(side) * side * 3);
  unsigned seed = 7;
  for (int y = 0; y < side; y += 2) {
    for (int x = 0; x < side; x += 2) {
      seed = seed * 1103515245U + 12345U;
      const unsigned char* c = colours[(seed >> 16) % 5];
      for (int dy = 0; dy < 2 && y + dy < side; ++dy) {
        for (int dx = 0; dx < 2 && x + dx < side; ++dx) {
          std::copy(c, c + 3, &px[(static_cast<std::size_t>(y + dy) * side + x + dx) * 3]);
        }
      }
    }
  }
  return vips::VImage::new_from_memory(px.data(), px.size(), side, side, 3, VIPS_FORMAT_UCHAR)
      .copy(vips::VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB))
      .copy_memory();
}

TEST(RoughEdges, PixelArtIsPixelArtNotNoiseOrJpegBlocks) {
  TempDir dir;
  const fs::path small = dir / "sprite.png", big = dir / "sprite-2x.png";
  sprite(16).pngsave(small.c_str());
  sprite(48)
      .resize(2.0, vips::VImage::option()->set("kernel", VIPS_KERNEL_NEAREST))
      .pngsave(big.c_str());
  for (const fs::path& p : {small, big}) {
    const auto r = run_hires({"check", p.string(), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["content"], "pixel art") << r.out;
    EXPECT_EQ(j["recommendation"]["model"], "nearest") << r.out;
    for (const auto& f : j["findings"]) {
      EXPECT_EQ(f["severity"], "info") << f.dump();
      EXPECT_EQ(f["message"].get<std::string>().find("JPEG"), std::string::npos) << f.dump();
      EXPECT_EQ(f["message"].get<std::string>().find("noise of"), std::string::npos) << f.dump();
    }
    const auto text = run_hires({"check", p.string()});
    EXPECT_NE(text.out.find("pixel art"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("nearest"), std::string::npos) << text.out;
  }
}

TEST(RoughEdges, ProgressFromTheFirstTileWithoutRepeatsAndOverall) {
  TempDir dir;
  test::init_vips();
  const fs::path a = dir / "a.png", b = dir / "b.png";
  test::pattern_image(96, 64, 3, false).pngsave(a.c_str());
  test::pattern_image(96, 64, 3, false).pngsave(b.c_str());
  const auto r = run_hires({a.string(), b.string(), "-o", (dir / "out").string(), "-m", "photo-x2",
                            "-t", "32", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, std::vector<double>> fractions;
  std::vector<double> overall;
  std::set<std::string> seen;
  for (const auto& e : events(r.out)) {
    if (e["event"] != "progress") continue;
    EXPECT_TRUE(seen.insert(e.dump()).second) << "repeated: " << e.dump();
    fractions[e["input"]].push_back(e["fraction"]);
    overall.push_back(e["overall"]);
    EXPECT_EQ(e["total"], 2);
  }
  ASSERT_EQ(fractions.size(), 2U);
  for (const auto& [input, f] : fractions) {
    // 3 x 2 tiles of 32 px: the model's tiles move the fraction before any row is written.
    int inside = 0;
    for (std::size_t i = 0; i < f.size(); ++i) {
      if (i > 0) {
        EXPECT_GT(f[i], f[i - 1]) << input;
      }
      if (f[i] > 0.0 && f[i] < 0.5) ++inside;
    }
    EXPECT_GE(inside, 2) << input;
    EXPECT_DOUBLE_EQ(f.back(), 1.0) << input;
  }
  EXPECT_TRUE(std::is_sorted(overall.begin(), overall.end()));
  EXPECT_DOUBLE_EQ(overall.back(), 1.0);
  EXPECT_LE(overall.front(), 0.5);
}

}  // namespace
}  // namespace hires
