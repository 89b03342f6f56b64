#include "models/span.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <array>
#include <cmath>
#include <cstddef>
#include <vector>

#include "hires/error.hpp"
#include "models/arch_util.hpp"

namespace hires::models {
namespace {

using engine::Graph;
using engine::Node;
using engine::OpType;

// The normalisation every SPAN release uses (DIV2K's mean, images scaled to 0..255).
constexpr std::array<double, 3> kRgbMean = {0.4488, 0.4371, 0.4040};
constexpr double kImgRange = 255.0;

constexpr const char* kHint = "not a SPAN checkpoint?";

[[noreturn]] void bad_file(const std::string& source, const std::string& problem,
                           const std::string& hint = kHint) {
  bad_model(source, problem, hint);
}

const std::vector<float>& fetch(const WeightLookup& weights, const std::string& source,
                                const std::string& name, const std::vector<std::int64_t>& shape) {
  return fetch_tensor(weights, source, name, shape, kHint);
}

// GraphBuilder plus SPAN's reparameterised convolution.
struct Builder : GraphBuilder {
  // A Conv3XC (gain 2) fused to one 3x3 convolution: see span.hpp for the algebra.
  int conv3xc(const std::string& name, int x, int in_ch, int out_ch) {
    const int mid_in = in_ch * 2;
    const int mid_out = out_ch * 2;
    const auto& w1 = fetch(weights, source, name + ".conv.0.weight", {mid_in, in_ch, 1, 1});
    const auto& b1 = fetch(weights, source, name + ".conv.0.bias", {mid_in});
    const auto& w2 = fetch(weights, source, name + ".conv.1.weight", {mid_out, mid_in, 3, 3});
    const auto& b2 = fetch(weights, source, name + ".conv.1.bias", {mid_out});
    const auto& w3 = fetch(weights, source, name + ".conv.2.weight", {out_ch, mid_out, 1, 1});
    const auto& b3 = fetch(weights, source, name + ".conv.2.bias", {out_ch});
    const auto& wsk = fetch(weights, source, name + ".sk.weight", {out_ch, in_ch, 1, 1});
    const auto& bsk = fetch(weights, source, name + ".sk.bias", {out_ch});
    // A[m,i,t] = sum_j W2[m,j,t] W1[j,i] (t = the 9 taps); c[m] = b2[m] + sum_{j,t} W2[m,j,t] b1[j]
    std::vector<double> a(static_cast<std::size_t>(mid_out) * in_ch * 9, 0.0);
    std::vector<double> c(static_cast<std::size_t>(mid_out), 0.0);
    for (int m = 0; m < mid_out; ++m) {
      c[m] = b2[m];
      for (int j = 0; j < mid_in; ++j) {
        for (int t = 0; t < 9; ++t) {
          const double w = w2[(static_cast<std::size_t>(m) * mid_in + j) * 9 + t];
          c[m] += w * b1[j];
          for (int i = 0; i < in_ch; ++i) {
            a[(static_cast<std::size_t>(m) * in_ch + i) * 9 + t] +=
                w * w1[static_cast<std::size_t>(j) * in_ch + i];
          }
        }
      }
    }
    Node n;
    n.type = OpType::conv2d;
    n.name = name;
    n.in_channels = in_ch;
    n.out_channels = out_ch;
    n.kernel = 3;
    n.padding = 1;
    n.weight.resize(static_cast<std::size_t>(out_ch) * in_ch * 9);
    n.bias.resize(static_cast<std::size_t>(out_ch));
    for (int o = 0; o < out_ch; ++o) {
      double bias = static_cast<double>(b3[o]) + bsk[o];
      for (int m = 0; m < mid_out; ++m) {
        bias += static_cast<double>(w3[static_cast<std::size_t>(o) * mid_out + m]) * c[m];
      }
      n.bias[o] = static_cast<float>(bias);
      for (int i = 0; i < in_ch; ++i) {
        for (int t = 0; t < 9; ++t) {
          double k =
              t == 4 ? static_cast<double>(wsk[static_cast<std::size_t>(o) * in_ch + i]) : 0.0;
          for (int m = 0; m < mid_out; ++m) {
            k += static_cast<double>(w3[static_cast<std::size_t>(o) * mid_out + m]) *
                 a[(static_cast<std::size_t>(m) * in_ch + i) * 9 + t];
          }
          n.weight[(static_cast<std::size_t>(o) * in_ch + i) * 9 + t] = static_cast<float>(k);
        }
      }
    }
    n.inputs = {x};
    return add(std::move(n));
  }
};

}  // namespace

std::string span_variant(const SpanConfig& c) {
  return fmt::format("{}nf, {} blocks, {}", c.feature_channels, c.blocks,
                     c.norm ? "norm" : "no norm");
}

std::optional<SpanConfig> detect_span(const WeightLookup& weights, const std::string& source) {
  const auto first = weights("conv_1.sk.weight");
  if (!first || !weights("block_1.c1_r.sk.weight")) return std::nullopt;
  if (first->shape.size() != 4) {
    bad_file(source, fmt::format("tensor 'conv_1.sk.weight' is [{}], expected 4 dimensions",
                                 fmt::join(first->shape, ",")));
  }
  SpanConfig c;
  c.feature_channels = channel_count(*first, 0, "conv_1.sk.weight", source);
  c.in_ch = channel_count(*first, 1, "conv_1.sk.weight", source);
  c.blocks = 0;
  while (weights(fmt::format("block_{}.c1_r.sk.weight", c.blocks + 1))) ++c.blocks;
  c.norm = !weights("no_norm");
  const auto up = weights("upsampler.0.weight");
  if (!up) bad_file(source, "tensor 'upsampler.0.weight' is missing");
  const int out = channel_count(*up, 0, "upsampler.0.weight", source);
  // out = out_ch * s^2: the input's channel count first (as every release), then RGB or grey.
  for (int ch : {c.in_ch, 3, 1}) {
    if (out % ch != 0) continue;
    const int per_channel = out / ch;
    const int s = static_cast<int>(std::lround(std::sqrt(static_cast<double>(per_channel))));
    if (s >= 1 && s <= 8 && s * s * ch == out) {
      c.out_ch = ch;
      c.upscale = s;
      return c;
    }
  }
  bad_file(source,
           fmt::format("tensor 'upsampler.0.weight' has {} output channels: no scale 1 to 8 "
                       "for {} image channels",
                       out, c.in_ch),
           "a SPAN checkpoint ends with a conv to channels x scale^2");
}

Graph build_span(const SpanConfig& c, const WeightLookup& weights, const std::string& source) {
  if (c.blocks < 1) bad_file(source, "tensor 'block_1.c1_r.sk.weight' is missing");
  if (c.norm && c.in_ch != 3) {
    bad_file(source, fmt::format("SPAN with RGB mean normalisation on {} input channels", c.in_ch),
             "only 3-channel SPAN models normalise by the RGB mean ('no_norm' absent)");
  }
  const int f = c.feature_channels;
  Graph g;
  g.name = source;
  g.in_channels = c.in_ch;
  g.out_channels = c.out_ch;
  g.scale = c.upscale;
  Builder b{{weights, source, kHint, g}};
  int x = g.input;
  if (c.norm) {
    // (x - mean) * 255 as a 1x1 conv: per channel, so that padding later sees zeros as PyTorch.
    Node n;
    n.type = OpType::conv2d;
    n.name = "normalise";
    n.in_channels = n.out_channels = 3;
    n.kernel = 1;
    n.weight.assign(9, 0.0F);
    for (int i = 0; i < 3; ++i) {
      n.weight[static_cast<std::size_t>(i) * 3 + i] = static_cast<float>(kImgRange);
      n.bias.push_back(static_cast<float>(-kRgbMean[i] * kImgRange));
    }
    n.inputs = {x};
    x = b.add(std::move(n));
  }
  const int feature = b.conv3xc("conv_1", x, c.in_ch, f);
  int out = feature;
  int out_b1 = -1;
  int last_out1 = -1;
  for (int i = 1; i <= c.blocks; ++i) {
    const std::string p = fmt::format("block_{}", i);
    const int in = out;
    const int out1 = b.conv3xc(p + ".c1_r", in, f, f);
    const int a1 = b.unary(OpType::silu, p + ".act1", out1);
    const int out2 = b.conv3xc(p + ".c2_r", a1, f, f);
    const int a2 = b.unary(OpType::silu, p + ".act1", out2);
    const int out3 = b.conv3xc(p + ".c3_r", a2, f, f);
    // sim_att = sigmoid(out3) - 0.5; out = (out3 + x) * sim_att
    const int sig = b.unary(OpType::sigmoid, p + ".sim_att", out3);
    Node centre;
    centre.type = OpType::scale_shift;
    centre.name = p + ".sim_att";
    centre.shift = -0.5F;
    centre.inputs = {sig};
    const int att = b.add(std::move(centre));
    const int sum = b.binary(OpType::add, p + ".residual", out3, in);
    out = b.binary(OpType::mul, p, sum, att);
    if (i == 1) out_b1 = out;
    last_out1 = out1;
  }
  const int last = b.conv3xc("conv_2", out, f, f);
  Node cat;
  cat.type = OpType::concat;
  cat.name = "cat";
  cat.inputs = {feature, last, out_b1, last_out1};
  const int joined = b.add(std::move(cat));
  const int mixed = b.conv("conv_cat", joined, 4 * f, f, 1);
  x = b.conv("upsampler.0", mixed, f, c.out_ch * c.upscale * c.upscale, 3);
  if (c.upscale > 1) {
    Node shuffle;
    shuffle.type = OpType::pixel_shuffle;
    shuffle.name = "upsampler.1";
    shuffle.factor = c.upscale;
    shuffle.inputs = {x};
    x = b.add(std::move(shuffle));
  }
  g.output = x;
  g.receptive_radius = engine::estimate_receptive_radius(g);
  engine::validate(g);
  return g;
}

}  // namespace hires::models
