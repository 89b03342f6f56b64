// The check, review and presets commands end to end (the built binary), plus the polish options.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "hires/models.hpp"
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

// A 128x128 original and its Lanczos x4 upscale: the pair the review tests start from.
void original_and_lanczos_x4(const TempDir& dir, fs::path& in, fs::path& out) {
  in = make_image(dir, "a.png", 128);
  out = dir / "a-x4.png";
  ASSERT_EQ(
      run_hires({"upscale", "-m", "lanczos", in.string(), "-o", out.string(), "--quiet"}).exit_code,
      0);
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
    ASSERT_EQ(j["findings"].size(), 8U);
    for (const auto& f : j["findings"]) {
      EXPECT_TRUE(f.contains("kind") && f.contains("value") && f.contains("severity"));
      const std::string s = f["severity"];
      EXPECT_TRUE(s == "info" || s == "warn" || s == "bad") << s;
    }
    const std::string content = j["content"];
    EXPECT_TRUE(content == "photo" || content == "art" || content == "text");
  }
  EXPECT_EQ(lines[0]["width"], 256);
  if (!builtin_models().empty()) {
    // check recommends what `hires IMAGE` runs.
    const std::string rec = lines[0]["recommendation"]["model"];
    EXPECT_TRUE(rec == "photo-x4" || rec == "restore-x4") << rec;
    const RunResult up = run_hires({big.string(), "-o", (dir / "up.png").string(), "--json"});
    ASSERT_EQ(up.exit_code, 0) << up.err;
    for (const auto& e : json_lines(up.out)) {
      if (e["event"] != "done") continue;
      const double s = lines[0]["recommendation"]["restore"];
      EXPECT_EQ(e["model"], s > 0 && s < 1 ? fmt::format("{}@{:.2f}", rec, s) : rec);
      EXPECT_EQ(e["reason"], lines[0]["recommendation"]["reason"]);
    }
  }
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
  // The sizing options are parsed as upscale parses them (cli/sizing.cpp), with check's wording.
  const RunResult two = run_hires({"check", p.string(), "--width", "10", "-s", "2"});
  EXPECT_EQ(two.exit_code, 2);
  EXPECT_NE(two.err.find("hires: error: --scale and --width: conflict: choose one target size\n"),
            std::string::npos)
      << two.err;
  const RunResult print = run_hires({"check", p.string(), "--print", "8x10"});
  EXPECT_EQ(print.exit_code, 2);
  EXPECT_NE(print.err.find("hires: error: --print: '8x10' is not valid"), std::string::npos)
      << print.err;
  const RunResult fit = run_hires({"check", p.string(), "--fit", "1000x1000", "--json"});
  ASSERT_EQ(fit.exit_code, 0) << fit.err;
  EXPECT_EQ(json::parse(fit.out)["target"]["width"], 1000);
  const RunResult missing = run_hires({"check", (dir / "nope.png").string()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("nope.png"), std::string::npos) << missing.err;
}

TEST(ReviewCli, LanczosUpscaleIsOkAndTheReportIsWritten) {
  TempDir dir;
  fs::path in, out;
  ASSERT_NO_FATAL_FAILURE(original_and_lanczos_x4(dir, in, out));
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
  // Side by side at any window of 900 px or more: the two figures share the row (no fixed
  // 48vw widths that wrapped below ~1700 px); only narrower windows stack them.
  EXPECT_NE(html.find(".side{flex-wrap:nowrap}"), std::string::npos);
  EXPECT_NE(html.find(".side figure{flex:1 1 0;min-width:0"), std::string::npos);
  EXPECT_NE(html.find("@media (max-width:899px){.side{flex-wrap:wrap}"), std::string::npos);
  EXPECT_EQ(html.find("vw"), std::string::npos);
  EXPECT_TRUE(fs::exists(report / "heatmap.png"));
  EXPECT_TRUE(fs::exists(report / "original.png"));
  EXPECT_TRUE(fs::exists(report / "upscaled.png"));

  const RunResult swapped = run_hires({"review", out.string(), in.string()});
  EXPECT_EQ(swapped.exit_code, 2) << swapped.err;
}

// A result saved with visible JPEG blocks (a --max-bytes target met at quality ~15) is not "ok":
// the review reads the file's JPEG quality and warns below the --min-quality floor.
TEST(ReviewCli, LowJpegQualityIsFlaggedWithItsQuality) {
  TempDir dir;
  const fs::path in = make_image(dir, "a.png", 128);
  for (const int q : {15, 92}) {
    const fs::path out = dir / fmt::format("a-x4-q{}.jpg", q);
    ASSERT_EQ(run_hires({"upscale", "-m", "lanczos", in.string(), "-o", out.string(), "-q",
                         std::to_string(q), "--quiet"})
                  .exit_code,
              0);
    const RunResult r = run_hires({"review", in.string(), out.string(), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json j = json::parse(r.out);
    EXPECT_NEAR(j["jpeg_quality"].get<int>(), q, 1);
    const std::string reasons = j["reasons"].dump();
    if (q < 60) {
      EXPECT_EQ(j["verdict"], "warn") << j.dump();
      EXPECT_NE(reasons.find("its 8x8 blocks show at 100 %"), std::string::npos) << reasons;
    } else {
      EXPECT_EQ(reasons.find("8x8 blocks"), std::string::npos) << reasons;
    }
  }
}

TEST(ReviewCli, ColourShiftFailsWithCrops) {
  TempDir dir;
  fs::path in, out;
  ASSERT_NO_FATAL_FAILURE(original_and_lanczos_x4(dir, in, out));
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

namespace hires::test {
namespace {

json check_json(const fs::path& p) {
  const RunResult r = run_hires({"check", "--json", p.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(r.out);
}

TEST(PresetsCli, ListedAndExpandedWithExplicitFlagsWinning) {
  const RunResult list = run_hires({"presets", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  const json presets = json::parse(list.out);
  std::vector<std::string> names;
  for (const auto& p : presets) names.push_back(p["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"print", "web", "instagram-print", "product-web",
                                             "ai-art-4k"}));

  TempDir dir;
  const fs::path in = make_image(dir, "a.png", 128);
  const fs::path web = dir / "shop.jpg";
  ASSERT_EQ(run_hires({"upscale", "-m", "lanczos", in.string(), "-o", web.string(), "--preset",
                       "product-web"})
                .exit_code,
            0);
  EXPECT_EQ(load(web).width(), 2400);
  EXPECT_LE(fs::file_size(web), 150000U);

  const fs::path mine = dir / "mine.jpg";
  const RunResult r = run_hires({"upscale", "-m", "lanczos", in.string(), "-o", mine.string(),
                                 "--preset=product-web", "--width", "1000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(load(mine).width(), 1000);

  const fs::path print = dir / "print.png";
  ASSERT_EQ(run_hires({"upscale", "-m", "lanczos", in.string(), "-o", print.string(), "--preset",
                       "print", "-s", "2"})
                .exit_code,
            0);
  EXPECT_NEAR(load(print).xres() * 25.4, 300.0, 0.5);
  EXPECT_EQ(load(print).width(), 256);

  const RunResult bad = run_hires({"upscale", in.string(), "--preset", "poster"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("no preset named 'poster'"), std::string::npos) << bad.err;
}

std::string icc_of(const vips::VImage& im) {
  if (im.get_typeof(VIPS_META_ICC_NAME) == 0) return {};
  size_t len = 0;
  const void* data = im.get_blob(VIPS_META_ICC_NAME, &len);
  return {static_cast<const char*>(data), len};
}

// web and product-web deliver sRGB: a Display P3 input is converted through its profile.
TEST(PresetsCli, WebConvertsWideGamutToSrgb) {
  TempDir dir;
  const vips::VImage srgb = load(make_image(dir, "a.png", 96));
  const fs::path p3 = dir / "p3.png";
  srgb.icc_transform("p3").write_to_file(p3.c_str());
  const vips::VImage in = load(p3);
  const std::string p3_icc = icc_of(in);
  ASSERT_GT(p3_icc.size(), 100U);
  // What libvips itself makes of the input in sRGB (profile and pixels).
  const vips::VImage expected =
      in.icc_transform("srgb", vips::VImage::option()->set("embedded", TRUE));
  const std::string srgb_icc = icc_of(expected);
  ASSERT_NE(srgb_icc.find("sRGB"), std::string::npos);
  ASSERT_NE(srgb_icc, p3_icc);

  // Lossless (-o .png wins over the preset's format), same size: the pixels can be compared.
  const fs::path png = dir / "web.png";
  const RunResult r = run_hires(
      {"upscale", "-m", "lanczos", p3.string(), "-o", png.string(), "-s", "1", "--preset", "web"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("converted colours to sRGB"), std::string::npos) << r.err;
  const vips::VImage out = load(png);
  EXPECT_EQ(icc_of(out), srgb_icc);
  ASSERT_EQ(out.width(), 96);
  const vips::VImage diff = (out.cast(VIPS_FORMAT_FLOAT) - expected.cast(VIPS_FORMAT_FLOAT)).abs();
  EXPECT_LE(diff.max(), 2.0);
  EXPECT_LT(diff.avg(), 0.5);

  // The JPEG of the preset: sRGB profile, colours as libvips converts them (within JPEG error).
  const fs::path jpg = dir / "web.jpg";
  ASSERT_EQ(run_hires({"upscale", "-m", "lanczos", p3.string(), "-o", jpg.string(), "-s", "2",
                       "--preset", "web"})
                .exit_code,
            0);
  const vips::VImage web = load(jpg);
  EXPECT_EQ(icc_of(web), srgb_icc);
  for (int b = 0; b < 3; ++b) {
    EXPECT_NEAR(web.extract_band(b).avg(), expected.extract_band(b).avg(), 1.5) << "band " << b;
  }
  const fs::path shop = dir / "shop.jpg";
  ASSERT_EQ(run_hires({"upscale", "-m", "lanczos", p3.string(), "-o", shop.string(), "--preset",
                       "product-web", "--width", "400"})
                .exit_code,
            0);
  EXPECT_EQ(icc_of(load(shop)), srgb_icc);

  // Without the preset (or --srgb) the P3 profile is kept, and so are the pixels' values.
  const fs::path kept = dir / "kept.png";
  ASSERT_EQ(run_hires({"upscale", "-m", "lanczos", p3.string(), "-o", kept.string(), "-s", "1"})
                .exit_code,
            0);
  EXPECT_EQ(icc_of(load(kept)), p3_icc);
  const vips::VImage flag = load(kept);
  EXPECT_LE((flag.cast(VIPS_FORMAT_FLOAT) - in.cast(VIPS_FORMAT_FLOAT)).abs().max(), 1.0);

  // --no-srgb overrides the preset.
  const fs::path mine = dir / "mine.jpg";
  ASSERT_EQ(run_hires({"upscale", "-m", "lanczos", p3.string(), "-o", mine.string(), "--preset",
                       "web", "--no-srgb"})
                .exit_code,
            0);
  EXPECT_EQ(icc_of(load(mine)), p3_icc);

  // An untagged input is sRGB already: --srgb leaves it untouched.
  const fs::path plain = dir / "plain.png";
  ASSERT_EQ(run_hires({"upscale", "-m", "lanczos", (dir / "a.png").string(), "-o", plain.string(),
                       "-s", "1", "--srgb"})
                .exit_code,
            0);
  EXPECT_EQ(icc_of(load(plain)), "");
  EXPECT_LE((load(plain).cast(VIPS_FORMAT_FLOAT) - srgb.cast(VIPS_FORMAT_FLOAT)).abs().max(), 1.0);
}

TEST(PolishCli, DenoiseSharpenColourFixAndReview) {
  TempDir dir;
  // A noisy input: noise sigma 12 on the test image.
  vips::VImage clean = load(make_image(dir, "clean.png", 192));
  vips::VImage noise =
      vips::VImage::gaussnoise(192, 192, vips::VImage::option()->set("sigma", 12.0));
  const fs::path noisy = dir / "noisy.png";
  (clean + vips::VImage::bandjoin({noise, noise, noise}))
      .cast(VIPS_FORMAT_UCHAR)
      .copy(vips::VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB))
      .write_to_file(noisy.c_str());

  const fs::path plain = dir / "plain.png", dn = dir / "dn.png";
  ASSERT_EQ(run_hires({"upscale", "-m", "lanczos", noisy.string(), "-o", plain.string(), "-s", "2"})
                .exit_code,
            0);
  ASSERT_EQ(run_hires({"upscale", "-m", "lanczos", noisy.string(), "-o", dn.string(), "-s", "2",
                       "--denoise", "3"})
                .exit_code,
            0);
  const double noise_plain = check_json(plain)["measures"]["noise"];
  const double noise_dn = check_json(dn)["measures"]["noise"];
  EXPECT_LT(noise_dn, noise_plain / 2) << noise_plain << " -> " << noise_dn;
  EXPECT_EQ(run_hires({"upscale", "-m", "lanczos", noisy.string(), "--denoise", "4"}).exit_code, 2);

  const fs::path in = dir / "clean.png";
  const fs::path soft = dir / "soft.png", sharp = dir / "sharp.png";
  ASSERT_EQ(run_hires({"upscale", "-m", "lanczos", in.string(), "-o", soft.string()}).exit_code, 0);
  const RunResult sr = run_hires({"upscale", "-m", "lanczos", in.string(), "-o", sharp.string(),
                                  "--sharpen", "1.5", "--review"});
  ASSERT_EQ(sr.exit_code, 0) << sr.err;
  EXPECT_NE(sr.err.find("hires: review: "), std::string::npos) << sr.err;
  EXPECT_LT(check_json(sharp)["measures"]["blur"].get<double>(),
            check_json(soft)["measures"]["blur"].get<double>() - 0.02);

  // The colour fix keeps a faithful result faithful (a shifted one: see test_polish below).
  const fs::path fixed = dir / "fixed.png";
  const RunResult fr = run_hires({"upscale", "-m", "lanczos", in.string(), "-o", fixed.string(),
                                  "--color-fix", "--review", "--json"});
  ASSERT_EQ(fr.exit_code, 0) << fr.err;
  bool reviewed = false;
  std::istringstream lines(fr.out);
  for (std::string line; std::getline(lines, line);) {
    const json j = json::parse(line);
    if (j["event"] == "review") {
      reviewed = true;
      EXPECT_EQ(j["verdict"], "ok") << line;
      EXPECT_LT(j["color_shift"].get<double>(), 1.5);
    }
  }
  EXPECT_TRUE(reviewed) << fr.out;
  EXPECT_GT(psnr(load(fixed), load(soft)), 40.0);
}

}  // namespace
}  // namespace hires::test
