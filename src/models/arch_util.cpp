#include "models/arch_util.hpp"

#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hires/error.hpp"

namespace hires::models {

void bad_model(const std::string& source, const std::string& problem, const std::string& hint) {
  throw Error(ErrorKind::input, fmt::format("model '{}'", source), problem, hint);
}

const std::vector<float>& fetch_tensor(const WeightLookup& weights, const std::string& source,
                                       const std::string& name,
                                       const std::vector<std::int64_t>& shape,
                                       const std::string& hint) {
  const auto w = weights(name);
  if (!w) bad_model(source, fmt::format("tensor '{}' is missing", name), hint);
  if (w->shape != shape) {
    bad_model(source,
              fmt::format("tensor '{}' is [{}], expected [{}]", name, fmt::join(w->shape, ","),
                          fmt::join(shape, ",")),
              "the tensors do not fit one network (a truncated or edited file?)");
  }
  std::int64_t count = 1;
  for (auto d : shape) count *= d;
  if (w->values == nullptr || w->values->size() != static_cast<std::size_t>(count)) {
    bad_model(source, fmt::format("tensor '{}' holds too few values", name), "a truncated file?");
  }
  return *w->values;
}

int GraphBuilder::add(engine::Node n) {
  n.output = g.add_value();
  g.nodes.push_back(std::move(n));
  return g.nodes.back().output;
}

int GraphBuilder::conv(const std::string& name, int x, int in_ch, int out_ch, int k) {
  engine::Node n;
  n.type = engine::OpType::conv2d;
  n.name = name;
  n.in_channels = in_ch;
  n.out_channels = out_ch;
  n.kernel = k;
  n.padding = k / 2;
  n.weight = fetch_tensor(weights, source, name + ".weight", {out_ch, in_ch, k, k}, hint);
  n.bias = fetch_tensor(weights, source, name + ".bias", {out_ch}, hint);
  n.inputs = {x};
  return add(std::move(n));
}

int GraphBuilder::depthwise_conv(const std::string& name, int x, int channels, int k) {
  engine::Node n;
  n.type = engine::OpType::conv2d;
  n.name = name;
  n.in_channels = n.out_channels = n.groups = channels;
  n.kernel = k;
  n.padding = k / 2;
  n.weight = fetch_tensor(weights, source, name + ".weight", {channels, 1, k, k}, hint);
  n.bias = fetch_tensor(weights, source, name + ".bias", {channels}, hint);
  n.inputs = {x};
  return add(std::move(n));
}

void GraphBuilder::fold_batch_norm(const std::string& name) {
  engine::Node& n = g.nodes.back();
  const std::int64_t c = n.out_channels;
  const auto& mean = fetch_tensor(weights, source, name + ".running_mean", {c}, hint);
  const auto& var = fetch_tensor(weights, source, name + ".running_var", {c}, hint);
  const auto& gamma = fetch_tensor(weights, source, name + ".weight", {c}, hint);
  const auto& beta = fetch_tensor(weights, source, name + ".bias", {c}, hint);
  if (n.bias.empty()) n.bias.assign(static_cast<std::size_t>(c), 0.0F);
  const std::size_t per_out = n.weight.size() / static_cast<std::size_t>(c);
  for (std::size_t o = 0; o < static_cast<std::size_t>(c); ++o) {
    const double k = gamma[o] / std::sqrt(static_cast<double>(var[o]) + 1e-5);
    for (std::size_t i = 0; i < per_out; ++i) {
      n.weight[o * per_out + i] = static_cast<float>(n.weight[o * per_out + i] * k);
    }
    n.bias[o] = static_cast<float>((n.bias[o] - mean[o]) * k + beta[o]);
  }
  n.name += "+" + name;
}

int GraphBuilder::unary(engine::OpType t, const std::string& name, int x) {
  engine::Node n;
  n.type = t;
  n.name = name;
  n.inputs = {x};
  return add(std::move(n));
}

int GraphBuilder::binary(engine::OpType t, const std::string& name, int a, int b) {
  engine::Node n;
  n.type = t;
  n.name = name;
  n.inputs = {a, b};
  return add(std::move(n));
}

int GraphBuilder::slice(const std::string& name, int x, int begin, int count) {
  engine::Node n;
  n.type = engine::OpType::slice_channels;
  n.name = name;
  n.begin = begin;
  n.count = count;
  n.inputs = {x};
  return add(std::move(n));
}

int GraphBuilder::concat(const std::string& name, std::vector<int> parts) {
  engine::Node n;
  n.type = engine::OpType::concat;
  n.name = name;
  n.inputs = std::move(parts);
  return add(std::move(n));
}

int GraphBuilder::linear(const std::string& name, int x, int in_ch, int out_ch, bool with_bias) {
  engine::Node n;
  n.type = engine::OpType::conv2d;
  n.name = name;
  n.in_channels = in_ch;
  n.out_channels = out_ch;
  n.weight = fetch_tensor(weights, source, name + ".weight", {out_ch, in_ch}, hint);
  if (with_bias) n.bias = fetch_tensor(weights, source, name + ".bias", {out_ch}, hint);
  n.inputs = {x};
  return add(std::move(n));
}

int GraphBuilder::layer_norm(const std::string& name, int x, int channels) {
  engine::Node n;
  n.type = engine::OpType::layer_norm;
  n.name = name;
  n.weight = fetch_tensor(weights, source, name + ".weight", {channels}, hint);
  n.bias = fetch_tensor(weights, source, name + ".bias", {channels}, hint);
  n.inputs = {x};
  return add(std::move(n));
}

int GraphBuilder::channel_affine(const std::string& name, int x, const std::vector<float>& scale,
                                 const std::vector<float>& shift) {
  engine::Node n;
  n.type = engine::OpType::conv2d;
  n.name = name;
  const int c = static_cast<int>(scale.size());
  n.in_channels = n.out_channels = c;
  n.weight.assign(static_cast<std::size_t>(c) * c, 0.0F);
  for (int i = 0; i < c; ++i) n.weight[static_cast<std::size_t>(i) * c + i] = scale[i];
  n.bias = shift;
  n.inputs = {x};
  return add(std::move(n));
}

int GraphBuilder::scale_shift(const std::string& name, int x, float scale, float shift) {
  engine::Node n;
  n.type = engine::OpType::scale_shift;
  n.name = name;
  n.scale = scale;
  n.shift = shift;
  n.inputs = {x};
  return add(std::move(n));
}

int GraphBuilder::pixel_shuffle(const std::string& name, int x, int factor) {
  engine::Node n;
  n.type = engine::OpType::pixel_shuffle;
  n.name = name;
  n.factor = factor;
  n.inputs = {x};
  return add(std::move(n));
}

int GraphBuilder::dysample(const std::string& name, int x, int in_ch, int out_ch, int scale,
                           int groups, bool end_conv) {
  const int channels = 2 * groups * scale * scale;
  const int offset = conv(name + ".offset", x, in_ch, channels, 1);
  engine::Node scope;
  scope.type = engine::OpType::conv2d;
  scope.name = name + ".scope";
  scope.in_channels = in_ch;
  scope.out_channels = channels;
  scope.weight =
      fetch_tensor(weights, source, name + ".scope.weight", {channels, in_ch, 1, 1}, hint);
  scope.inputs = {x};
  const int gate = unary(engine::OpType::sigmoid, name + ".scope.sigmoid", add(std::move(scope)));
  const std::vector<float>& init =
      fetch_tensor(weights, source, name + ".init_pos", {1, channels, 1, 1}, hint);
  const int offsets =
      channel_affine(name + ".init_pos", binary(engine::OpType::mul, name + ".gate", offset, gate),
                     std::vector<float>(static_cast<std::size_t>(channels), 0.5F), init);
  engine::Node sample;
  sample.type = engine::OpType::offset_sample;
  sample.name = name;
  sample.factor = scale;
  sample.groups = groups;
  sample.inputs = {x, offsets};
  const int y = add(std::move(sample));
  return end_conv ? conv(name + ".end_conv", y, in_ch, out_ch, 1) : y;
}

}  // namespace hires::models
