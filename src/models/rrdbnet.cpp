#include "models/rrdbnet.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <utility>
#include <vector>

#include "hires/error.hpp"

namespace hires::models {
namespace {

using engine::Graph;
using engine::Node;
using engine::OpType;

constexpr float kSlope = 0.2F;     // LeakyReLU everywhere in the net
constexpr float kResidual = 0.2F;  // residual scaling of dense blocks and RRDBs

// The original ESRGAN code's name for a Real-ESRGAN (BasicSR) parameter name.
std::string esrgan_name(const std::string& name) {
  static const std::pair<std::string, std::string> kModules[] = {
      {"conv_body.", "trunk_conv."},
      {"conv_up1.", "upconv1."},
      {"conv_up2.", "upconv2."},
      {"conv_hr.", "HRconv."},
  };
  for (const auto& [ours, theirs] : kModules) {
    if (name.starts_with(ours)) return theirs + name.substr(ours.size());
  }
  if (name.starts_with("body.")) {
    std::string out = "RRDB_trunk." + name.substr(5);
    for (const char* rdb : {".rdb1.", ".rdb2.", ".rdb3."}) {
      const auto at = out.find(rdb);
      if (at != std::string::npos) out.replace(at + 1, 3, "RDB");
    }
    return out;
  }
  return name;
}

class Builder {
 public:
  Builder(const RrdbConfig& c, const WeightLookup& weights, std::string source)
      : c_(c), weights_(weights), source_(std::move(source)) {}

  Graph build();

 private:
  std::vector<float> fetch(const std::string& name, const std::vector<std::int64_t>& shape) const {
    const std::string stored = c_.esrgan_names ? esrgan_name(name) : name;
    const auto w = weights_(stored);
    if (!w) {
      throw Error(ErrorKind::input, fmt::format("model '{}'", source_),
                  fmt::format("tensor '{}' is missing", stored), "not an RRDBNet checkpoint?");
    }
    if (w->shape != shape) {
      throw Error(ErrorKind::input, fmt::format("model '{}'", source_),
                  fmt::format("tensor '{}' is [{}], expected [{}]", stored,
                              fmt::join(w->shape, ","), fmt::join(shape, ",")));
    }
    return *w->values;
  }
  int node(Node n) {
    n.output = g_.add_value();
    const int out = n.output;
    g_.nodes.push_back(std::move(n));
    return out;
  }
  int conv(const std::string& name, int in, int in_ch, int out_ch) {
    Node n;
    n.type = OpType::conv2d;
    n.name = name;
    n.in_channels = in_ch;
    n.out_channels = out_ch;
    n.kernel = 3;
    n.padding = 1;
    n.weight = fetch(name + ".weight", {out_ch, in_ch, 3, 3});
    n.bias = fetch(name + ".bias", {out_ch});
    n.inputs = {in};
    return node(std::move(n));
  }
  int leaky(const std::string& name, int in) {
    Node n;
    n.type = OpType::leaky_relu;
    n.name = name + ".lrelu";
    n.alpha = kSlope;
    n.inputs = {in};
    return node(std::move(n));
  }
  int simple(OpType type, const std::string& name, std::vector<int> inputs, int factor = 1) {
    Node n;
    n.type = type;
    n.name = name;
    n.inputs = std::move(inputs);
    n.factor = factor;
    return node(std::move(n));
  }
  // x + 0.2 * y
  int scaled_residual(const std::string& name, int x, int y) {
    Node s;
    s.type = OpType::scale_shift;
    s.name = name + ".scale";
    s.scale = kResidual;
    s.inputs = {y};
    const int scaled = node(std::move(s));
    return simple(OpType::add, name, {scaled, x});
  }
  int dense_block(const std::string& name, int x) {
    std::vector<int> features = {x};
    int out = x;
    for (int k = 1; k <= 5; ++k) {
      const std::string conv_name = fmt::format("{}.conv{}", name, k);
      const int in =
          features.size() == 1 ? x : simple(OpType::concat, conv_name + ".cat", features);
      const int in_ch = c_.num_feat + (k - 1) * c_.num_grow_ch;
      if (k < 5) {
        features.push_back(leaky(conv_name, conv(conv_name, in, in_ch, c_.num_grow_ch)));
      } else {
        out = conv(conv_name, in, in_ch, c_.num_feat);
      }
    }
    return scaled_residual(name, x, out);
  }

  const RrdbConfig& c_;
  const WeightLookup& weights_;
  std::string source_;
  Graph g_;
};

Graph Builder::build() {
  const int unshuffle = c_.scale == 4 ? 1 : (c_.scale == 2 ? 2 : 4);
  g_.name = source_;
  g_.in_channels = c_.in_ch;
  g_.out_channels = c_.out_ch;
  g_.scale = c_.scale;
  g_.size_multiple = unshuffle;
  int x = g_.input;
  if (unshuffle > 1) x = simple(OpType::pixel_unshuffle, "unshuffle", {x}, unshuffle);
  const int first = conv("conv_first", x, c_.in_ch * unshuffle * unshuffle, c_.num_feat);
  int trunk = first;
  for (int b = 0; b < c_.num_block; ++b) {
    const std::string block = fmt::format("body.{}", b);
    int y = trunk;
    for (const char* rdb : {"rdb1", "rdb2", "rdb3"}) y = dense_block(block + "." + rdb, y);
    trunk = scaled_residual(block, trunk, y);
  }
  trunk = conv("conv_body", trunk, c_.num_feat, c_.num_feat);
  int feat = simple(OpType::add, "trunk", {first, trunk});
  for (const char* up : {"conv_up1", "conv_up2"}) {
    feat = simple(OpType::upsample_nearest, fmt::format("{}.upsample", up), {feat}, 2);
    feat = leaky(up, conv(up, feat, c_.num_feat, c_.num_feat));
  }
  feat = leaky("conv_hr", conv("conv_hr", feat, c_.num_feat, c_.num_feat));
  g_.output = conv("conv_last", feat, c_.num_feat, c_.out_ch);
  g_.receptive_radius = engine::estimate_receptive_radius(g_);
  engine::validate(g_);
  return std::move(g_);
}

}  // namespace

Graph build_rrdbnet(const RrdbConfig& c, const WeightLookup& weights, const std::string& source) {
  if (c.num_feat < 1 || c.num_grow_ch < 1 || c.num_block < 0 || c.in_ch < 1 || c.out_ch < 1 ||
      (c.scale != 1 && c.scale != 2 && c.scale != 4)) {
    throw Error(ErrorKind::input, fmt::format("model '{}'", source),
                fmt::format("invalid RRDBNet configuration (feat {}, grow {}, blocks {}, scale {})",
                            c.num_feat, c.num_grow_ch, c.num_block, c.scale),
                "scale must be 1, 2 or 4");
  }
  return Builder(c, weights, source).build();
}

std::optional<RrdbConfig> detect_rrdbnet(const WeightLookup& weights) {
  RrdbConfig c;
  auto get = [&](const std::string& name) {
    return weights(c.esrgan_names ? esrgan_name(name) : name);
  };
  if (!get("body.0.rdb1.conv1.weight")) c.esrgan_names = true;
  const auto first = get("conv_first.weight");
  const auto grow = get("body.0.rdb1.conv1.weight");
  const auto last = get("conv_last.weight");
  if (!first || !grow || !last || first->shape.size() != 4 || grow->shape.size() != 4 ||
      last->shape.size() != 4) {
    return std::nullopt;
  }
  c.num_feat = static_cast<int>(first->shape[0]);
  c.num_grow_ch = static_cast<int>(grow->shape[0]);
  c.out_ch = static_cast<int>(last->shape[0]);
  const auto in = first->shape[1];
  if (c.out_ch < 1) return std::nullopt;
  if (in == c.out_ch) {
    c.scale = 4;
  } else if (in == 4LL * c.out_ch) {
    c.scale = 2;
  } else if (in == 16LL * c.out_ch) {
    c.scale = 1;
  } else {
    return std::nullopt;
  }
  c.in_ch = c.out_ch;
  c.num_block = 0;
  while (get(fmt::format("body.{}.rdb1.conv1.weight", c.num_block))) ++c.num_block;
  return c;
}

}  // namespace hires::models
