// Helpers shared by the tests: temporary folders, images made on the fly, running the CLI.
#pragma once

#include <gtest/gtest.h>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>
#include <vips/vips8>

namespace hires::test {

namespace fs = std::filesystem;

// A fresh folder, removed with its contents at the end of the test.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

// ../shared beside the checkout, or std::nullopt (tests then skip with a visible message).
std::optional<fs::path> shared_dir(const std::string& sub);

#define HIRES_REQUIRE_SHARED(var, sub)                                             \
  const auto var##_opt = ::hires::test::shared_dir(sub);                           \
  if (!var##_opt) GTEST_SKIP() << "../shared/" << (sub) << " is absent: skipping"; \
  const ::std::filesystem::path var = *var##_opt

void init_vips();

// A w x h image with `bands` bands of format uchar or ushort filled with a smooth pattern that
// has a distinct value at every pixel (so rotations and flips are detectable).
vips::VImage pattern_image(int w, int h, int bands, bool sixteen_bit);

vips::VImage load(const fs::path& p);
std::vector<double> pixel(const vips::VImage& im, int x, int y);
double psnr(const vips::VImage& a, const vips::VImage& b, double peak = 255.0);
std::string read_file(const fs::path& p);

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
// Runs the built `hires` binary with `args` (each passed as one argument, no shell).
RunResult run_hires(const std::vector<std::string>& args);
// As run_hires, as the user nobody (65534) when the tests run as root, so that file permissions
// hold (root bypasses them); as the current user otherwise.
RunResult run_hires_unprivileged(const std::vector<std::string>& args);
// The first `--json` event of type `type` ("done", "summary", ...) in a run's stdout; null when
// there is none.
nlohmann::json json_event(const std::string& out, const std::string& type);

}  // namespace hires::test
