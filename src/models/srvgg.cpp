#include "models/srvgg.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <cmath>
#include <map>
#include <random>

#include "hires/error.hpp"

namespace hires::models {
namespace {

using engine::Graph;
using engine::Node;
using engine::OpType;

std::string shape_text(const std::vector<std::int64_t>& s) {
  return fmt::format("[{}]", fmt::join(s, ","));
}

const std::vector<float>& fetch(const WeightLookup& weights, const std::string& source,
                                const std::string& name, const std::vector<std::int64_t>& shape) {
  const auto w = weights(name);
  if (!w) {
    throw Error(ErrorKind::input, fmt::format("model '{}'", source),
                fmt::format("tensor '{}' is missing", name), "not an SRVGGNetCompact checkpoint?");
  }
  if (w->shape != shape) {
    throw Error(ErrorKind::input, fmt::format("model '{}'", source),
                fmt::format("tensor '{}' is {}, expected {}", name, shape_text(w->shape),
                            shape_text(shape)));
  }
  return *w->values;
}

}  // namespace

Graph build_srvgg(const SrvggConfig& c, const WeightLookup& weights, const std::string& source) {
  if (c.num_feat < 1 || c.num_conv < 0 || c.upscale < 1 || c.upscale > 8 || c.in_ch < 1 ||
      c.out_ch < 1) {
    throw Error(ErrorKind::input, fmt::format("model '{}'", source),
                fmt::format("invalid SRVGG configuration (feat {}, conv {}, scale {})", c.num_feat,
                            c.num_conv, c.upscale));
  }
  if (c.act != "prelu" && c.act != "relu" && c.act != "leakyrelu") {
    throw Error(ErrorKind::input, fmt::format("model '{}'", source),
                fmt::format("activation '{}' is not supported", c.act),
                "expected prelu, relu or leakyrelu");
  }
  Graph g;
  g.name = source;
  g.in_channels = c.in_ch;
  g.out_channels = c.out_ch;
  g.scale = c.upscale;
  int x = g.input;
  int index = 0;
  auto conv = [&](int in_ch, int out_ch) {
    Node n;
    n.type = OpType::conv2d;
    n.name = fmt::format("body.{}", index);
    n.in_channels = in_ch;
    n.out_channels = out_ch;
    n.kernel = 3;
    n.padding = 1;
    n.weight = fetch(weights, source, n.name + ".weight", {out_ch, in_ch, 3, 3});
    n.bias = fetch(weights, source, n.name + ".bias", {out_ch});
    n.inputs = {x};
    n.output = x = g.add_value();
    g.nodes.push_back(std::move(n));
    ++index;
  };
  auto act = [&]() {
    Node n;
    n.name = fmt::format("body.{}", index);
    if (c.act == "prelu") {
      n.type = OpType::prelu;
      n.slopes = fetch(weights, source, n.name + ".weight", {c.num_feat});
    } else if (c.act == "leakyrelu") {
      n.type = OpType::leaky_relu;
      n.alpha = 0.1F;
    } else {
      n.type = OpType::relu;
    }
    n.inputs = {x};
    n.output = x = g.add_value();
    g.nodes.push_back(std::move(n));
    ++index;
  };
  conv(c.in_ch, c.num_feat);
  act();
  for (int i = 0; i < c.num_conv; ++i) {
    conv(c.num_feat, c.num_feat);
    act();
  }
  conv(c.num_feat, c.out_ch * c.upscale * c.upscale);
  Node shuffle;
  shuffle.type = OpType::pixel_shuffle;
  shuffle.name = "upsampler";
  shuffle.factor = c.upscale;
  shuffle.inputs = {x};
  shuffle.output = x = g.add_value();
  g.nodes.push_back(std::move(shuffle));
  Node base;
  base.type = OpType::upsample_nearest;
  base.name = "base";
  base.factor = c.upscale;
  base.inputs = {g.input};
  base.output = g.add_value();
  const int base_id = base.output;
  g.nodes.push_back(std::move(base));
  Node add;
  add.type = OpType::add;
  add.name = "out";
  add.inputs = {x, base_id};
  add.output = g.add_value();
  g.output = add.output;
  g.nodes.push_back(std::move(add));
  g.receptive_radius = engine::estimate_receptive_radius(g);
  engine::validate(g);
  return g;
}

Graph build_srvgg_random(const SrvggConfig& c, unsigned seed) {
  std::mt19937 rng(seed);
  std::map<std::string, std::pair<std::vector<std::int64_t>, std::vector<float>>> store;
  auto make = [&](const std::string& name, std::vector<std::int64_t> shape, float scale,
                  float mean) {
    std::size_t count = 1;
    for (auto d : shape) count *= static_cast<std::size_t>(d);
    std::normal_distribution<float> dist(mean, scale);
    std::vector<float> v(count);
    for (float& f : v) f = dist(rng);
    store[name] = {std::move(shape), std::move(v)};
  };
  int index = 0;
  auto conv = [&](int in_ch, int out_ch) {
    const float s = std::sqrt(2.0F / static_cast<float>(in_ch * 9));
    make(fmt::format("body.{}.weight", index), {out_ch, in_ch, 3, 3}, s, 0.0F);
    make(fmt::format("body.{}.bias", index), {out_ch}, 0.01F, 0.0F);
    ++index;
  };
  auto act = [&] {
    if (c.act == "prelu") make(fmt::format("body.{}.weight", index), {c.num_feat}, 0.02F, 0.2F);
    ++index;
  };
  conv(c.in_ch, c.num_feat);
  act();
  for (int i = 0; i < c.num_conv; ++i) {
    conv(c.num_feat, c.num_feat);
    act();
  }
  conv(c.num_feat, c.out_ch * c.upscale * c.upscale);
  WeightLookup lookup = [&](const std::string& name) -> std::optional<WeightView> {
    auto it = store.find(name);
    if (it == store.end()) return std::nullopt;
    return WeightView{it->second.first, &it->second.second};
  };
  return build_srvgg(c, lookup, fmt::format("srvgg-random-{}", seed));
}

int channel_count(const WeightView& w, std::size_t dim, const std::string& name,
                  const std::string& source) {
  const std::int64_t d = dim < w.shape.size() ? w.shape[dim] : 0;
  if (d < 1 || d > kMaxChannels) {
    throw Error(
        ErrorKind::input,
        source.empty() ? fmt::format("tensor '{}'", name) : fmt::format("model '{}'", source),
        fmt::format("tensor '{}' is {}: {} channels", name, shape_text(w.shape), d),
        fmt::format("expected 1 to {} channels", kMaxChannels));
  }
  return static_cast<int>(d);
}

std::optional<SrvggConfig> detect_srvgg(const WeightLookup& weights, const std::string& source) {
  const auto first = weights("body.0.weight");
  if (!first || first->shape.size() != 4 || first->shape[2] != 3) return std::nullopt;
  SrvggConfig c;
  c.num_feat = channel_count(*first, 0, "body.0.weight", source);
  c.in_ch = channel_count(*first, 1, "body.0.weight", source);
  const auto slope = weights("body.1.weight");
  c.act = slope ? "prelu" : "leakyrelu";
  // Convolutions sit at even indices; count them until one is missing.
  int last = 0;
  while (weights(fmt::format("body.{}.weight", last + 2))) last += 2;
  c.num_conv = last / 2 - 1;
  const auto tail = weights(fmt::format("body.{}.weight", last));
  if (!tail || tail->shape.size() != 4 || c.num_conv < 0) return std::nullopt;
  const int out = channel_count(*tail, 0, fmt::format("body.{}.weight", last), source);
  c.out_ch = c.in_ch;
  const int s2 = out / c.out_ch;
  const int s = static_cast<int>(std::lround(std::sqrt(static_cast<double>(s2))));
  if (s * s * c.out_ch != out) return std::nullopt;
  c.upscale = s;
  return c;
}

}  // namespace hires::models
