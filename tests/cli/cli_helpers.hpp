// Helpers shared by the CLI tests: reading stderr line by line, temporary-file checks, images.
#pragma once

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>
#include <vips/vips8>

#include "support/test_support.hpp"

namespace hires::test {

inline std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

inline bool has_line(const std::string& text, const std::string& line) {
  for (const auto& l : split_lines(text)) {
    if (l == line) return true;
  }
  return false;
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Loads `p` as it is now on disk, through a copy under a new name (robust against any load
// cache keyed by file name).
inline vips::VImage load_fresh(const std::filesystem::path& p) {
  static const TempDir copies;
  static int counter = 0;
  const std::filesystem::path copy = copies / (std::to_string(counter++) + p.extension().string());
  std::filesystem::copy_file(p, copy);
  return load(copy);
}

// Every entry under `dir` (recursively) whose name marks it as one of hires' temporary files.
inline std::vector<std::string> temp_leftovers(const std::filesystem::path& dir) {
  std::vector<std::string> found;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (contains(name, ".hires-") || contains(name, ".tmp")) found.push_back(e.path().string());
  }
  return found;
}

// A noisy RGB image: it compresses badly, so its JPEG is large.
inline vips::VImage noise_image(int w, int h, int seed) {
  init_vips();
  std::vector<vips::VImage> planes;
  for (int b = 0; b < 3; ++b) {
    planes.push_back(vips::VImage::gaussnoise(
        w, h,
        vips::VImage::option()->set("sigma", 60.0)->set("mean", 128.0)->set("seed", seed + b)));
  }
  return vips::VImage::bandjoin(planes)
      .cast(VIPS_FORMAT_UCHAR)
      .copy(vips::VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB));
}

}  // namespace hires::test
