// ncnn's text .param format: the magic number 7767517, "layer_count blob_count", then one layer
// per line: `Type Name bottom_count top_count bottoms... tops... key=value...`, where a key of
// -23300-k holds an array "count,v1,v2,..." for parameter k.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace hires::models::ncnn {

constexpr long kMagic = 7767517;
constexpr int kArrayKeyBase = -23300;  // key -23300-k holds an array for parameter k

struct ParamValue {
  std::vector<double> values;  // one for a scalar
  bool is_array = false;
};

// One line of the .param file.
struct Layer {
  int line = 0;
  std::string type;
  std::string name;
  std::vector<std::string> bottoms;
  std::vector<std::string> tops;
  std::map<int, ParamValue> params;
};

// Parses the text of the .param file `path` into its layers (at least one, as many as line 2
// declares). Throws hires::Error(input) naming `path` and the line.
std::vector<Layer> parse_param(const std::string& text, const std::filesystem::path& path);

// Throws hires::Error(input) naming `path` and the line.
[[noreturn]] void param_error(const std::filesystem::path& path, int line,
                              const std::string& problem, const std::string& hint = {});

// Parses an ncnn number ("64", "-233", "4.000000e+00"); false when it is not one.
bool parse_number(std::string_view s, double& out);

}  // namespace hires::models::ncnn
