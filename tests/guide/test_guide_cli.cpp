// The check, review and presets commands end to end (the built binary), plus the polish options.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "support/test_support.hpp"

namespace hires::test {
namespace {

using nlohmann::json;

std::vector<json> json_lines(const std::string& out) {
  std::vector<json> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  return lines;
}

// A 256x256 photo-like test image (and a smaller one).
fs::path make_image(const TempDir& dir, const std::string& name, int size) {
  vips::VImage im = pattern_image(size, size, 3, false);
  vips::VImage xy = vips::VImage::xyz(size, size);
  im = (im + ((xy[0] * 0.9).sin() * (xy[1] * 1.3).cos() * 20)).cast(VIPS_FORMAT_UCHAR);
  im = im.copy(vips::VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB));
  const fs::path p = dir / name;
  im.write_to_file(p.c_str());
  return p;
}

TEST(CheckCli, JsonHasTheDocumentedKeys) {
  TempDir dir;
  const fs::path big = make_image(dir, "a.png", 256);
  const fs::path small = make_image(dir, "b.png", 150);
  const RunResult r = run_hires({"check", "--json", big.string(), small.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 2U);
  for (const auto& j : lines) {
    for (const char* key : {"width", "height", "content", "findings", "verdict", "recommendation"})
      EXPECT_TRUE(j.contains(key)) << key << " in " << j.dump();
    for (const char* key : {"model", "denoise", "passes"})
      EXPECT_TRUE(j["recommendation"].contains(key)) << key;
    ASSERT_EQ(j["findings"].size(), 7U);
    for (const auto& f : j["findings"]) {
      EXPECT_TRUE(f.contains("kind") && f.contains("value") && f.contains("severity"));
      const std::string s = f["severity"];
      EXPECT_TRUE(s == "info" || s == "warn" || s == "bad") << s;
    }
    const std::string content = j["content"];
    EXPECT_TRUE(content == "photo" || content == "art" || content == "text");
  }
  EXPECT_EQ(lines[0]["width"], 256);
  EXPECT_EQ(lines[1]["findings"][0]["kind"], "small");
  EXPECT_EQ(lines[1]["findings"][0]["severity"], "bad");
  EXPECT_EQ(lines[1]["findings"][0]["value"], 150.0);
  EXPECT_EQ(lines[1]["verdict"], "poor");
}

TEST(CheckCli, TargetAndText) {
  TempDir dir;
  const fs::path p = make_image(dir, "a.png", 256);
  const RunResult r = run_hires({"check", p.string(), "--width", "200", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["verdict"], "not_needed");
  EXPECT_EQ(j["recommendation"]["passes"], 0);

  const RunResult t = run_hires({"check", p.string(), "--print", "8x10in@300"});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(t.out.find("recommendation: "), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("2400x2400"), std::string::npos) << t.out;  // fitted inside 8x10 in

  const RunResult bad = run_hires({"check", p.string(), "--width", "0"});
  EXPECT_EQ(bad.exit_code, 2);
  const RunResult missing = run_hires({"check", (dir / "nope.png").string()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("nope.png"), std::string::npos) << missing.err;
}

TEST(ReviewCli, LanczosUpscaleIsOkAndTheReportIsWritten) {
  TempDir dir;
  const fs::path in = make_image(dir, "a.png", 128);
  const fs::path out = dir / "a-x4.png";
  ASSERT_EQ(run_hires({"upscale", in.string(), "-o", out.string(), "--quiet"}).exit_code, 0);
  const fs::path report = dir / "report";
  const RunResult r =
      run_hires({"review", in.string(), out.string(), "--json", "--report", report.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  for (const char* key : {"resemblance_psnr", "resemblance_ssim", "artifact_fraction",
                          "color_shift", "verdict", "reasons"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["verdict"], "ok") << j.dump();
  EXPECT_GT(j["resemblance_psnr"].get<double>(), 35.0);
  EXPECT_GT(j["resemblance_ssim"].get<double>(), 0.97);
  const std::string html = read_file(report / "index.html");
  EXPECT_NE(html.find("heatmap.png"), std::string::npos);
  EXPECT_NE(html.find(">ok<"), std::string::npos);
  EXPECT_EQ(html.find("http"), std::string::npos);  // offline: nothing fetched
  EXPECT_TRUE(fs::exists(report / "heatmap.png"));
  EXPECT_TRUE(fs::exists(report / "original.png"));
  EXPECT_TRUE(fs::exists(report / "upscaled.png"));

  const RunResult swapped = run_hires({"review", out.string(), in.string()});
  EXPECT_EQ(swapped.exit_code, 2) << swapped.err;
}

TEST(ReviewCli, ColourShiftFailsWithCrops) {
  TempDir dir;
  const fs::path in = make_image(dir, "a.png", 128);
  const fs::path out = dir / "a-x4.png";
  ASSERT_EQ(run_hires({"upscale", in.string(), "-o", out.string(), "--quiet"}).exit_code, 0);
  vips::VImage up = load(out);
  const fs::path shifted = dir / "shifted.png";
  vips::VImage::bandjoin({up[2], up[0], up[1]})
      .copy(vips::VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB))
      .write_to_file(shifted.c_str());
  const fs::path report = dir / "r";
  const RunResult r =
      run_hires({"review", in.string(), shifted.string(), "--json", "--report", report.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["verdict"], "fail");
  EXPECT_GT(j["color_shift"].get<double>(), 10.0);
  bool named = false;
  for (const auto& s : j["reasons"]) named = named || s.get<std::string>().find("colour") == 0;
  EXPECT_TRUE(named) << j.dump();
  EXPECT_TRUE(fs::exists(report / "crop-1-upscaled.png"));
  EXPECT_TRUE(fs::exists(report / "crop-1-original.png"));
}

}  // namespace
}  // namespace hires::test
