// End-to-end tests of the `hires` command for several inputs: folders, recursion, output trees,
// bad files in a batch, and the edge-case dataset in ../shared.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>
#include <vips/vips8>

#include "cli/cli_helpers.hpp"
#include "support/test_support.hpp"

namespace hires::test {
namespace {

bool has_line_starting(const std::string& text, const std::string& prefix) {
  for (const auto& l : split_lines(text)) {
    if (l.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

// All regular files under `dir`, as sorted paths relative to it ("sub/x.png").
std::vector<std::string> tree(const fs::path& dir) {
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) files.push_back(fs::relative(e.path(), dir).generic_string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream f(p, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(byte(gen));
  return s;
}

void write_image(const vips::VImage& im, const fs::path& p) {
  const_cast<vips::VImage&>(im).write_to_file(p.c_str());
}

std::string vips_loader(const vips::VImage& im) {
  return const_cast<vips::VImage&>(im).get_string("vips-loader");
}

void expect_size(const fs::path& p, int w, int h) {
  ASSERT_TRUE(fs::exists(p)) << p;
  const vips::VImage im = load_fresh(p);
  EXPECT_EQ(im.width(), w) << p;
  EXPECT_EQ(im.height(), h) << p;
}

// in/a.png, in/b.jpg, in/sub/x.png (20x20 each) and in/notes.txt.
class BatchFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    in_ = dir_ / "in";
    fs::create_directories(in_ / "sub");
    write_image(pattern_image(20, 20, 3, false), in_ / "a.png");
    write_image(pattern_image(20, 16, 3, false), in_ / "b.jpg");
    write_image(pattern_image(12, 10, 3, false), in_ / "sub" / "x.png");
    write_bytes(in_ / "notes.txt", "not an image\n");
    before_ = snapshot();
  }

  std::map<std::string, std::string> snapshot() const {
    std::map<std::string, std::string> files;
    for (const auto& f : tree(in_)) files[f] = read_file(in_ / f);
    return files;
  }

  TempDir dir_;
  fs::path in_;
  std::map<std::string, std::string> before_;
};

TEST_F(BatchFolder, WithoutRecursiveOnlyTopLevelImages) {
  const fs::path out = dir_ / "out";
  const RunResult r = run_hires({in_.string(), "-o", out.string(), "-s", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(tree(out), (std::vector<std::string>{"a.png", "b.jpg"}));
  expect_size(out / "a.png", 40, 40);
  expect_size(out / "b.jpg", 40, 32);
  EXPECT_EQ(vips_loader(load_fresh(out / "b.jpg")), "jpegload");
  EXPECT_TRUE(has_line(r.err, "hires: 2 done, 0 skipped, 0 failed")) << r.err;
  EXPECT_FALSE(contains(r.err, "notes.txt")) << r.err;
  EXPECT_EQ(snapshot(), before_);
}

TEST_F(BatchFolder, RecursiveMirrorsTheTree) {
  const fs::path out = dir_ / "out";
  const RunResult r = run_hires({in_.string(), "-o", out.string(), "-s", "2", "-r"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(tree(out), (std::vector<std::string>{"a.png", "b.jpg", "sub/x.png"}));
  expect_size(out / "a.png", 40, 40);
  expect_size(out / "b.jpg", 40, 32);
  expect_size(out / "sub" / "x.png", 24, 20);
  EXPECT_TRUE(has_line(r.err, "hires: 3 done, 0 skipped, 0 failed")) << r.err;
  EXPECT_EQ(snapshot(), before_);
  EXPECT_TRUE(temp_leftovers(out).empty());
}

TEST_F(BatchFolder, FormatChangesTheOutputExtensions) {
  const fs::path out = dir_ / "out";
  const RunResult r = run_hires({in_.string(), "-o", out.string(), "-s", "2", "-r", "-f", "webp"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(tree(out), (std::vector<std::string>{"a.webp", "b.webp", "sub/x.webp"}));
  for (const auto& f : tree(out)) {
    EXPECT_EQ(vips_loader(load_fresh(out / f)), "webpload") << f;
  }
  expect_size(out / "sub" / "x.webp", 24, 20);
  EXPECT_EQ(snapshot(), before_);
}

TEST_F(BatchFolder, FolderWithoutOutputIsAUsageError) {
  const RunResult r = run_hires({in_.string(), "-s", "2"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(has_line(r.err, "hires: error: " + in_.string() +
                                  ": is a folder; its outputs need a place (pass -o FOLDER)"))
      << r.err;
  EXPECT_EQ(snapshot(), before_);  // nothing written beside the inputs either
}

TEST_F(BatchFolder, SecondRunSkipsEveryOutput) {
  const fs::path out = dir_ / "out";
  ASSERT_EQ(run_hires({in_.string(), "-o", out.string(), "-s", "2"}).exit_code, 0);
  const std::string a = read_file(out / "a.png");
  const RunResult r = run_hires({in_.string(), "-o", out.string(), "-s", "3"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has_line(r.err, "hires: 0 done, 2 skipped, 0 failed")) << r.err;
  EXPECT_EQ(read_file(out / "a.png"), a);
}

TEST_F(BatchFolder, EmptyFolderIsAUsageError) {
  const fs::path empty = dir_ / "empty";
  fs::create_directories(empty);
  const RunResult r = run_hires({empty.string(), "-o", (dir_ / "out").string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(has_line_starting(r.err, "hires: error: " + empty.string() + ": no images found"))
      << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

TEST(Batch, SameNameFromTwoFoldersIsAUsageError) {
  TempDir dir;
  fs::create_directories(dir / "a");
  fs::create_directories(dir / "b");
  write_image(pattern_image(10, 10, 3, false), dir / "a" / "x.png");
  write_image(pattern_image(10, 10, 3, false), dir / "b" / "x.png");
  const fs::path out = dir / "out";
  const RunResult r = run_hires(
      {(dir / "a" / "x.png").string(), (dir / "b" / "x.png").string(), "-o", out.string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "would be written twice")) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST(Batch, SeveralInputsToAnExistingFileIsAUsageError) {
  TempDir dir;
  write_image(pattern_image(10, 10, 3, false), dir / "a.png");
  write_image(pattern_image(10, 10, 3, false), dir / "b.png");
  const fs::path out = dir / "out.png";
  write_bytes(out, "keep me");
  const RunResult r =
      run_hires({(dir / "a.png").string(), (dir / "b.png").string(), "-o", out.string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "is a file, but several inputs need an output folder")) << r.err;
  EXPECT_EQ(read_file(out), "keep me");
}

TEST(Batch, CorruptFileInTheMiddleFailsAndTheOthersAreDone) {
  TempDir dir;
  const fs::path a = dir / "a.png";
  const fs::path bad = dir / "bad.jpg";
  const fs::path c = dir / "c.png";
  write_image(pattern_image(20, 10, 3, false), a);
  write_bytes(bad, random_bytes(4096, 42));
  write_image(pattern_image(10, 20, 3, false), c);
  const std::string bad_bytes = read_file(bad);
  const fs::path out = dir / "out";

  const RunResult r =
      run_hires({a.string(), bad.string(), c.string(), "-o", out.string(), "-s", "2"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(tree(out), (std::vector<std::string>{"a.png", "c.png"}));
  expect_size(out / "a.png", 40, 20);
  expect_size(out / "c.png", 20, 40);
  EXPECT_TRUE(has_line(r.err, "hires: 2 done, 0 skipped, 1 failed")) << r.err;
  EXPECT_TRUE(has_line_starting(r.err, "hires: error: " + bad.string() + ": ")) << r.err;
  EXPECT_TRUE(has_line_starting(r.err, "  failed: " + bad.string() + ": ")) << r.err;
  EXPECT_EQ(read_file(bad), bad_bytes);
  EXPECT_TRUE(temp_leftovers(out).empty());
}

class BatchTruncated : public ::testing::TestWithParam<std::string> {};

TEST_P(BatchTruncated, FailsCleanly) {
  const std::string ext = GetParam();
  TempDir dir;
  const fs::path whole = dir / ("whole" + ext);
  write_image(noise_image(300, 200, 5), whole);
  const std::string bytes = read_file(whole);
  const fs::path trunc = dir / ("trunc" + ext);
  write_bytes(trunc, bytes.substr(0, bytes.size() / 2));
  const fs::path ok = dir / "ok.png";
  write_image(pattern_image(20, 20, 3, false), ok);
  const fs::path out = dir / "out";

  const RunResult r = run_hires({ok.string(), trunc.string(), "-o", out.string(), "-s", "2"});
  EXPECT_EQ(r.exit_code, 1) << r.err;  // a failure, not a crash (a signal reads 128 + N)
  EXPECT_TRUE(has_line_starting(r.err, "hires: error: " + trunc.string() + ": ")) << r.err;
  EXPECT_TRUE(has_line(r.err, "hires: 1 done, 0 skipped, 1 failed")) << r.err;
  EXPECT_EQ(tree(out), (std::vector<std::string>{"ok.png"}));
  expect_size(out / "ok.png", 40, 40);
  EXPECT_TRUE(temp_leftovers(out).empty());

  // Alone, and written as the other format too.
  for (const std::string out_ext : {".png", ".jpg"}) {
    const fs::path single = dir / ("single" + out_ext);
    const RunResult s = run_hires({trunc.string(), "-o", single.string(), "-s", "2"});
    EXPECT_EQ(s.exit_code, 1) << s.err;
    EXPECT_TRUE(has_line_starting(s.err, "hires: error: " + trunc.string() + ": ")) << s.err;
    EXPECT_FALSE(fs::exists(single));
  }
  EXPECT_TRUE(temp_leftovers(dir.path()).empty());
}

INSTANTIATE_TEST_SUITE_P(Formats, BatchTruncated, ::testing::Values(".png", ".jpg"),
                         [](const auto& param_info) { return param_info.param.substr(1); });

// The image files at the top of `dir` (its sub-folders, like video/, are left out).
std::vector<fs::path> images_in(const fs::path& dir) {
  const std::set<std::string> image_exts{".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff"};
  std::vector<fs::path> images;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file() && image_exts.count(e.path().extension().string()) != 0) {
      images.push_back(e.path());
    }
  }
  std::sort(images.begin(), images.end());
  return images;
}

TEST(BatchEdge, EveryImageUpscales) {
  HIRES_REQUIRE_SHARED(edge, "datasets/edge");
  const std::vector<fs::path> images = images_in(edge);
  ASSERT_FALSE(images.empty());
  for (const std::string name : {"tree_alpha_16bit.png", "00017_gray.png", "children-alpha.png"}) {
    ASSERT_TRUE(fs::exists(edge / name)) << name;
  }

  TempDir out;
  for (const fs::path& in : images) {
    SCOPED_TRACE(in.string());
    const std::string in_bytes = read_file(in);
    const vips::VImage src = load_fresh(in);
    const fs::path dest = out / in.filename().string();
    const RunResult r = run_hires({in.string(), "-o", dest.string(), "-s", "2"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const vips::VImage im = load_fresh(dest);
    EXPECT_EQ(im.width(), src.width() * 2);
    EXPECT_EQ(im.height(), src.height() * 2);
    EXPECT_EQ(im.bands(), src.bands());
    EXPECT_EQ(im.format(), src.format());
    EXPECT_EQ(read_file(in), in_bytes);
  }
  EXPECT_TRUE(temp_leftovers(out.path()).empty());

  const vips::VImage tree16 = load_fresh(out / "tree_alpha_16bit.png");
  EXPECT_EQ(tree16.format(), VIPS_FORMAT_USHORT);
  EXPECT_EQ(tree16.bands(), 4);
  const vips::VImage gray = load_fresh(out / "00017_gray.png");
  EXPECT_EQ(gray.bands(), 1);
  EXPECT_EQ(gray.format(), VIPS_FORMAT_UCHAR);
  const vips::VImage children = load_fresh(out / "children-alpha.png");
  EXPECT_EQ(children.bands(), 4);
  EXPECT_EQ(children.format(), VIPS_FORMAT_UCHAR);
}

TEST(BatchEdge, FolderInOneRun) {
  HIRES_REQUIRE_SHARED(edge, "datasets/edge");
  TempDir out;
  const RunResult r = run_hires({edge.string(), "-o", out.path().string(), "-s", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::size_t images = images_in(edge).size();
  EXPECT_EQ(tree(out.path()).size(), images);
  EXPECT_FALSE(fs::exists(out / "video"));
  EXPECT_TRUE(has_line(r.err, "hires: " + std::to_string(images) + " done, 0 skipped, 0 failed"))
      << r.err;
}

}  // namespace
}  // namespace hires::test
