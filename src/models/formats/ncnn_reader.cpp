#include "models/formats/ncnn_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/checked.hpp"
#include "hires/error.hpp"

namespace hires::models {
namespace {

namespace fs = std::filesystem;
using engine::Graph;
using engine::Node;
using engine::OpType;

constexpr long kMagic = 7767517;
constexpr std::uint32_t kTagFp16 = 0x01306B47;
constexpr std::uint32_t kTagInt8 = 0x000D4B38;
constexpr std::uint32_t kTagFp32Scaled = 0x0002C056;  // plain fp32 data (int8 scales elsewhere)
constexpr int kAuto = -233;                           // ncnn's "derive it" marker
constexpr int kSameLower = -234;
constexpr int kArrayKeyBase = -23300;      // key -23300-k holds an array for parameter k
constexpr long long kHugeEnd = 1LL << 30;  // slice ends at or beyond this mean "to the end"
constexpr double kMaxCount = 1e7;          // layers or blobs in one .param
constexpr int kMaxChannels = 1 << 16;
constexpr int kMaxFactor = 64;       // kernels, strides, shuffle and resize factors
constexpr int kMaxBorder = 1 << 16;  // padding and cropping
constexpr std::int64_t kMaxScale = 1 << 16;

constexpr const char* kSupportedTypes =
    "BinaryOp, Concat, Convolution, ConvolutionDepthWise, Crop, Deconvolution, Eltwise, "
    "InnerProduct, Input, Interp, Padding, PixelShuffle, Pooling, PReLU, ReLU, Reorg, Scale, "
    "Sigmoid, Split";

// IEEE binary16 -> binary32; exact for every input (subnormals, signed zeros, inf, NaN).
float fp16_to_fp32(std::uint16_t h) {
  const bool negative = (h & 0x8000U) != 0;
  const std::uint32_t exponent = (h >> 10) & 0x1FU;
  const std::uint32_t mantissa = h & 0x3FFU;
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24, exactly representable in fp32
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return negative ? -magnitude : magnitude;
  }
  const std::uint32_t sign = negative ? 0x80000000U : 0U;
  const std::uint32_t bits = exponent == 0x1F
                                 ? sign | 0x7F800000U | (mantissa << 13)  // inf, NaN (payload kept)
                                 : sign | ((exponent + 112U) << 23) | (mantissa << 13);
  return std::bit_cast<float>(bits);
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {  // b > 0
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

// A non-negative rational number, kept reduced.
struct Ratio {
  std::int64_t num = 1;
  std::int64_t den = 1;
};

// Channel counts and scales beyond this are refused (they would overflow later arithmetic).
constexpr std::int64_t kMaxRatioPart = std::int64_t{1} << 40;

// Thrown by Ratio arithmetic that overflows; the reader turns it into an error naming the layer.
struct RatioOverflow {};

std::int64_t ok(std::optional<std::int64_t> v) {
  if (!v || *v > kMaxRatioPart || *v < -kMaxRatioPart) throw RatioOverflow{};
  return *v;
}

Ratio make_ratio(std::int64_t num, std::int64_t den) {
  if (den == 0) throw RatioOverflow{};
  const std::int64_t g = std::gcd(num, den);
  if (g == 0) return {0, 1};
  return {num / g, den / g};
}
Ratio operator*(Ratio a, Ratio b) {
  return make_ratio(ok(core::checked_mul(a.num, b.num)), ok(core::checked_mul(a.den, b.den)));
}
Ratio operator+(Ratio a, Ratio b) {
  const std::int64_t x = ok(core::checked_mul(a.num, b.den));
  const std::int64_t y = ok(core::checked_mul(b.num, a.den));
  return make_ratio(ok(core::checked_add(x, y)), ok(core::checked_mul(a.den, b.den)));
}
bool operator==(Ratio a, Ratio b) {
  return a.num == b.num && a.den == b.den;
}

std::string ratio_text(Ratio r) {
  return r.den == 1 ? std::to_string(r.num) : fmt::format("{}/{}", r.num, r.den);
}

// What is known about a blob: its value id, its size as scale * N + offset (N = the input's side;
// offsets per axis), and its channel count as coef * C + extra (C = the input's channel count,
// found at the first convolution that reads a blob depending on it).
struct Blob {
  int value = 0;
  Ratio scale{1, 1};
  std::int64_t off_h = 0;
  std::int64_t off_w = 0;
  bool pooled = false;  // [C,1,1] after global pooling (a 1-D blob in ncnn)
  Ratio ch_coef{1, 1};
  Ratio ch_extra{0, 1};
};

bool same_size(const Blob& a, const Blob& b) {
  return a.pooled == b.pooled &&
         (a.pooled || (a.scale == b.scale && a.off_h == b.off_h && a.off_w == b.off_w));
}

std::string size_text(const Blob& b) {
  if (b.pooled) return "1x1 (pooled)";
  const auto side = [&](std::int64_t off) {
    std::string s = b.scale == Ratio{1, 1} ? "N" : fmt::format("{}*N", ratio_text(b.scale));
    if (off != 0) s += fmt::format("{:+}", off);
    return s;
  };
  return b.off_h == b.off_w ? side(b.off_h) : fmt::format("{} x {}", side(b.off_h), side(b.off_w));
}

struct ParamValue {
  std::vector<double> values;  // one for a scalar
  bool is_array = false;
};

struct Layer {
  int line = 0;
  std::string type;
  std::string name;
  std::vector<std::string> bottoms;
  std::vector<std::string> tops;
  std::map<int, ParamValue> params;
};

std::vector<std::string> split_ws(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  std::string tok;
  while (in >> tok) out.push_back(tok);
  return out;
}

// Parses an ncnn number ("64", "-233", "4.000000e+00"); false when it is not one.
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

void check_readable_file(const fs::path& p) {
  std::error_code ec;
  const auto st = fs::status(p, ec);
  if (!fs::exists(st)) throw Error(ErrorKind::input, p.string(), "file not found");
  if (fs::is_directory(st)) throw Error(ErrorKind::input, p.string(), "is a folder, not a file");
}

std::string read_text(const fs::path& p) {
  check_readable_file(p);
  std::ifstream in(p, std::ios::binary);
  if (!in) throw Error(ErrorKind::input, p.string(), "cannot be opened for reading");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(ErrorKind::input, p.string(), "read error");
  return text;
}

std::vector<unsigned char> read_bytes(const fs::path& p) {
  const std::string text = read_text(p);
  return {text.begin(), text.end()};
}

class Loader {
 public:
  Loader(fs::path param, fs::path bin) : param_path_(std::move(param)), bin_path_(std::move(bin)) {}

  Graph run() {
    const std::string text = read_text(param_path_);
    bin_ = read_bytes(bin_path_);
    graph_.name = param_path_.stem().string();
    graph_.num_values = 1;
    graph_.input = 0;

    const std::vector<Layer> layers = parse_param(text);
    for (const Layer& layer : layers) {
      layer_ = &layer;
      try {
        handle_layer();
      } catch (const RatioOverflow&) {
        layer_error("its channel count or size overflows", "the .param file is corrupt");
      }
    }
    layer_ = nullptr;
    if (pos_ != bin_.size()) {
      throw Error(
          ErrorKind::input, bin_path_.string(),
          fmt::format("{} bytes left over after the last layer's weights", bin_.size() - pos_),
          "is this the .bin that belongs to " + param_path_.filename().string() + "?");
    }
    try {
      finish(layers.back());
    } catch (const RatioOverflow&) {
      model_error("the output's channel count or size overflows");
    }
    return std::move(graph_);
  }

 private:
  // ---- errors -------------------------------------------------------------------------------

  [[noreturn]] void param_error(int line, const std::string& problem,
                                const std::string& hint = {}) const {
    throw Error(ErrorKind::input, param_path_.string(), fmt::format("line {}: {}", line, problem),
                hint);
  }

  [[noreturn]] void layer_error(const std::string& problem, const std::string& hint = {}) const {
    param_error(layer_->line, fmt::format("{} layer {}: {}", layer_->type, layer_->name, problem),
                hint);
  }

  [[noreturn]] void model_error(const std::string& problem) const {
    throw Error(ErrorKind::input, param_path_.string(), problem);
  }

  // ---- .param parsing -----------------------------------------------------------------------

  std::vector<Layer> parse_param(const std::string& text) {
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
      param_error(1,
                  fmt::format("not an ncnn .param file (expected the magic number {}, found '{}')",
                              kMagic, found),
                  "only text .param files are supported, not .param.bin");
    }
    const auto counts = lines.size() > 1 ? split_ws(lines[1]) : std::vector<std::string>{};
    double layer_count = 0;
    double blob_count = 0;
    if (counts.size() != 2 || !parse_number(counts[0], layer_count) ||
        !parse_number(counts[1], blob_count) || layer_count < 1 || blob_count < 1 ||
        layer_count > kMaxCount || blob_count > kMaxCount ||
        layer_count != std::floor(layer_count) || blob_count != std::floor(blob_count)) {
      param_error(2, "expected 'layer_count blob_count' (two positive whole numbers)");
    }

    std::vector<Layer> layers;
    std::size_t tops = 0;
    for (std::size_t i = 2; i < lines.size(); ++i) {
      const auto tokens = split_ws(lines[i]);
      if (tokens.empty()) continue;
      const int line = static_cast<int>(i + 1);
      if (layers.size() == static_cast<std::size_t>(layer_count)) {
        param_error(line, fmt::format("more layers than the {} declared on line 2",
                                      static_cast<long long>(layer_count)));
      }
      layers.push_back(parse_layer(tokens, line));
      tops += layers.back().tops.size();
    }
    if (layers.size() != static_cast<std::size_t>(layer_count)) {
      model_error(fmt::format("declares {} layers on line 2 but has {}",
                              static_cast<long long>(layer_count), layers.size()));
    }
    if (tops > static_cast<std::size_t>(blob_count)) {
      model_error(fmt::format("declares {} blobs on line 2 but its layers produce {}",
                              static_cast<long long>(blob_count), tops));
    }
    return layers;
  }

  Layer parse_layer(const std::vector<std::string>& tokens, int line) const {
    Layer layer;
    layer.line = line;
    if (tokens.size() < 4) {
      param_error(line, "expected 'Type Name bottom_count top_count ...'");
    }
    layer.type = tokens[0];
    layer.name = tokens[1];
    double nb = 0;
    double nt = 0;
    const auto n_tokens = static_cast<double>(tokens.size());
    if (!parse_number(tokens[2], nb) || !parse_number(tokens[3], nt) || nb < 0 || nt < 0 ||
        nb != std::floor(nb) || nt != std::floor(nt) || 4 + nb + nt > n_tokens) {
      param_error(line, fmt::format("layer {}: bad bottom/top counts '{} {}'", layer.name,
                                    tokens[2], tokens[3]));
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
        param_error(line, fmt::format("layer {}: bad parameter '{}' (expected key=value)",
                                      layer.name, tok));
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
          param_error(line, fmt::format("layer {}: bad array parameter '{}' (expected "
                                        "key=count,v1,v2,...)",
                                        layer.name, tok));
        }
      } else {
        double v = 0;
        if (!parse_number(value, v)) {
          param_error(line, fmt::format("layer {}: bad parameter value '{}'", layer.name, tok));
        }
        pv.values.push_back(v);
      }
      layer.params[id] = std::move(pv);
    }
    return layer;
  }

  // ---- parameter access (on the current layer) ---------------------------------------------

  bool has(int id) const { return layer_->params.count(id) != 0; }

  double scalar(int id, double def) const {
    const auto it = layer_->params.find(id);
    if (it == layer_->params.end()) return def;
    if (it->second.is_array) layer_error(fmt::format("parameter {} should be a number", id));
    return it->second.values[0];
  }

  int get_int(int id, int def) const {
    const double v = scalar(id, def);
    if (v != std::floor(v) || std::abs(v) > std::numeric_limits<int>::max()) {
      layer_error(fmt::format("parameter {}={} should be a whole number", id, v));
    }
    return static_cast<int>(v);
  }

  float get_float(int id, float def) const { return static_cast<float>(scalar(id, def)); }

  std::vector<double> get_array(int id) const {
    const auto it = layer_->params.find(id);
    if (it == layer_->params.end()) return {};
    if (!it->second.is_array) {
      layer_error(fmt::format("parameter {} should be an array (key {})", id, kArrayKeyBase - id));
    }
    return it->second.values;
  }

  // ---- blobs ------------------------------------------------------------------------------------

  void expect_counts(std::size_t bottoms, std::size_t tops) const {
    if (layer_->bottoms.size() != bottoms || layer_->tops.size() != tops) {
      layer_error(fmt::format("expects {} input(s) and {} output(s), has {} and {}", bottoms, tops,
                              layer_->bottoms.size(), layer_->tops.size()));
    }
  }

  const Blob& bottom(std::size_t i) const {
    const std::string& name = layer_->bottoms[i];
    const auto it = blobs_.find(name);
    if (it == blobs_.end()) {
      layer_error(fmt::format("reads blob '{}', which no earlier layer produces", name));
    }
    return it->second;
  }

  void set_top(std::size_t i, const Blob& b) { blobs_[layer_->tops[i]] = b; }

  int emit(Node n) {
    n.output = graph_.add_value();
    const int v = n.output;
    graph_.nodes.push_back(std::move(n));
    return v;
  }

  Node node(OpType t, std::vector<int> inputs, const std::string& suffix = {}) const {
    Node n;
    n.type = t;
    n.name = layer_->name + suffix;
    n.inputs = std::move(inputs);
    return n;
  }

  // The blob's channel count when it can be told (it depends on the input's only through
  // channel_count_ once that is known); throws when it is not a whole number.
  std::optional<std::int64_t> channels(const Blob& b) const {
    Ratio r = b.ch_extra;
    if (b.ch_coef.num != 0) {
      if (!in_channels_) return std::nullopt;
      r = r + b.ch_coef * Ratio{*in_channels_, 1};
    }
    if (r.den != 1) {
      layer_error(fmt::format("blob has a fractional channel count ({})", ratio_text(r)));
    }
    return r.num;
  }

  void require_not_pooled(const Blob& b) const {
    if (b.pooled) {
      layer_error("cannot follow global pooling (its output is a 1-D blob in ncnn)");
    }
  }

  // A convolution reading `b` has `in` input channels: checks it, or learns the input's channel
  // count from it.
  void match_channels(const Blob& b, std::int64_t in) {
    if (b.ch_coef.num != 0 && !in_channels_) {
      // in = coef * C + extra  =>  C = (in - extra) / coef
      const Ratio diff = make_ratio(in * b.ch_extra.den - b.ch_extra.num, b.ch_extra.den);
      if (diff.num > 0) {
        const Ratio c = make_ratio(diff.num * b.ch_coef.den, diff.den * b.ch_coef.num);
        if (c.den == 1 && c.num > 0) {
          in_channels_ = c.num;
          return;
        }
      }
      layer_error(fmt::format("{} input channels do not fit the model input", in));
    }
    const auto have = channels(b);
    if (have && *have != in) {
      layer_error(fmt::format("expects {} input channels but its input has {}", in, *have));
    }
  }

  // ---- .bin reading -----------------------------------------------------------------------------

  [[noreturn]] void truncated(std::size_t missing, bool at_least = false) const {
    throw Error(ErrorKind::input, bin_path_.string(),
                fmt::format("truncated: layer {} needs {}{} more bytes", layer_->name,
                            at_least ? "at least " : "", missing),
                "is this the .bin that belongs to " + param_path_.filename().string() + "?");
  }

  std::size_t remaining() const { return bin_.size() - pos_; }

  std::uint32_t u32_at(std::size_t p) const {
    return static_cast<std::uint32_t>(bin_[p]) | (static_cast<std::uint32_t>(bin_[p + 1]) << 8) |
           (static_cast<std::uint32_t>(bin_[p + 2]) << 16) |
           (static_cast<std::uint32_t>(bin_[p + 3]) << 24);
  }

  std::vector<float> read_fp32(std::size_t count) {
    std::vector<float> out(count);
    for (std::size_t i = 0; i < count; ++i) out[i] = std::bit_cast<float>(u32_at(pos_ + 4 * i));
    pos_ += 4 * count;
    return out;
  }

  // A weight blob: tag + data, then `trailing` more bytes of raw fp32 the layer also needs (so a
  // truncation is reported as the layer's whole shortfall).
  std::vector<float> read_tagged(std::size_t count, std::size_t trailing) {
    const std::size_t fp16_bytes = (count * 2 + 3) / 4 * 4;
    if (remaining() < 4) truncated(4 + fp16_bytes + trailing - remaining(), true);
    const std::uint32_t tag = u32_at(pos_);
    std::size_t bytes = 0;
    if (tag == kTagFp16) {
      bytes = fp16_bytes;
    } else if (tag == 0 || tag == kTagFp32Scaled) {
      bytes = count * 4;
    } else if (tag == kTagInt8) {
      throw Error(ErrorKind::input, bin_path_.string(),
                  fmt::format("layer {}: int8-quantized weights (tag 0x{:08X}) are not supported",
                              layer_->name, tag),
                  "use the model's fp16 or fp32 version");
    } else {
      throw Error(ErrorKind::input, bin_path_.string(),
                  fmt::format("layer {}: unsupported weight storage tag 0x{:08X} at byte {} "
                              "(only fp32 (0) and fp16 (0x{:08X}) are supported)",
                              layer_->name, tag, pos_, kTagFp16),
                  "quantized ncnn models are not supported");
    }
    if (remaining() < 4 + bytes + trailing) truncated(4 + bytes + trailing - remaining());
    pos_ += 4;
    if (tag != kTagFp16) return read_fp32(count);
    std::vector<float> out(count);
    for (std::size_t i = 0; i < count; ++i) {
      const auto h = static_cast<std::uint16_t>(bin_[pos_ + 2 * i] | (bin_[pos_ + 2 * i + 1] << 8));
      out[i] = fp16_to_fp32(h);
    }
    pos_ += bytes;
    return out;
  }

  std::vector<float> read_raw(std::size_t count) {
    if (remaining() < 4 * count) truncated(4 * count - remaining());
    return read_fp32(count);
  }

  // ---- layers -----------------------------------------------------------------------------------

  void handle_layer() {
    const std::string& t = layer_->type;
    if (t == "Input") return input();
    if (t == "Split") return split();
    if (t == "Convolution") return convolution(false);
    if (t == "ConvolutionDepthWise") return convolution(true);
    if (t == "Deconvolution") return deconvolution();
    if (t == "InnerProduct") return inner_product();
    if (t == "Scale") return scale_layer();
    if (t == "ReLU") return relu();
    if (t == "PReLU") return prelu();
    if (t == "Sigmoid") return unary(OpType::sigmoid);
    if (t == "BinaryOp") return binary_op();
    if (t == "Eltwise") return eltwise();
    if (t == "PixelShuffle") return pixel_shuffle();
    if (t == "Reorg") return reorg();
    if (t == "Interp") return interp();
    if (t == "Concat") return concat();
    if (t == "Crop") return crop();
    if (t == "Padding") return padding();
    if (t == "Pooling") return pooling();
    param_error(layer_->line,
                fmt::format("layer {} has unsupported type {}", layer_->name, layer_->type),
                fmt::format("supported layer types: {}", kSupportedTypes));
  }

  void input() {
    expect_counts(0, 1);
    if (seen_input_) layer_error("a model may have only one Input layer");
    seen_input_ = true;
    declared_channels_ = get_int(2, 0);
    set_top(0, Blob{});  // value 0, size N, C channels
  }

  void split() {
    if (layer_->bottoms.size() != 1 || layer_->tops.empty()) {
      layer_error(fmt::format("expects 1 input and at least 1 output, has {} and {}",
                              layer_->bottoms.size(), layer_->tops.size()));
    }
    const Blob b = bottom(0);
    for (std::size_t i = 0; i < layer_->tops.size(); ++i) set_top(i, b);
  }

  // The node for a fused activation (Convolution's 9=activation_type, 10=activation_params),
  // or nothing for none; checked before the layer's weights are read.
  std::optional<Node> activation(int type, const std::vector<double>& params) const {
    switch (type) {
      case 0:
        return std::nullopt;
      case 1:
        return node(OpType::relu, {}, "/relu");
      case 2: {
        const float alpha = params.empty() ? 0.0F : static_cast<float>(params[0]);
        if (alpha == 0.0F) return node(OpType::relu, {}, "/relu");
        Node n = node(OpType::leaky_relu, {}, "/leaky_relu");
        n.alpha = alpha;
        return n;
      }
      case 3: {
        const double lo = params.size() > 0 ? params[0] : 0.0;
        const double hi = params.size() > 1 ? params[1] : 0.0;
        if (lo == 0.0 && hi >= std::numeric_limits<float>::max()) {
          return node(OpType::relu, {}, "/relu");
        }
        layer_error(fmt::format("clip activation ({}, {}) is not supported", lo, hi));
      }
      case 4:
        return node(OpType::sigmoid, {}, "/sigmoid");
      case 5:
        layer_error("mish activation (9=5) is not supported");
      case 6:
        layer_error("hardswish activation (9=6) is not supported");
      default:
        layer_error(fmt::format("unknown activation type 9={}", type));
    }
  }

  // The parameters Convolution and Deconvolution share (0=num_output, 1/11=kernel, 2/12=dilation,
  // 3/13=stride, 4/14/15/16=padding, 5=bias_term, 6=weight_data_size, 9/10=activation), read and
  // checked once; padding is left to the caller (the two layers accept different forms of it).
  struct ConvParams {
    int out = 0;
    int kernel = 0;
    int stride = 1;
    int pl = 0, pt = 0, pr = 0, pb = 0;  // padding left, top, right, bottom
    bool bias_term = false;
    int wsize = 0;
    int group = 1;
    std::optional<Node> act;
  };

  // Reads the shared parameters (and 7=group when `grouped`), then checks output channels,
  // kernel, dilation and stride.
  ConvParams conv_params(bool grouped) const {
    ConvParams p;
    p.out = get_int(0, 0);
    const int kw = get_int(1, 0);
    const int kh = get_int(11, kw);
    const int dw = get_int(2, 1);
    const int dh = get_int(12, dw);
    const int sw = get_int(3, 1);
    const int sh = get_int(13, sw);
    p.pl = get_int(4, 0);
    p.pt = get_int(14, p.pl);
    p.pr = get_int(15, p.pl);
    p.pb = get_int(16, p.pt);
    p.bias_term = get_int(5, 0) != 0;
    p.wsize = get_int(6, 0);
    if (grouped) p.group = get_int(7, 1);
    p.act = activation(get_int(9, 0), get_array(10));

    if (p.out < 1 || p.out > kMaxChannels) {
      layer_error(fmt::format("num_output 0={} is out of range", p.out));
    }
    if (kw < 1 || kh != kw || kw > kMaxFactor) {
      layer_error(fmt::format("kernel {}x{} is not supported (square, 1 to 64)", kw, kh));
    }
    if (dw != 1 || dh != 1) layer_error(fmt::format("dilation {}x{} is not supported", dw, dh));
    if (sw < 1 || sh != sw || sw > kMaxFactor) {
      layer_error(fmt::format("stride {}x{} is not supported (equal strides only)", sw, sh));
    }
    p.kernel = kw;
    p.stride = sw;
    return p;
  }

  static bool symmetric_padding(const ConvParams& p) {
    return p.pl >= 0 && p.pl <= kMaxBorder && p.pt == p.pl && p.pr == p.pl && p.pb == p.pl;
  }

  [[noreturn]] void asymmetric_padding_error(const ConvParams& p) const {
    layer_error(
        fmt::format("padding left={} top={} right={} bottom={} is not supported "
                    "(symmetric padding only)",
                    p.pl, p.pt, p.pr, p.pb));
  }

  // The input channels that 6=weight_data_size implies: a multiple of num_output*k*k per group.
  std::int64_t conv_in_channels(const ConvParams& p) const {
    const std::int64_t per_in = static_cast<std::int64_t>(p.out) * p.kernel * p.kernel;
    if (p.wsize < 1 || p.wsize % per_in != 0) {
      layer_error(fmt::format("weight_data_size 6={} is not a multiple of num_output*k*k = {}",
                              p.wsize, per_in));
    }
    return p.wsize / per_in * p.group;
  }

  // A conv2d/deconv2d node on `b` with the shared parameters set; padding, groups and weights
  // are the caller's.
  Node conv_node(OpType op, const Blob& b, const ConvParams& p, std::int64_t in) const {
    Node n = node(op, {b.value});
    n.in_channels = static_cast<int>(in);
    n.out_channels = p.out;
    n.kernel = p.kernel;
    n.stride = p.stride;
    return n;
  }

  // The 6=weight_data_size weights (with their storage tag), then the bias follows.
  std::vector<float> read_conv_weights(const ConvParams& p) {
    return read_tagged(static_cast<std::size_t>(p.wsize),
                       p.bias_term ? 4 * static_cast<std::size_t>(p.out) : 0);
  }

  // Emits `n` (and the fused activation) as the layer's output, on `b`'s grid changed by
  // `scale` and the new offsets.
  void set_conv_top(const Blob& b, Node n, ConvParams& p, Ratio scale, std::int64_t off_h,
                    std::int64_t off_w) {
    Blob top = b;
    top.value = emit(std::move(n));
    if (p.act) {
      p.act->inputs = {top.value};
      top.value = emit(std::move(*p.act));
    }
    top.scale = scale;
    top.off_h = off_h;
    top.off_w = off_w;
    top.ch_coef = {0, 1};
    top.ch_extra = {p.out, 1};
    note_scale(top.scale);
    set_top(0, top);
  }

  void convolution(bool depthwise) {
    expect_counts(1, 1);
    ConvParams p = conv_params(depthwise);
    const int k = p.kernel;
    const int s = p.stride;
    if (get_int(8, 0) != 0) layer_error("int8-quantized convolutions are not supported");
    if (get_int(19, 0) != 0) layer_error("dynamic weights (19=1) are not supported");
    int pad = p.pl;
    if (p.pl == kAuto || p.pl == kSameLower) {
      if (p.pt != p.pl || p.pr != p.pl || p.pb != p.pl || s != 1 || k % 2 == 0) {
        layer_error("'same' padding is supported only for odd kernels with stride 1");
      }
      pad = k / 2;
    } else if (!symmetric_padding(p)) {
      asymmetric_padding_error(p);
    }
    if (pad > 0 && get_float(18, 0.0F) != 0.0F) {
      layer_error(
          fmt::format("pad_value 18={} is not supported (zero padding only)", get_float(18, 0.0F)));
    }
    if (p.group < 1 || p.out % p.group != 0) {
      layer_error(fmt::format("group 7={} does not divide num_output {}", p.group, p.out));
    }
    const std::int64_t in = conv_in_channels(p);

    const Blob b = bottom(0);
    require_not_pooled(b);
    match_channels(b, in);

    Node n = conv_node(OpType::conv2d, b, p, in);
    n.padding = pad;
    n.groups = p.group;
    n.weight = read_conv_weights(p);
    if (p.bias_term) n.bias = read_raw(static_cast<std::size_t>(p.out));

    set_conv_top(b, std::move(n), p, b.scale * Ratio{1, s}, floor_div(b.off_h + 2 * pad - k, s) + 1,
                 floor_div(b.off_w + 2 * pad - k, s) + 1);
  }

  // ncnn's Deconvolution scatters: out[o, y*s + ky - p] += in[i, y] * w[o, i, ky, kx] (weights
  // stored [out, in, k, k], the kernel not flipped; converters transpose PyTorch's
  // ConvTranspose2d [in, out, k, k] into it). The engine keeps PyTorch's layout.
  void deconvolution() {
    expect_counts(1, 1);
    ConvParams p = conv_params(false);
    const int out = p.out;
    const int k = p.kernel;
    const int s = p.stride;
    if (!symmetric_padding(p)) asymmetric_padding_error(p);
    if (get_int(7, 1) != 1) layer_error("grouped deconvolution (7=) is not supported");
    if (get_int(18, 0) != 0 || get_int(19, 0) != 0 || get_int(20, 0) != 0 || get_int(21, 0) != 0) {
      layer_error("output padding or a fixed output size (18= to 21=) is not supported");
    }
    if (get_int(28, 0) != 0) layer_error("dynamic weights (28=1) are not supported");
    const std::int64_t in = conv_in_channels(p);
    const Blob b = bottom(0);
    require_not_pooled(b);
    match_channels(b, in);

    Node n = conv_node(OpType::deconv2d, b, p, in);
    n.padding = p.pl;
    const std::vector<float> w = read_conv_weights(p);
    n.weight.resize(w.size());
    const std::size_t kk = static_cast<std::size_t>(k) * k;
    for (std::int64_t o = 0; o < out; ++o) {
      for (std::int64_t i = 0; i < in; ++i) {
        std::copy_n(w.begin() + static_cast<std::ptrdiff_t>((o * in + i) * kk), kk,
                    n.weight.begin() + static_cast<std::ptrdiff_t>((i * out + o) * kk));
      }
    }
    if (p.bias_term) n.bias = read_raw(static_cast<std::size_t>(out));
    ++deconvolutions_;

    set_conv_top(b, std::move(n), p, b.scale * Ratio{s, 1}, (b.off_h - 1) * s + k - 2 * p.pl,
                 (b.off_w - 1) * s + k - 2 * p.pl);
  }

  // A fully connected layer on a pooled [C,1,1] blob (squeeze-and-excitation): a 1x1 conv2d.
  void inner_product() {
    expect_counts(1, 1);
    const int out = get_int(0, 0);
    const bool bias_term = get_int(1, 0) != 0;
    const int wsize = get_int(2, 0);
    std::optional<Node> act = activation(get_int(9, 0), get_array(10));
    if (out < 1 || out > kMaxChannels) {
      layer_error(fmt::format("num_output 0={} is out of range", out));
    }
    if (get_int(8, 0) != 0) layer_error("int8-quantized inner products are not supported");
    if (wsize < 1 || wsize % out != 0) {
      layer_error(
          fmt::format("weight_data_size 2={} is not a multiple of num_output {}", wsize, out));
    }
    const Blob b = bottom(0);
    if (!b.pooled) {
      layer_error("only inner products on a pooled 1x1 blob (after global pooling) are supported");
    }
    const std::int64_t in = wsize / out;
    match_channels(b, in);
    Node n = node(OpType::conv2d, {b.value});
    n.in_channels = static_cast<int>(in);
    n.out_channels = out;
    n.weight = read_tagged(static_cast<std::size_t>(wsize),
                           bias_term ? 4 * static_cast<std::size_t>(out) : 0);
    if (bias_term) n.bias = read_raw(static_cast<std::size_t>(out));
    Blob top = b;
    top.value = emit(std::move(n));
    if (act) {
      act->inputs = {top.value};
      top.value = emit(std::move(*act));
    }
    top.ch_coef = {0, 1};
    top.ch_extra = {out, 1};
    set_top(0, top);
  }

  // Scale with a second blob of per-channel factors (0=-233): mul.
  void scale_layer() {
    if (get_int(0, 0) != kAuto || layer_->bottoms.size() != 2) {
      layer_error("only Scale by a second blob (2 inputs, 0=-233) is supported");
    }
    expect_counts(2, 1);
    if (get_int(1, 0) != 0) layer_error("Scale with a bias (1=1) is not supported");
    set_top(0, elementwise(OpType::mul, bottom(0), bottom(1), {}));
  }

  void unary(OpType t) {
    expect_counts(1, 1);
    Blob b = bottom(0);
    b.value = emit(node(t, {b.value}));
    set_top(0, b);
  }

  void relu() {
    expect_counts(1, 1);
    const float slope = get_float(0, 0.0F);
    Blob b = bottom(0);
    Node n = node(slope == 0.0F ? OpType::relu : OpType::leaky_relu, {b.value});
    n.alpha = slope;
    b.value = emit(std::move(n));
    set_top(0, b);
  }

  void prelu() {
    expect_counts(1, 1);
    const int count = get_int(0, 0);
    if (count < 1 || count > kMaxChannels) {
      layer_error(fmt::format("num_slope 0={} is out of range", count));
    }
    Blob b = bottom(0);
    const auto ch = channels(b);
    if (count != 1 && ch && *ch != count) {
      layer_error(fmt::format("has {} slopes but its input has {} channels", count, *ch));
    }
    Node n = node(OpType::prelu, {b.value});
    n.slopes = read_raw(static_cast<std::size_t>(count));
    b.value = emit(std::move(n));
    set_top(0, b);
  }

  // add/mul of two blobs; a pooled [C,1,1] operand of mul goes second (per-channel scale).
  Blob elementwise(OpType t, Blob a, Blob b, const std::string& suffix) {
    if (t == OpType::mul && a.pooled && !b.pooled) std::swap(a, b);
    const bool broadcast = t == OpType::mul && b.pooled && !a.pooled;
    if (!broadcast && !same_size(a, b)) {
      layer_error(fmt::format("inputs differ in size ({} and {})", size_text(a), size_text(b)));
    }
    const auto ca = channels(a);
    const auto cb = channels(b);
    if (ca && cb && *ca != *cb) {
      layer_error(fmt::format("inputs differ in channels ({} and {})", *ca, *cb));
    }
    Blob top = a;
    top.value = emit(node(t, {a.value, b.value}, suffix));
    return top;
  }

  void binary_op() {
    const int op = get_int(0, 0);
    const bool with_scalar = get_int(1, 0) != 0;
    static constexpr const char* kNames[] = {"add", "sub", "mul",  "div", "max",
                                             "min", "pow", "rsub", "rdiv"};
    const std::string op_name = op >= 0 && op <= 8 ? kNames[op] : fmt::format("op_type {}", op);
    if (with_scalar) {
      expect_counts(1, 1);
      const float s = get_float(2, 0.0F);
      Blob b = bottom(0);
      Node n = node(OpType::scale_shift, {b.value});
      switch (op) {
        case 0:
          n.shift = s;
          break;
        case 1:
          n.shift = -s;
          break;
        case 2:
          n.scale = s;
          break;
        case 3:
          if (s == 0.0F) layer_error("divides by zero");
          n.scale = 1.0F / s;
          break;
        case 7:
          n.scale = -1.0F;
          n.shift = s;
          break;
        default:
          layer_error(
              fmt::format("{} with a scalar is not supported (add, sub, mul, div, rsub "
                          "are)",
                          op_name));
      }
      b.value = emit(std::move(n));
      set_top(0, b);
      return;
    }
    expect_counts(2, 1);
    if (op != 0 && op != 2) {
      layer_error(fmt::format("{} of two blobs is not supported (add and mul are)", op_name));
    }
    set_top(0, elementwise(op == 0 ? OpType::add : OpType::mul, bottom(0), bottom(1), {}));
  }

  void eltwise() {
    if (layer_->bottoms.empty() || layer_->tops.size() != 1) {
      layer_error(fmt::format("expects at least 1 input and 1 output, has {} and {}",
                              layer_->bottoms.size(), layer_->tops.size()));
    }
    const int op = get_int(0, 0);
    if (op != 0 && op != 1) {
      layer_error(fmt::format("op_type 0={} is not supported (0 product, 1 sum are)", op));
    }
    if (op == 1) {
      for (double c : get_array(1)) {
        if (c != 1.0) {
          layer_error(fmt::format("sum coefficient {} is not supported (only 1)", c));
        }
      }
    }
    const OpType t = op == 0 ? OpType::mul : OpType::add;
    Blob acc = bottom(0);
    for (std::size_t i = 1; i < layer_->bottoms.size(); ++i) {
      acc = elementwise(t, acc, bottom(i), i == 1 ? std::string() : fmt::format("/{}", i));
    }
    set_top(0, acc);
  }

  void pixel_shuffle() {
    expect_counts(1, 1);
    const int r = get_int(0, 1);
    if (r < 1 || r > kMaxFactor) {
      layer_error(fmt::format("upscale_factor 0={} is out of range", r));
    }
    if (get_int(1, 0) != 0) {
      layer_error("mode 1 (TensorFlow depth_to_space channel order) is not supported");
    }
    Blob b = bottom(0);
    require_not_pooled(b);
    const auto ch = channels(b);
    if (ch && *ch % (r * r) != 0) {
      layer_error(fmt::format("{} channels are not divisible by {}", *ch, r * r));
    }
    Node n = node(OpType::pixel_shuffle, {b.value});
    n.factor = r;
    b.value = emit(std::move(n));
    b.scale = b.scale * Ratio{r, 1};
    note_scale(b.scale);
    b.off_h *= r;
    b.off_w *= r;
    b.ch_coef = b.ch_coef * Ratio{1, r * r};
    b.ch_extra = b.ch_extra * Ratio{1, r * r};
    set_top(0, b);
  }

  void reorg() {
    expect_counts(1, 1);
    const int r = get_int(0, 0);
    if (r < 1 || r > kMaxFactor) layer_error(fmt::format("stride 0={} is out of range", r));
    // ncnn's Reorg (mode 0) writes input channel c, row phase i, column phase j to output channel
    // c*r*r + i*r + j: the same order as PyTorch's pixel_unshuffle. Mode 1 puts the phase first
    // ((i*r + j)*C + c, TensorFlow's space_to_depth), which our op does not do.
    if (get_int(1, 0) != 0) {
      layer_error("mode 1 (TensorFlow space_to_depth channel order) is not supported");
    }
    Blob b = bottom(0);
    require_not_pooled(b);
    Node n = node(OpType::pixel_unshuffle, {b.value});
    n.factor = r;
    b.value = emit(std::move(n));
    b.scale = b.scale * Ratio{1, r};
    b.off_h = floor_div(b.off_h, r);
    b.off_w = floor_div(b.off_w, r);
    b.ch_coef = b.ch_coef * Ratio{r * r, 1};
    b.ch_extra = b.ch_extra * Ratio{r * r, 1};
    note_scale(b.scale);
    set_top(0, b);
  }

  void interp() {
    expect_counts(1, 1);
    const int type = get_int(0, 0);
    const float hs = get_float(1, 1.0F);
    const float ws = get_float(2, 1.0F);
    if (type != 1 && type != 2) {
      layer_error(
          fmt::format("resize_type 0={} is not supported (1 nearest, 2 bilinear are)", type));
    }
    if (get_int(3, 0) != 0 || get_int(4, 0) != 0) {
      layer_error("resizing to a fixed output size (3=, 4=) is not supported");
    }
    if (get_int(5, 0) != 0) layer_error("dynamic target size (5=1) is not supported");
    if (type == 2 && get_int(6, 0) != 0) {
      layer_error("bilinear resize with align_corner (6=1) is not supported");
    }
    if (hs != ws || hs < 1.0F || hs != std::floor(hs) || hs > static_cast<float>(kMaxFactor)) {
      layer_error(fmt::format("scales {}x{} are not supported (equal whole numbers only)", hs, ws));
    }
    const int f = static_cast<int>(hs);
    Blob b = bottom(0);
    require_not_pooled(b);
    if (f > 1) {
      Node n = node(type == 1 ? OpType::upsample_nearest : OpType::upsample_bilinear, {b.value});
      n.factor = f;
      b.value = emit(std::move(n));
      b.scale = b.scale * Ratio{f, 1};
      note_scale(b.scale);
      b.off_h *= f;
      b.off_w *= f;
    }
    set_top(0, b);
  }

  void concat() {
    if (layer_->bottoms.empty() || layer_->tops.size() != 1) {
      layer_error(fmt::format("expects at least 1 input and 1 output, has {} and {}",
                              layer_->bottoms.size(), layer_->tops.size()));
    }
    const int axis = get_int(0, 0);
    if (axis != 0 && axis != -3) {
      layer_error(fmt::format("axis 0={} is not supported (channels, 0, only)", axis));
    }
    Blob top = bottom(0);
    std::vector<int> inputs{top.value};
    for (std::size_t i = 1; i < layer_->bottoms.size(); ++i) {
      const Blob& b = bottom(i);
      if (!same_size(top, b)) {
        layer_error(fmt::format("inputs differ in size ({} and {})", size_text(top), size_text(b)));
      }
      top.ch_coef = top.ch_coef + b.ch_coef;
      top.ch_extra = top.ch_extra + b.ch_extra;
      inputs.push_back(b.value);
    }
    if (inputs.size() > 1) top.value = emit(node(OpType::concat, std::move(inputs)));
    set_top(0, top);
  }

  void emit_crop(Blob b, int top, int bottom_, int left, int right) {
    const auto bad = [](int v) { return v < 0 || v > kMaxBorder; };
    if (bad(top) || bad(bottom_) || bad(left) || bad(right)) {
      layer_error(fmt::format("crop out of range (top {}, bottom {}, left {}, right {})", top,
                              bottom_, left, right));
    }
    if (top + bottom_ + left + right > 0) {
      Node n = node(OpType::crop, {b.value});
      n.top = top;
      n.bottom = bottom_;
      n.left = left;
      n.right = right;
      b.value = emit(std::move(n));
      b.off_h -= top + bottom_;
      b.off_w -= left + right;
    }
    set_top(0, b);
  }

  void crop() {
    const std::vector<double> starts = get_array(9);
    const std::vector<double> ends = get_array(10);
    if (!starts.empty() && !ends.empty()) {  // numpy-style slice along axes (0 c, 1 h, 2 w)
      expect_counts(1, 1);
      std::vector<double> axes = get_array(11);
      if (axes.empty()) axes = {0, 1, 2};
      if (starts.size() != axes.size() || ends.size() != axes.size()) {
        layer_error("starts, ends and axes (9=, 10=, 11=) differ in length");
      }
      const Blob& b = bottom(0);
      require_not_pooled(b);
      int cut[3][2] = {{0, 0}, {0, 0}, {0, 0}};  // [axis][start, end]
      for (std::size_t i = 0; i < axes.size(); ++i) {
        int axis = static_cast<int>(axes[i]);
        if (axis < 0) axis += 3;
        if (axis < 0 || axis > 2) layer_error(fmt::format("axis {} is out of range", axes[i]));
        const double start = starts[i] == kAuto ? 0 : starts[i];
        const double end = ends[i] == kAuto || ends[i] >= kHugeEnd ? 0 : ends[i];
        if (start < 0 || end > 0) {
          layer_error(fmt::format("slice {}:{} needs the blob's size, which is not fixed",
                                  starts[i], ends[i]));
        }
        cut[axis][0] = static_cast<int>(start);
        cut[axis][1] = static_cast<int>(-end);
      }
      if (cut[0][0] != 0 || cut[0][1] != 0) layer_error("cropping channels is not supported");
      return emit_crop(b, cut[1][0], cut[1][1], cut[2][0], cut[2][1]);
    }

    const int woff = get_int(0, 0);
    const int hoff = get_int(1, 0);
    const int coff = get_int(2, 0);
    if (woff == kAuto || hoff == kAuto || coff == kAuto) {
      layer_error("crop offsets of -233 (dynamic or axis-shifted crops) are not supported");
    }
    if (layer_->bottoms.size() == 2) {  // crop to the size of a reference blob
      expect_counts(2, 1);
      const Blob& b = bottom(0);
      const Blob& ref = bottom(1);
      require_not_pooled(b);
      require_not_pooled(ref);
      if (coff != 0) layer_error("cropping channels is not supported");
      const auto cb = channels(b);
      const auto cr = channels(ref);
      if (cb && cr && *cb != *cr) {
        layer_error(fmt::format("cropping {} channels to {} is not supported", *cb, *cr));
      }
      if (!(b.scale == ref.scale)) {
        layer_error(fmt::format("cannot crop a {} blob to a {} one", size_text(b), size_text(ref)));
      }
      return emit_crop(b, hoff, static_cast<int>(b.off_h - ref.off_h - hoff), woff,
                       static_cast<int>(b.off_w - ref.off_w - woff));
    }
    expect_counts(1, 1);
    const int outw = get_int(3, 0);
    const int outh = get_int(4, 0);
    const int outc = get_int(5, 0);
    if (outw == 0 && outh == 0 && outc == 0) {
      layer_error("has no output size and no reference blob");
    }
    if (outw != kAuto || outh != kAuto) {
      layer_error(
          fmt::format("cropping to a fixed size (3={}, 4={}) is not supported", outw, outh));
    }
    if (outc != kAuto || coff != 0 || get_int(8, 0) != 0) {
      layer_error("cropping channels is not supported");
    }
    const Blob& b = bottom(0);
    require_not_pooled(b);
    emit_crop(b, hoff, get_int(7, 0), woff, get_int(6, 0));
  }

  void padding() {
    expect_counts(1, 1);
    const int top = get_int(0, 0);
    const int bot = get_int(1, 0);
    const int left = get_int(2, 0);
    const int right = get_int(3, 0);
    const int type = get_int(4, 0);
    const auto bad = [](int v) { return v < 0 || v > kMaxBorder; };
    if (bad(top) || bad(bot) || bad(left) || bad(right)) {
      layer_error(fmt::format("padding out of range (top {}, bottom {}, left {}, right {})", top,
                              bot, left, right));
    }
    if (get_int(6, 0) != 0) layer_error("per-channel pad values (6=) are not supported");
    if (get_int(7, 0) != 0 || get_int(8, 0) != 0) {
      layer_error("padding channels (7=, 8=) is not supported");
    }
    engine::PadMode mode = engine::PadMode::zero;
    if (type == 0) {
      if (get_float(5, 0.0F) != 0.0F) {
        layer_error(fmt::format("constant padding with value {} is not supported (only 0)",
                                get_float(5, 0.0F)));
      }
    } else if (type == 1) {
      mode = engine::PadMode::replicate;
    } else if (type == 2) {
      mode = engine::PadMode::reflect;
    } else {
      layer_error(fmt::format("padding type 4={} is not supported", type));
    }
    Blob b = bottom(0);
    require_not_pooled(b);
    if (top + bot + left + right > 0) {
      Node n = node(OpType::pad, {b.value});
      n.top = top;
      n.bottom = bot;
      n.left = left;
      n.right = right;
      n.pad_mode = mode;
      b.value = emit(std::move(n));
      b.off_h += top + bot;
      b.off_w += left + right;
    }
    set_top(0, b);
  }

  void pooling() {
    expect_counts(1, 1);
    const int type = get_int(0, 0);
    const bool global = get_int(4, 0) != 0;
    const int out_w = get_int(8, 0);
    const bool adaptive_1x1 = get_int(7, 0) != 0 && out_w == 1 && get_int(18, out_w) == 1;
    if (type != 1 || !(global || adaptive_1x1)) {
      layer_error("only global average pooling (0=1 4=1) is supported");
    }
    Blob b = bottom(0);
    require_not_pooled(b);
    b.value = emit(node(OpType::global_avg_pool, {b.value}));
    b.pooled = true;
    set_top(0, b);
  }

  // Every blob's scale passes here: keeps the arithmetic small and records the input size
  // multiple that makes every strided size whole.
  void note_scale(Ratio s) {
    if (s.num > kMaxScale || s.den > kMaxScale) {
      layer_error(fmt::format("changes the resolution too much (scale {})", ratio_text(s)));
    }
    size_multiple_ = std::lcm(size_multiple_, static_cast<int>(s.den));
  }

  // ---- the whole graph ------------------------------------------------------------------------

  void finish(const Layer& last) {
    if (!seen_input_) model_error("has no Input layer");
    const auto named = blobs_.find("output");
    if (named == blobs_.end() && last.tops.empty()) {
      model_error(fmt::format("the last layer, {}, has no output blob", last.name));
    }
    const std::string out_name = named != blobs_.end() ? "output" : last.tops[0];
    const Blob& out = blobs_.at(out_name);
    if (out.pooled) model_error(fmt::format("output blob '{}' is a pooled 1x1 blob", out_name));
    // Nets of unpadded ("valid") convolutions give scale*N - 2*scale*P pixels: their programs
    // pad the input by P on every side first, which the graph then does itself (reflect).
    std::int64_t prepad = 0;
    if (out.scale.den == 1 && out.off_h == out.off_w && out.off_h < 0 &&
        (-out.off_h) % (2 * out.scale.num) == 0) {
      prepad = -out.off_h / (2 * out.scale.num);
    }
    if (out.scale.den != 1 || (prepad == 0 && (out.off_h != 0 || out.off_w != 0)) ||
        prepad > kMaxBorder) {
      model_error(
          fmt::format("output blob '{}' is {} pixels for an input of N; only whole-number "
                      "scales (output = scale*N, or scale*(N + 2P) - 2*scale*P for a net of "
                      "unpadded convolutions) are supported",
                      out_name, size_text(out)));
    }
    if (!in_channels_) in_channels_ = declared_channels_ > 0 ? declared_channels_ : 3;
    if (declared_channels_ > 0 && *in_channels_ != declared_channels_) {
      model_error(
          fmt::format("the Input layer declares {} channels but the first convolution "
                      "reads {}",
                      declared_channels_, *in_channels_));
    }
    layer_ = &last;
    const std::int64_t out_ch = channels(out).value_or(0);
    layer_ = nullptr;
    if (out_ch < 1) model_error(fmt::format("output blob '{}' has no channels", out_name));

    graph_.output = out.value;
    graph_.scale = static_cast<int>(out.scale.num);
    graph_.in_channels = static_cast<int>(*in_channels_);
    graph_.out_channels = static_cast<int>(out_ch);
    graph_.size_multiple = size_multiple_;
    if (prepad > 0) add_prepad(static_cast<int>(prepad));
    const bool global = engine::has_global_context(graph_);
    info_.prepad = static_cast<int>(prepad);
    if (global && deconvolutions_ > 0) {
      info_.structure = "cunet";
    } else if (!global && deconvolutions_ == 1 && !graph_.nodes.empty() &&
               graph_.nodes.back().type == OpType::deconv2d && prepad > 0) {
      info_.structure = "upconv7";
    }
    // Real-CUGAN's 4x net (UpCunet4x) ends in a pixel shuffle and adds the input enlarged with
    // nearest neighbour to it in its program, outside the exported graph.
    if (info_.structure == "cunet" && graph_.scale == 4 &&
        graph_.in_channels == graph_.out_channels &&
        graph_.nodes.back().type == OpType::pixel_shuffle) {
      add_nearest_skip();
      info_.nearest_skip = true;
    }
    int radius = std::max(engine::estimate_receptive_radius(graph_), static_cast<int>(prepad) + 1);
    radius = (radius + size_multiple_ - 1) / size_multiple_ * size_multiple_;
    graph_.receptive_radius = radius;
    engine::validate(graph_);
  }

  // A pad node in front of everything that reads the input.
  void add_prepad(int p) {
    const int padded = graph_.add_value();
    for (Node& n : graph_.nodes) {
      for (int& v : n.inputs) {
        if (v == graph_.input) v = padded;
      }
    }
    Node n;
    n.type = OpType::pad;
    n.name = "prepad";
    n.inputs = {graph_.input};
    n.output = padded;
    n.top = n.bottom = n.left = n.right = p;
    n.pad_mode = engine::PadMode::reflect;
    graph_.nodes.insert(graph_.nodes.begin(), std::move(n));
  }

  void add_nearest_skip() {
    Node up;
    up.type = OpType::upsample_nearest;
    up.name = "input_nearest";
    up.inputs = {graph_.input};
    up.factor = graph_.scale;
    const int upv = emit(std::move(up));
    Node add;
    add.type = OpType::add;
    add.name = "input_nearest/add";
    add.inputs = {graph_.output, upv};
    graph_.output = emit(std::move(add));
  }

 public:
  NcnnInfo info_;

 private:
  fs::path param_path_;
  fs::path bin_path_;
  std::vector<unsigned char> bin_;
  std::size_t pos_ = 0;
  Graph graph_;
  const Layer* layer_ = nullptr;
  std::map<std::string, Blob> blobs_;
  bool seen_input_ = false;
  int declared_channels_ = 0;
  std::optional<std::int64_t> in_channels_;
  int size_multiple_ = 1;
  int deconvolutions_ = 0;
};

}  // namespace

engine::Graph load_ncnn(const std::filesystem::path& param, const std::filesystem::path& bin,
                        NcnnInfo* info) {
  Loader loader(param, bin);
  engine::Graph g = loader.run();
  if (info != nullptr) *info = loader.info_;
  return g;
}

}  // namespace hires::models
