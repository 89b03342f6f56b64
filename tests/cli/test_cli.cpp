// End-to-end tests of the `hires` command for one input: sizing, options, messages, exit codes,
// output files. Every input is made on the fly in a TempDir.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>
#include <vips/vips8>

#include "cli/cli_helpers.hpp"
#include "support/test_support.hpp"

namespace hires::test {
namespace {

using nlohmann::json;

std::string vips_loader(const vips::VImage& im) {
  return const_cast<vips::VImage&>(im).get_string("vips-loader");
}

double dpi_of(const vips::VImage& im) {
  return im.xres() * 25.4;
}

void write_png(const vips::VImage& im, const fs::path& p) {
  const_cast<vips::VImage&>(im).pngsave(p.c_str());
}

void write_jpeg(const vips::VImage& im, const fs::path& p) {
  const_cast<vips::VImage&>(im).jpegsave(p.c_str(), vips::VImage::option()->set("Q", 90));
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    in_ = dir_ / "in.png";
    write_png(pattern_image(40, 30, 3, false), in_);
    in_bytes_ = read_file(in_);
  }

  // The input is never modified, whatever the command did.
  void expect_input_unchanged() const { EXPECT_EQ(read_file(in_), in_bytes_) << in_; }

  // A usage error: exit 2, the exact stderr line, nothing written, the input intact.
  void expect_usage_error(const std::vector<std::string>& extra, const std::string& line) const {
    const fs::path out = dir_ / "out.png";
    std::vector<std::string> args{in_.string(), "-o", out.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    const RunResult r = run_hires(args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_TRUE(has_line(r.err, line)) << "expected line: " << line << "\nstderr:\n" << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_FALSE(fs::exists(out));
    expect_input_unchanged();
    EXPECT_TRUE(temp_leftovers(dir_.path()).empty());
  }

  TempDir dir_;
  fs::path in_;
  std::string in_bytes_;
};

TEST_F(Cli, DefaultCommandUpscalesByTheGivenScale) {
  const fs::path out = dir_ / "out.png";
  const RunResult r = run_hires({in_.string(), "-o", out.string(), "-s", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const vips::VImage im = load_fresh(out);
  EXPECT_EQ(im.width(), 80);
  EXPECT_EQ(im.height(), 60);
  EXPECT_EQ(im.bands(), 3);
  EXPECT_EQ(im.format(), VIPS_FORMAT_UCHAR);
  EXPECT_EQ(vips_loader(im), "pngload");
  EXPECT_TRUE(contains(r.err, in_.string() + " -> " + out.string() + " (40x30 -> 80x60")) << r.err;
  expect_input_unchanged();
}

TEST_F(Cli, UpscaleSubcommandUpscalesByTheGivenScale) {
  const fs::path out = dir_ / "out.png";
  const RunResult r = run_hires({"upscale", in_.string(), "-o", out.string(), "-s", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const vips::VImage im = load_fresh(out);
  EXPECT_EQ(im.width(), 80);
  EXPECT_EQ(im.height(), 60);
  EXPECT_EQ(im.bands(), 3);
  expect_input_unchanged();
}

TEST_F(Cli, DefaultScaleIsFour) {
  const fs::path out = dir_ / "out.png";
  const RunResult r = run_hires({in_.string(), "-o", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const vips::VImage im = load_fresh(out);
  EXPECT_EQ(im.width(), 160);
  EXPECT_EQ(im.height(), 120);
}

TEST_F(Cli, WithoutOutputWritesNameHiresBesideTheInput) {
  const RunResult r = run_hires({in_.string(), "-s", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path out = dir_ / "in-hires.png";
  ASSERT_TRUE(fs::exists(out));
  EXPECT_EQ(load_fresh(out).width(), 80);
  expect_input_unchanged();
}

TEST_F(Cli, MissingInputFails) {
  const fs::path missing = dir_ / "nothere.png";
  const fs::path out = dir_ / "out.png";
  const RunResult r = run_hires({missing.string(), "-o", out.string(), "-s", "2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has_line(r.err, "hires: error: " + missing.string() + ": no such file")) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(Cli, ScaleZeroIsAUsageError) {
  expect_usage_error(
      {"--scale", "0"},
      "hires: error: --scale: '0' is not valid (expected a number greater than 0, like 2 or 3.5)");
}

TEST_F(Cli, PrintWithZeroDpiIsAUsageError) {
  expect_usage_error({"--print", "8x10in@0"},
                     "hires: error: --print: '8x10in@0' is not valid (expected WxH{in|cm}@DPI with "
                     "values above 0, like 8x10in@300)");
}

TEST_F(Cli, TwoSizingOptionsConflict) {
  expect_usage_error({"--scale", "2", "--width", "100"},
                     "hires: error: --scale and --width: conflict: choose one sizing option "
                     "(--scale, --width, --height, --fit, --long-edge or --print)");
}

TEST_F(Cli, DpiWithPrintConflicts) {
  expect_usage_error({"--print", "8x10in@300", "--dpi", "150"},
                     "hires: error: --dpi and --print: conflict: --print already sets the DPI");
}

// nan once switched the limits off and was accepted as a sharpen amount; 1e308 DPI printed GLib
// warnings and wrote 1 DPI. Every number option refuses nan, inf and out-of-range values in one
// line naming the option and the range.
TEST_F(Cli, NumberOptionsRefuseNanInfAndOutOfRange) {
  const std::string mp = "(expected a number above 0 and at most 1e+09)";
  for (const std::string v : {"nan", "inf", "-1", "0", "-nan", "1e10"}) {
    expect_usage_error({"--max-pixels", v},
                       "hires: error: --max-pixels: '" + v + "' is not valid " + mp);
    expect_usage_error({"--max-output-pixels", v},
                       "hires: error: --max-output-pixels: '" + v + "' is not valid " + mp);
  }
  for (const std::string v : {"nan", "inf", "-0.5", "5.5"}) {
    expect_usage_error({"--sharpen", v}, "hires: error: --sharpen: '" + v +
                                             "' is not valid (expected a number from 0 to 5)");
  }
  for (const std::string v : {"1e308", "inf", "nan", "-300", "0", "100001"}) {
    expect_usage_error(
        {"--dpi", v},
        "hires: error: --dpi: '" + v + "' is not valid (expected a DPI from 1 to 65535, like 300)");
  }
  expect_usage_error({"--print", "8x10in@1e308"},
                     "hires: error: --print: '8x10in@1e308' is not valid (expected a DPI of at "
                     "most 65535)");
}

// The message quotes what was typed: `--width 0`, not the "0x0" box it is checked as.
TEST_F(Cli, WidthZeroIsAUsageErrorQuotingTheValueGiven) {
  const fs::path out = dir_ / "out.png";
  const RunResult r = run_hires({in_.string(), "-o", out.string(), "--width", "0"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "hires: error: --width: '0' is not valid")) << r.err;
  EXPECT_FALSE(contains(r.err, "0x0")) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(Cli, UnknownOptionIsAUsageError) {
  const fs::path out = dir_ / "out.png";
  const RunResult r = run_hires({in_.string(), "-o", out.string(), "--frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "hires: error: ")) << r.err;
  EXPECT_TRUE(contains(r.err, "--frobnicate")) << r.err;
  EXPECT_TRUE(has_line(r.err,
                       "hires: error: --frobnicate: unknown option (hires --help lists "
                       "the options)"))
      << r.err;
  EXPECT_EQ(split_lines(r.err).size(), 1U) << r.err;
  EXPECT_FALSE(fs::exists(out));
  expect_input_unchanged();
}

// check, serve, eval and video take their shared options from the option table: the same value
// is refused with the same line by every command that takes it.
TEST_F(Cli, SharedOptionsAreCheckedAlikeByEveryCommand) {
  const std::string video = (dir_ / "clip.mp4").string();
  struct Case {
    std::vector<std::string> args;
    std::string line;
  };
  const std::string pixels =
      "hires: error: --max-pixels: 'nan' is not valid (expected a number above 0 and at most "
      "1e+09)";
  const std::string restore =
      "hires: error: --restore: '2' is not a strength from 0 to 1 (0 keeps the photo model's "
      "faithful look, 1 cleans up fully, e.g. --restore 0.5)";
  const std::string threads = "hires: error: --threads -1: expected a whole number from 0 to 1024";
  const std::vector<Case> cases{
      {{in_.string(), "--max-pixels", "nan"}, pixels},
      {{"check", in_.string(), "--max-pixels", "nan"}, pixels},
      {{"serve", "--port", "0", "--max-pixels", "nan"}, pixels},
      {{in_.string(), "--restore", "2"}, restore},
      {{"eval", dir_.path().string(), "-m", "auto", "--restore", "2"}, restore},
      {{"video", video, "-o", (dir_ / "x.mp4").string(), "--restore", "2"}, restore},
      {{in_.string(), "--threads", "-1"}, threads},
      {{"serve", "--port", "0", "--threads", "-1"}, threads},
      {{"eval", dir_.path().string(), "--threads", "-1"}, threads},
      {{"video", video, "-o", (dir_ / "x.mp4").string(), "--threads", "-1"}, threads},
  };
  for (const Case& c : cases) {
    const RunResult r = run_hires(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args.front() << "\n" << r.err;
    EXPECT_TRUE(has_line(r.err, c.line)) << "expected: " << c.line << "\ngot:\n" << r.err;
  }
  expect_input_unchanged();
}

TEST_F(Cli, UnknownMethodIsAUsageError) {
  expect_usage_error({"-m", "magic"},
                     "hires: error: --method: 'magic' is not a method or a model (expected "
                     "nearest, bilinear, bicubic, lanczos, a model file, or a model name that "
                     "'hires models' lists)");
}

TEST_F(Cli, QualityZeroIsAUsageError) {
  const fs::path out = dir_ / "out.jpg";
  const RunResult r = run_hires({in_.string(), "-o", out.string(), "-q", "0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "hires: error: --quality")) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(Cli, UnknownOutputExtensionIsAUsageError) {
  const fs::path out = dir_ / "out.bmp";
  const RunResult r = run_hires({in_.string(), "-o", out.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(has_line(r.err, "hires: error: " + out.string() +
                                  ": cannot tell the output format from '.bmp' (use an extension "
                                  ".jpg .png .webp .tif .avif or pass -f)"))
      << r.err;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_TRUE(temp_leftovers(dir_.path()).empty());
}

TEST_F(Cli, FormatFlagContradictingTheOutputExtensionIsAUsageError) {
  const fs::path out = dir_ / "o.png";
  const RunResult r = run_hires({in_.string(), "-o", out.string(), "-f", "webp"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(
      has_line(r.err, "hires: error: " + out.string() +
                          ": the extension says png but -f asks for webp (make them agree)"))
      << r.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(Cli, MaxBytesWithLosslessOutputIsAUsageError) {
  expect_usage_error({"--max-bytes", "150K"},
                     "hires: error: --max-bytes: png is lossless, so its size cannot be traded for "
                     "quality (write jpg, webp or avif, e.g. --format jpg)");
}

TEST_F(Cli, OutputOntoTheInputIsRefused) {
  const fs::path sub = dir_ / "d";
  fs::create_directories(sub);
  const fs::path in_sub = sub / "in.png";
  fs::copy_file(in_, in_sub);
  const std::vector<std::pair<fs::path, fs::path>> cases{
      {in_, in_},                                          // the same spelling
      {in_sub, sub / "." / "in.png"},                      // dir/./in.png
      {in_sub, sub / ".." / "d" / "in.png"},               // dir/../dir/in.png
      {in_sub, fs::relative(in_sub, fs::current_path())},  // relative vs absolute
  };
  for (const auto& [input, output] : cases) {
    for (const bool overwrite : {false, true}) {
      SCOPED_TRACE(input.string() + " -o " + output.string() + (overwrite ? " --overwrite" : ""));
      std::vector<std::string> args{input.string(), "-o", output.string(), "-s", "2"};
      if (overwrite) args.emplace_back("--overwrite");
      const RunResult r = run_hires(args);
      EXPECT_EQ(r.exit_code, 2) << r.err;
      EXPECT_TRUE(has_line(r.err, "hires: error: " + output.string() +
                                      ": is an input file; refusing to overwrite it (choose "
                                      "another output path)"))
          << r.err;
      EXPECT_EQ(read_file(input), in_bytes_);
    }
  }
  EXPECT_TRUE(temp_leftovers(dir_.path()).empty());
}

TEST_F(Cli, OutputThroughASymlinkToTheInputIsRefused) {
  const fs::path link = dir_ / "link.png";
  fs::create_symlink(in_, link);
  const RunResult r = run_hires({in_.string(), "-o", link.string(), "--overwrite"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "is an input file; refusing to overwrite it")) << r.err;
  EXPECT_TRUE(fs::is_symlink(link));
  expect_input_unchanged();
}

// A hard link is another spelling of the input file: it must be refused like the others, as a
// usage error (exit 2) before any work starts.
TEST_F(Cli, OutputHardLinkedToTheInputIsRefusedAsAUsageError) {
  const fs::path hard = dir_ / "hard.png";
  fs::create_hard_link(in_, hard);
  const RunResult r = run_hires({in_.string(), "-o", hard.string(), "--overwrite"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "is an input file; refusing to overwrite it")) << r.err;
  expect_input_unchanged();
  EXPECT_EQ(read_file(hard), in_bytes_);
}

TEST(CliPrint, PrintSizeSetsPixelsAndDpi) {
  TempDir dir;
  const fs::path in = dir / "photo.jpg";
  write_jpeg(pattern_image(1080, 1350, 3, false), in);
  const std::string in_bytes = read_file(in);
  for (const std::string ext : {".jpg", ".png"}) {
    SCOPED_TRACE(ext);
    const fs::path out = dir / ("print" + ext);
    const RunResult r = run_hires({in.string(), "-o", out.string(), "--print", "8x10in@300"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const vips::VImage im = load_fresh(out);
    EXPECT_EQ(im.width(), 2400);
    EXPECT_EQ(im.height(), 3000);
    EXPECT_NEAR(dpi_of(im), 300.0, 0.5);
    EXPECT_NEAR(im.yres() * 25.4, 300.0, 0.5);
    EXPECT_TRUE(contains(r.err, "(1080x1350 -> 2400x3000, 300 DPI")) << r.err;
  }
  EXPECT_EQ(read_file(in), in_bytes);
}

TEST(CliPrint, DpiIsWrittenWithoutResizing) {
  TempDir dir;
  const fs::path in = dir / "in.png";
  write_png(pattern_image(300, 200, 3, false), in);
  struct Case {
    std::string name;
    std::string scale;
    int width, height;
  };
  for (const Case& c : {Case{"one.png", "1", 300, 200}, Case{"two.png", "2", 600, 400},
                        Case{"two.jpg", "2", 600, 400}}) {
    SCOPED_TRACE(c.name);
    const fs::path out = dir / c.name;
    const RunResult r = run_hires({in.string(), "-o", out.string(), "-s", c.scale, "--dpi", "150"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const vips::VImage im = load_fresh(out);
    EXPECT_EQ(im.width(), c.width);
    EXPECT_EQ(im.height(), c.height);
    EXPECT_NEAR(dpi_of(im), 150.0, 0.5);
    EXPECT_TRUE(contains(r.err, ", 150 DPI")) << r.err;
  }
}

TEST(CliSizing, SizingOptionsGiveTheExpectedSize) {
  TempDir dir;
  const fs::path in = dir / "in.png";
  write_png(pattern_image(300, 200, 3, false), in);
  struct Case {
    std::vector<std::string> flags;
    int width, height;
  };
  const std::vector<Case> cases{
      {{"--width", "600"}, 600, 400},      {{"--width", "150"}, 150, 100},
      {{"--height", "500"}, 750, 500},     {{"--fit", "900x300"}, 450, 300},
      {{"--fit", "1000x1000"}, 1000, 667}, {{"--long-edge", "750"}, 750, 500},
      {{"--scale", "1.5"}, 450, 300},
  };
  int n = 0;
  for (const Case& c : cases) {
    const fs::path out = dir / ("out" + std::to_string(n++) + ".png");
    std::vector<std::string> args{in.string(), "-o", out.string()};
    args.insert(args.end(), c.flags.begin(), c.flags.end());
    SCOPED_TRACE(c.flags[0] + " " + c.flags[1]);
    const RunResult r = run_hires(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const vips::VImage im = load_fresh(out);
    EXPECT_EQ(im.width(), c.width);
    EXPECT_EQ(im.height(), c.height);
  }
}

TEST(CliMaxBytes, FindsTheHighestQualityThatFits) {
  TempDir dir;
  const fs::path in = dir / "noise.png";
  write_png(noise_image(600, 400, 11), in);

  // The default quality would not fit.
  const fs::path plain = dir / "plain.jpg";
  RunResult r = run_hires({in.string(), "-o", plain.string(), "-s", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_GT(fs::file_size(plain), 150000u);

  const fs::path out = dir / "fit.jpg";
  // Noise is JPEG's worst case: the floor (60) cannot be kept, and says so.
  r = run_hires({in.string(), "-o", out.string(), "-s", "3", "--max-bytes", "150K", "-f", "jpg"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(
      r.err, "hires: error: " + out.string() + ": cannot fit in 150.0 KB at quality 60 or more"))
      << r.err;
  EXPECT_TRUE(contains(r.err, "--min-quality 1")) << r.err;
  EXPECT_FALSE(fs::exists(out));
  r = run_hires({in.string(), "-o", out.string(), "-s", "3", "--max-bytes", "150K", "-f", "jpg",
                 "--json", "--min-quality", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LE(fs::file_size(out), 150000u);
  const vips::VImage im = load_fresh(out);
  EXPECT_EQ(vips_loader(im), "jpegload");
  EXPECT_EQ(im.width(), 1800);
  EXPECT_EQ(im.height(), 1200);

  // The quality reported is the highest that fits: one more does not.
  int quality = 0;
  for (const auto& line : split_lines(r.out)) {
    const json j = json::parse(line);
    if (j.at("event") == "done") {
      quality = j.at("quality").get<int>();
      EXPECT_EQ(j.at("bytes").get<std::uint64_t>(), fs::file_size(out));
      if (quality < 60) {
        ASSERT_FALSE(j.at("notices").empty());
        EXPECT_TRUE(contains(j.at("notices").back().get<std::string>(),
                             "JPEG blocks may show (allowed by --min-quality)"))
            << j.dump();
      }
    }
  }
  ASSERT_GT(quality, 0);
  ASSERT_LT(quality, 90);
  const fs::path above = dir / "above.jpg";
  r = run_hires({in.string(), "-o", above.string(), "-s", "3", "-q", std::to_string(quality + 1)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(fs::file_size(above), 150000u);
  EXPECT_TRUE(temp_leftovers(dir.path()).empty());
}

TEST(CliMaxBytes, ImpossibleTargetFailsAndLeavesNothing) {
  TempDir dir;
  const fs::path in = dir / "noise.png";
  write_png(noise_image(600, 400, 11), in);
  const std::string in_bytes = read_file(in);
  const fs::path out_dir = dir / "out";
  fs::create_directories(out_dir);
  const fs::path out = out_dir / "tiny.jpg";
  const RunResult r = run_hires({in.string(), "-o", out.string(), "-s", "3", "--max-bytes", "1K",
                                 "-f", "jpg", "--min-quality", "1"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "hires: error: " + out.string() + ": cannot fit in 1.0 KB")) << r.err;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_TRUE(fs::is_empty(out_dir));
  EXPECT_EQ(read_file(in), in_bytes);
}

TEST_F(Cli, ExistingOutputIsSkippedUnlessOverwrite) {
  const fs::path out = dir_ / "out.png";
  RunResult r = run_hires({in_.string(), "-o", out.string(), "-s", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string first = read_file(out);
  const auto mtime = fs::last_write_time(out);

  // A different scale, so that a rewrite would show in the pixels too.
  r = run_hires({in_.string(), "-o", out.string(), "-s", "3"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has_line(r.err, "hires: skipped: " + out.string() +
                                  ": output exists (pass --overwrite to replace it)"))
      << r.err;
  EXPECT_EQ(read_file(out), first);
  EXPECT_EQ(fs::last_write_time(out), mtime);
  EXPECT_EQ(load_fresh(out).width(), 80);

  r = run_hires({in_.string(), "-o", out.string(), "-s", "3", "--overwrite"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(contains(r.err, "skipped")) << r.err;
  const vips::VImage im = load_fresh(out);
  EXPECT_EQ(im.width(), 120);
  EXPECT_EQ(im.height(), 90);
  EXPECT_NE(read_file(out), first);
  expect_input_unchanged();
  EXPECT_TRUE(temp_leftovers(dir_.path()).empty());
}

TEST(CliJson, EventsAreJsonLinesInOrder) {
  TempDir dir;
  const fs::path in = dir / "in.png";
  write_png(pattern_image(300, 200, 3, false), in);
  const fs::path out = dir / "out.jpg";
  const RunResult r = run_hires({in.string(), "-o", out.string(), "-s", "4", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_FALSE(r.out.empty());
  ASSERT_EQ(r.out.back(), '\n');

  std::vector<std::string> events;
  json done;
  json summary;
  for (const auto& line : split_lines(r.out)) {
    ASSERT_TRUE(json::accept(line)) << "not JSON: " << line;
    const json j = json::parse(line);
    ASSERT_TRUE(j.is_object()) << line;
    const std::string event = j.at("event").get<std::string>();
    if (event == "progress") {
      EXPECT_GE(j.at("fraction").get<double>(), 0.0);
      EXPECT_LE(j.at("fraction").get<double>(), 1.0);
      if (!events.empty() && events.back() == "progress") continue;
    }
    if (event == "done") done = j;
    if (event == "summary") summary = j;
    events.push_back(event);
  }
  if (events.size() == 3) {
    EXPECT_EQ(events, (std::vector<std::string>{"start", "done", "summary"}));
  } else {
    EXPECT_EQ(events, (std::vector<std::string>{"start", "progress", "done", "summary"}));
  }
  EXPECT_EQ(done.at("input"), in.string());
  EXPECT_EQ(done.at("output"), out.string());
  EXPECT_EQ(done.at("in").at("width"), 300);
  EXPECT_EQ(done.at("in").at("height"), 200);
  EXPECT_EQ(done.at("out").at("width"), 1200);
  EXPECT_EQ(done.at("out").at("height"), 800);
  EXPECT_EQ(done.at("bytes").get<std::uint64_t>(), fs::file_size(out));
  EXPECT_EQ(summary.at("done"), 1);
  EXPECT_EQ(summary.at("skipped"), 0);
  EXPECT_EQ(summary.at("failed"), 0);
  // The human-readable report is not printed in JSON mode.
  EXPECT_FALSE(contains(r.err, " -> ")) << r.err;
}

TEST(CliJson, SkipsAndFailuresAreEventsToo) {
  TempDir dir;
  const fs::path in = dir / "in.png";
  write_png(pattern_image(30, 20, 3, false), in);
  const fs::path missing = dir / "missing.png";
  const fs::path out_dir = dir / "out";
  ASSERT_EQ(run_hires({in.string(), "-o", (out_dir / "in.png").string(), "-s", "2"}).exit_code, 0);

  const RunResult r =
      run_hires({in.string(), missing.string(), "-o", out_dir.string(), "-s", "2", "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  std::vector<std::string> events;
  json summary;
  for (const auto& line : split_lines(r.out)) {
    ASSERT_TRUE(json::accept(line)) << "not JSON: " << line;
    const json j = json::parse(line);
    events.push_back(j.at("event").get<std::string>());
    if (events.back() == "skipped") {
      EXPECT_EQ(j.at("input"), in.string());
    }
    if (events.back() == "error") {
      EXPECT_EQ(j.at("input"), missing.string());
      EXPECT_EQ(j.at("message"), missing.string() + ": no such file");
    }
    if (events.back() == "summary") summary = j;
  }
  EXPECT_EQ(events, (std::vector<std::string>{"skipped", "start", "error", "summary"}));
  EXPECT_EQ(summary.at("done"), 0);
  EXPECT_EQ(summary.at("skipped"), 1);
  EXPECT_EQ(summary.at("failed"), 1);
  ASSERT_EQ(summary.at("failures").size(), 1u);
  EXPECT_EQ(summary.at("failures")[0].at("input"), missing.string());
}

TEST(CliModels, ListsTheMethods) {
  const RunResult r = run_hires({"models"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> lines = split_lines(r.out);
  for (const std::string name : {"nearest", "bilinear", "bicubic", "lanczos"}) {
    bool listed = false;
    for (const auto& l : lines) listed = listed || l.rfind(name + " ", 0) == 0;
    EXPECT_TRUE(listed) << name << " not listed in:\n" << r.out;
  }
}

// Each model line says its licence when the file's metadata has one (the built-in models do).
TEST(CliModels, ListsTheLicenceOfModelsThatHaveOne) {
  const RunResult r = run_hires({"models"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  bool builtin_listed = false;
  for (const auto& l : split_lines(r.out)) {
    if (l.rfind("photo-x4 ", 0) != 0) continue;
    builtin_listed = true;
    EXPECT_NE(l.find(", licence CC-BY-4.0 hires project, "), std::string::npos) << l;
  }
  if (!builtin_listed) GTEST_SKIP() << "this build has no built-in models";
}

TEST(CliModels, ListsTheMethodsAsJson) {
  const RunResult r = run_hires({"models", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(json::accept(r.out)) << r.out;
  const json list = json::parse(r.out);
  ASSERT_TRUE(list.is_array());
  std::vector<std::string> names;
  for (const auto& m : list) {  // built-in models follow the classics (tests/builtin)
    if (m.at("architecture") == "classic") names.push_back(m.at("name").get<std::string>());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"nearest", "bilinear", "bicubic", "lanczos"}));
}

TEST(CliLimits, InputOverThePixelLimitFails) {
  TempDir dir;
  const fs::path in = dir / "in.png";
  write_png(pattern_image(100, 100, 3, false), in);
  const fs::path out = dir / "out.png";
  const RunResult r = run_hires({in.string(), "-o", out.string(), "--max-pixels", "0.001"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "hires: error: " + in.string() + ": 100x100 is ")) << r.err;
  EXPECT_TRUE(contains(r.err, "over the input limit")) << r.err;
  // The library names the option by its key; the CLI spells it as the flag.
  EXPECT_TRUE(contains(r.err, "(raise --max-pixels to accept it)")) << r.err;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_TRUE(temp_leftovers(dir.path()).empty());
}

TEST(CliLimits, OutputOverThePixelLimitFails) {
  TempDir dir;
  const fs::path in = dir / "in.png";
  write_png(pattern_image(100, 100, 3, false), in);
  const fs::path out = dir / "out.png";
  const RunResult r =
      run_hires({in.string(), "-o", out.string(), "-s", "2", "--max-output-pixels", "0.01"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "hires: error: " + in.string() + ": the output would be 200x200"))
      << r.err;
  EXPECT_TRUE(contains(r.err, "over the output limit")) << r.err;
  EXPECT_TRUE(contains(r.err, "(raise --max-output-pixels or ask for a smaller size)")) << r.err;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_TRUE(temp_leftovers(dir.path()).empty());

  // Within the limits, the same image goes through.
  const RunResult ok =
      run_hires({in.string(), "-o", out.string(), "-s", "2", "--max-output-pixels", "0.04"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

// 40x30 RGBA: the left half opaque (20, 40, 60), the right half fully transparent with the same
// hidden colour.
vips::VImage half_transparent() {
  init_vips();
  const vips::VImage x = vips::VImage::xyz(40, 30)[0];
  const vips::VImage alpha = (x < 20).cast(VIPS_FORMAT_UCHAR);
  const vips::VImage rgb = vips::VImage::black(40, 30).new_from_image({20, 40, 60});
  return rgb.cast(VIPS_FORMAT_UCHAR)
      .bandjoin(alpha)
      .copy(vips::VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB));
}

TEST(CliAlpha, FlattenedOntoWhiteForJpeg) {
  TempDir dir;
  const fs::path in = dir / "rgba.png";
  write_png(half_transparent(), in);
  ASSERT_EQ(load_fresh(in).bands(), 4);
  const fs::path out = dir / "out.jpg";
  const RunResult r = run_hires({in.string(), "-o", out.string(), "-s", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has_line(r.err, "hires: notice: " + in.string() +
                                  ": jpg has no transparency: alpha flattened onto #ffffff"))
      << r.err;
  const vips::VImage im = load_fresh(out);
  EXPECT_EQ(im.width(), 80);
  EXPECT_EQ(im.height(), 60);
  EXPECT_EQ(im.bands(), 3);
  EXPECT_EQ(im.format(), VIPS_FORMAT_UCHAR);
  for (const double v : pixel(im, 70, 30)) EXPECT_GE(v, 250);  // transparent -> white
  const std::vector<double> opaque = pixel(im, 10, 30);
  ASSERT_EQ(opaque.size(), 3u);
  EXPECT_NEAR(opaque[0], 20, 8);
  EXPECT_NEAR(opaque[1], 40, 8);
  EXPECT_NEAR(opaque[2], 60, 8);
}

TEST(CliAlpha, BackgroundColourIsUsed) {
  TempDir dir;
  const fs::path in = dir / "rgba.png";
  write_png(half_transparent(), in);
  const fs::path out = dir / "out.jpg";
  const RunResult r =
      run_hires({in.string(), "-o", out.string(), "-s", "2", "--background", "#000000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "alpha flattened onto #000000")) << r.err;
  for (const double v : pixel(load_fresh(out), 70, 30)) EXPECT_LE(v, 5);
}

TEST(CliAlpha, KeptForPng) {
  TempDir dir;
  const fs::path in = dir / "rgba.png";
  write_png(half_transparent(), in);
  const fs::path out = dir / "out.png";
  const RunResult r = run_hires({in.string(), "-o", out.string(), "-s", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(contains(r.err, "flattened")) << r.err;
  const vips::VImage im = load_fresh(out);
  EXPECT_EQ(im.bands(), 4);
  EXPECT_EQ(pixel(im, 70, 30)[3], 0);
  EXPECT_EQ(pixel(im, 10, 30)[3], 255);
}

TEST(CliTempFiles, NoneLeftAfterSuccessOrFailure) {
  TempDir dir;
  const fs::path in = dir / "in.png";
  write_png(noise_image(300, 200, 11), in);
  const std::string bytes = read_file(in);
  const fs::path trunc = dir / "trunc.png";
  {
    std::ofstream f(trunc, std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  }
  const fs::path out_dir = dir / "out";
  fs::create_directories(out_dir);

  RunResult r = run_hires({in.string(), "-o", (out_dir / "ok.jpg").string(), "-s", "2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = run_hires({in.string(), "-o", (out_dir / "ok.png").string(), "-s", "2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = run_hires({trunc.string(), "-o", (out_dir / "trunc.jpg").string(), "-s", "2"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "hires: error: " + trunc.string() + ": ")) << r.err;
  r = run_hires({trunc.string(), "-o", (out_dir / "trunc.png").string(), "-s", "2"});
  EXPECT_EQ(r.exit_code, 1) << r.err;

  EXPECT_TRUE(temp_leftovers(out_dir).empty());
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(out_dir)) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"ok.jpg", "ok.png"}));
}

}  // namespace
}  // namespace hires::test
