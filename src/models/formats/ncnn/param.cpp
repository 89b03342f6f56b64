#include "models/formats/ncnn/param.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstddef>
#include <sstream>

#include "hires/error.hpp"

namespace hires::models::ncnn {
namespace fs = std::filesystem;

void param_error(const fs::path& path, int line, const std::string& problem,
                 const std::string& hint) {
  throw Error(ErrorKind::input, path.string(), fmt::format("line {}: {}", line, problem), hint);
}

bool parse_number(std::string_view s, double& out) {
  if (s.empty()) return false;
  const bool is_float = s.find_first_of(".eE") != std::string_view::npos;
  if (!is_float) {
    long long v = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return false;
    out = static_cast<double>(v);
    return true;
  }
  const char* first = s.data();
  if (*first == '+') ++first;
  const auto [p, ec] = std::from_chars(first, s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

namespace {

constexpr double kMaxCount = 1e7;  // layers or blobs in one .param

[[noreturn]] void throw_model_error(const fs::path& path, const std::string& problem) {
  throw Error(ErrorKind::input, path.string(), problem);
}

std::vector<std::string> split_ws(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  std::string tok;
  while (in >> tok) out.push_back(tok);
  return out;
}

Layer parse_layer(const std::vector<std::string>& tokens, int line, const fs::path& path) {
  Layer layer;
  layer.line = line;
  if (tokens.size() < 4) {
    param_error(path, line, "expected 'Type Name bottom_count top_count ...'");
  }
  layer.type = tokens[0];
  layer.name = tokens[1];
  double nb = 0;
  double nt = 0;
  const auto n_tokens = static_cast<double>(tokens.size());
  if (!parse_number(tokens[2], nb) || !parse_number(tokens[3], nt) || nb < 0 || nt < 0 ||
      nb != std::floor(nb) || nt != std::floor(nt) || 4 + nb + nt > n_tokens) {
    param_error(
        path, line,
        fmt::format("layer {}: bad bottom/top counts '{} {}'", layer.name, tokens[2], tokens[3]));
  }
  std::size_t k = 4;
  for (int j = 0; j < static_cast<int>(nb); ++j) layer.bottoms.push_back(tokens[k++]);
  for (int j = 0; j < static_cast<int>(nt); ++j) layer.tops.push_back(tokens[k++]);
  for (; k < tokens.size(); ++k) {
    const std::string& tok = tokens[k];
    const auto eq = tok.find('=');
    double key = 0;
    if (eq == std::string::npos || !parse_number(std::string_view(tok).substr(0, eq), key) ||
        key != std::floor(key) || std::abs(key) > 1e6) {
      param_error(
          path, line,
          fmt::format("layer {}: bad parameter '{}' (expected key=value)", layer.name, tok));
    }
    const std::string_view value = std::string_view(tok).substr(eq + 1);
    ParamValue pv;
    int id = static_cast<int>(key);
    if (id <= kArrayKeyBase) {
      id = kArrayKeyBase - id;
      pv.is_array = true;
      std::vector<std::string_view> parts;
      std::size_t start = 0;
      while (true) {
        const auto comma = value.find(',', start);
        parts.push_back(value.substr(
            start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
        if (comma == std::string_view::npos) break;
        start = comma + 1;
      }
      double count = 0;
      bool ok = parse_number(parts[0], count) && count >= 0 &&
                count == static_cast<double>(parts.size() - 1);
      for (std::size_t j = 1; ok && j < parts.size(); ++j) {
        double v = 0;
        ok = parse_number(parts[j], v);
        pv.values.push_back(v);
      }
      if (!ok) {
        param_error(path, line,
                    fmt::format("layer {}: bad array parameter '{}' (expected "
                                "key=count,v1,v2,...)",
                                layer.name, tok));
      }
    } else {
      double v = 0;
      if (!parse_number(value, v)) {
        param_error(path, line, fmt::format("layer {}: bad parameter value '{}'", layer.name, tok));
      }
      pv.values.push_back(v);
    }
    layer.params[id] = std::move(pv);
  }
  return layer;
}

}  // namespace

std::vector<Layer> parse_param(const std::string& text, const fs::path& path) {
  std::vector<std::string> lines;
  {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      lines.push_back(line);
    }
  }
  const auto first = lines.empty() ? std::vector<std::string>{} : split_ws(lines[0]);
  double magic = 0;
  if (first.size() != 1 || !parse_number(first[0], magic) || magic != kMagic) {
    std::string found = lines.empty() ? std::string() : lines[0].substr(0, 20);
    for (char& c : found) {
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7F) c = '?';
    }
    param_error(path, 1,
                fmt::format("not an ncnn .param file (expected the magic number {}, found '{}')",
                            kMagic, found),
                "only text .param files are supported, not .param.bin");
  }
  const auto counts = lines.size() > 1 ? split_ws(lines[1]) : std::vector<std::string>{};
  double layer_count = 0;
  double blob_count = 0;
  if (counts.size() != 2 || !parse_number(counts[0], layer_count) ||
      !parse_number(counts[1], blob_count) || layer_count < 1 || blob_count < 1 ||
      layer_count > kMaxCount || blob_count > kMaxCount || layer_count != std::floor(layer_count) ||
      blob_count != std::floor(blob_count)) {
    param_error(path, 2, "expected 'layer_count blob_count' (two positive whole numbers)");
  }

  std::vector<Layer> layers;
  std::size_t tops = 0;
  for (std::size_t i = 2; i < lines.size(); ++i) {
    const auto tokens = split_ws(lines[i]);
    if (tokens.empty()) continue;
    const int line = static_cast<int>(i + 1);
    if (layers.size() == static_cast<std::size_t>(layer_count)) {
      param_error(path, line,
                  fmt::format("more layers than the {} declared on line 2",
                              static_cast<long long>(layer_count)));
    }
    layers.push_back(parse_layer(tokens, line, path));
    tops += layers.back().tops.size();
  }
  if (layers.size() != static_cast<std::size_t>(layer_count)) {
    throw_model_error(path, fmt::format("declares {} layers on line 2 but has {}",
                                        static_cast<long long>(layer_count), layers.size()));
  }
  if (tops > static_cast<std::size_t>(blob_count)) {
    throw_model_error(path, fmt::format("declares {} blobs on line 2 but its layers produce {}",
                                        static_cast<long long>(blob_count), tops));
  }
  return layers;
}

}  // namespace hires::models::ncnn
