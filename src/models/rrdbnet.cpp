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

// Upper-cases ".rdbK." to ".RDBK." (both ESRGAN layouts name the dense blocks so).
std::string upper_rdb(std::string name) {
  for (const char* rdb : {".rdb1.", ".rdb2.", ".rdb3."}) {
    const auto at = name.find(rdb);
    if (at != std::string::npos) name.replace(at + 1, 3, "RDB");
  }
  return name;
}

// The original ESRGAN code's name for a Real-ESRGAN (BasicSR) parameter name.
std::string esrgan_name(const std::string& name) {
  static const std::pair<std::string, std::string> kModules[] = {
      {"conv_body.", "trunk_conv."}, {"conv_up1.", "upconv1."}, {"conv_up2.", "upconv2."},
      {"conv_up3.", "upconv3."},     {"conv_hr.", "HRconv."},
  };
  for (const auto& [ours, theirs] : kModules) {
    if (name.starts_with(ours)) return theirs + name.substr(ours.size());
  }
  if (name.starts_with("body.")) return upper_rdb("RRDB_trunk." + name.substr(5));
  return name;
}

// The old sequential layout: model.0 (first conv), model.1 (a shortcut block whose "sub" holds
// the RRDBs and then the trunk conv), then per upsample (nearest x2, conv, LeakyReLU), the HR
// conv, LeakyReLU and the last conv, numbered as nn.Sequential numbers them. The convs of a
// dense block are one-element Sequentials ("conv1.0").
std::string sequential_name(const RrdbConfig& c, const std::string& name) {
  const auto dot = name.rfind('.');
  if (dot == std::string::npos) return name;
  const std::string module = name.substr(0, dot);
  const std::string param = name.substr(dot);
  const int n = c.num_upsample;
  if (module == "conv_first") return "model.0" + param;
  if (module == "conv_body") return fmt::format("model.1.sub.{}{}", c.num_block, param);
  if (module == "conv_hr") return fmt::format("model.{}{}", 3 * n + 2, param);
  if (module == "conv_last") return fmt::format("model.{}{}", 3 * n + 4, param);
  if (module.starts_with("conv_up") && module.size() == 8) {
    return fmt::format("model.{}{}", 3 * (module[7] - '0'), param);
  }
  if (module.starts_with("body."))
    return upper_rdb("model.1.sub." + module.substr(5)) + ".0" + param;
  return name;
}

class Builder {
 public:
  Builder(const RrdbConfig& c, const WeightLookup& weights, std::string source)
      : c_(c), weights_(weights), source_(std::move(source)) {}

  Graph build();

 private:
  std::vector<float> fetch(const std::string& name, const std::vector<std::int64_t>& shape) const {
    const std::string stored = rrdb_stored_name(c_, name);
    const auto w = weights_(stored);
    if (!w) {
      throw Error(ErrorKind::input, fmt::format("model '{}'", source_),
                  fmt::format("tensor '{}' is missing", stored), "not an RRDBNet checkpoint?");
    }
    if (w->shape != shape) {
      throw Error(
          ErrorKind::input, fmt::format("model '{}'", source_),
          fmt::format("tensor '{}' is [{}], expected [{}]", stored, fmt::join(w->shape, ","),
                      fmt::join(shape, ",")),
          fmt::format("expected from the other tensors: an RRDBNet with {} blocks, {} "
                      "features, growth {}, {} upsamples, x{}",
                      c_.num_block, c_.num_feat, c_.num_grow_ch, c_.num_upsample, c_.scale));
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
  const int unshuffle = (1 << c_.num_upsample) / c_.scale;
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
  for (int k = 1; k <= c_.num_upsample; ++k) {
    const std::string up = fmt::format("conv_up{}", k);
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
  const bool upsample_ok = c.num_upsample >= 0 && c.num_upsample <= 3 && c.scale >= 1 &&
                           (1 << c.num_upsample) % c.scale == 0;
  const int unshuffle = upsample_ok ? (1 << c.num_upsample) / c.scale : 0;
  if (c.num_feat < 1 || c.num_grow_ch < 1 || c.num_block < 0 || c.in_ch < 1 || c.out_ch < 1 ||
      (unshuffle != 1 && unshuffle != 2 && unshuffle != 4)) {
    throw Error(ErrorKind::input, fmt::format("model '{}'", source),
                fmt::format("invalid RRDBNet configuration (feat {}, grow {}, blocks {}, scale {}, "
                            "upsamples {})",
                            c.num_feat, c.num_grow_ch, c.num_block, c.scale, c.num_upsample),
                "0 to 3 upsamples; the scale is 2^upsamples, or that divided by 2 or 4 "
                "(pixel-unshuffle)");
  }
  return Builder(c, weights, source).build();
}

std::string rrdb_stored_name(const RrdbConfig& c, const std::string& name) {
  switch (c.names) {
    case RrdbNames::basicsr:
      return name;
    case RrdbNames::esrgan:
      return esrgan_name(name);
    case RrdbNames::sequential:
      return sequential_name(c, name);
  }
  return name;
}

namespace {

// The old sequential layout (see sequential_name). Shapes beyond those read here are checked by
// the builder, which names the stored tensor.
std::optional<RrdbConfig> detect_sequential(const WeightLookup& w, const std::string& source) {
  const std::string subject = fmt::format("model '{}'", source);
  const auto fail = [&](const std::string& problem, const std::string& hint) {
    return Error(ErrorKind::input, subject, problem, hint);
  };
  const auto block = w("model.1.sub.0.RDB1.conv1.0.weight");
  if (!block) {
    if (w("model.0.weight") && w("model.1.sub.0.res.0.weight")) {
      throw fail("an old sequential SRResNet (model.1.sub.N.res), not an ESRGAN RRDBNet",
                 "hires runs RRDBNet (ESRGAN) and SRVGGNetCompact");
    }
    return std::nullopt;
  }
  if (w("model.1.sub.0.RDB1.conv1.1.weight")) {
    throw fail("old ESRGAN layout with normalisation layers (model.1.sub.0.RDB1.conv1.1)",
               "hires runs ESRGAN without normalisation (norm_type None)");
  }
  const auto first = w("model.0.weight");
  if (!first) {
    throw fail("old ESRGAN layout (model.1.sub.N.RDB1...) without its first conv 'model.0.weight'",
               "the file holds part of a model?");
  }
  if (first->shape.size() != 4 || block->shape.size() != 4) {
    throw fail(fmt::format("old ESRGAN layout, but 'model.0.weight' is [{}] and "
                           "'model.1.sub.0.RDB1.conv1.0.weight' is [{}]",
                           fmt::join(first->shape, ","), fmt::join(block->shape, ",")),
               "expected 4-D convolution weights");
  }
  RrdbConfig c;
  c.names = RrdbNames::sequential;
  c.num_feat = channel_count(*first, 0, "model.0.weight", source);
  c.in_ch = channel_count(*first, 1, "model.0.weight", source);
  c.num_grow_ch = channel_count(*block, 0, "model.1.sub.0.RDB1.conv1.0.weight", source);
  c.num_block = 0;
  while (w(fmt::format("model.1.sub.{}.RDB1.conv1.0.weight", c.num_block))) ++c.num_block;
  const std::string trunk = fmt::format("model.1.sub.{}.weight", c.num_block);
  if (!w(trunk)) {
    throw fail(
        fmt::format("old ESRGAN layout with {} blocks but no trunk conv '{}'", c.num_block, trunk),
        "the conv after the last RRDB block is missing");
  }
  if (const auto up = w("model.2.weight"); up && !up->shape.empty() && up->shape[0] != c.num_feat) {
    throw fail(fmt::format("old ESRGAN layout whose upsampler starts with a conv to {} channels "
                           "('model.2.weight'): a pixel-shuffle upsampler",
                           up->shape[0]),
               "hires runs the nearest-neighbour upsampler (upsample_mode 'upconv')");
  }
  int n = 0;
  while (w(fmt::format("model.{}.weight", 3 * (n + 1)))) ++n;
  if (n > 3) {
    throw fail(fmt::format("old ESRGAN layout with {} upsample convs (x{})", n, 1 << n),
               "hires runs 0 to 3 upsamples (x1 to x8)");
  }
  c.num_upsample = n;
  c.scale = 1 << n;
  for (const int k : {3 * n + 2, 3 * n + 4}) {
    if (!w(fmt::format("model.{}.weight", k))) {
      throw fail(fmt::format("old ESRGAN layout with {} upsample convs but no 'model.{}.weight' "
                             "(the {} conv)",
                             n, k, k == 3 * n + 2 ? "HR" : "last"),
                 "expected model.3, model.6, ... (upsamples), then the HR and last convs");
    }
  }
  for (const int k : {3 * n + 5, 3 * n + 6, 3 * n + 7}) {
    if (w(fmt::format("model.{}.weight", k))) {
      throw fail(fmt::format("old ESRGAN layout with an unexpected layer after the last conv "
                             "('model.{}.weight')",
                             k),
                 "not the ESRGAN RRDB_Net layout hires runs");
    }
  }
  const auto last = w(fmt::format("model.{}.weight", 3 * n + 4));
  if (last->shape.size() != 4) {
    throw fail(fmt::format("'model.{}.weight' is [{}]", 3 * n + 4, fmt::join(last->shape, ",")),
               "expected a 4-D convolution weight");
  }
  c.out_ch = channel_count(*last, 0, fmt::format("model.{}.weight", 3 * n + 4), source);
  return c;
}

}  // namespace

std::optional<RrdbConfig> detect_rrdbnet(const WeightLookup& weights, const std::string& source) {
  RrdbConfig c;
  auto get = [&](const std::string& name) { return weights(rrdb_stored_name(c, name)); };
  if (!get("body.0.rdb1.conv1.weight")) c.names = RrdbNames::esrgan;
  if (!get("body.0.rdb1.conv1.weight")) return detect_sequential(weights, source);
  const auto first = get("conv_first.weight");
  const auto grow = get("body.0.rdb1.conv1.weight");
  const auto last = get("conv_last.weight");
  if (!first || !grow || !last || first->shape.size() != 4 || grow->shape.size() != 4 ||
      last->shape.size() != 4) {
    return std::nullopt;
  }
  c.num_feat = channel_count(*first, 0, "conv_first.weight", source);
  c.num_grow_ch = channel_count(*grow, 0, "body.0.rdb1.conv1.weight", source);
  c.out_ch = channel_count(*last, 0, "conv_last.weight", source);
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
