#include "models/mosr.hpp"

#include <fmt/format.h>

#include <cmath>

#include "models/srvgg.hpp"  // channel_count

namespace hires::models {
namespace {

using engine::Graph;
using engine::Node;
using engine::OpType;

constexpr const char* kHint = "not a MoSR checkpoint?";
constexpr int kEnsemble = 8;  // the 'gps' upsampler averages this many convolutions
constexpr int kTail = 5;      // conv, Mish, conv, Mish, conv after the blocks

std::string gblock(int i) {
  return fmt::format("gblocks.{}", i);
}

struct MosrBuilder : GraphBuilder {
  const MosrConfig& c;

  int minus_half(const std::string& name, int x) { return scale_shift(name, x, 1.0F, -0.5F); }

  int mish(const std::string& name, int x) { return unary(OpType::mish, name, x); }

  // Output channels [begin, begin + count) of the block's fc1 (a 3x3 conv) as a conv of its own.
  int fc1_rows(const std::string& p, int x, int begin, int count, const std::string& part) {
    const auto& w = fetch_tensor(weights, source, p + ".fc1.weight",
                                 {std::int64_t{2} * c.hidden, c.dim, 3, 3}, hint);
    const auto& b =
        fetch_tensor(weights, source, p + ".fc1.bias", {std::int64_t{2} * c.hidden}, hint);
    Node n;
    n.type = OpType::conv2d;
    n.name = p + ".fc1." + part;
    n.in_channels = c.dim;
    n.out_channels = count;
    n.kernel = 3;
    n.padding = 1;
    const std::size_t per = static_cast<std::size_t>(c.dim) * 9;
    n.weight.assign(w.begin() + static_cast<std::ptrdiff_t>(begin * per),
                    w.begin() + static_cast<std::ptrdiff_t>((begin + count) * per));
    n.bias.assign(b.begin() + begin, b.begin() + begin + count);
    n.inputs = {x};
    return add(std::move(n));
  }

  // The gated CNN block: x + mish(fc2(mish(g) * [i, conv(c)])) - 0.5.
  int gated_block(const std::string& p, int x) {
    const int n = layer_norm(p + ".norm", x, c.dim);
    g.nodes.back().eps = 1e-6F;
    // fc1's three parts as three convolutions (its rows split at load): no slices of a
    // 2 x hidden-channel output.
    const int gate = mish(p + ".act", fc1_rows(p, n, 0, c.hidden, "g"));
    const int part = fc1_rows(p, n, 2 * c.hidden - c.conv_channels, c.conv_channels, "c");
    int mixed = depthwise_conv(p + ".conv", part, c.conv_channels, c.kernel);
    if (c.conv_channels < c.hidden) {
      const int ident = fc1_rows(p, n, c.hidden, c.hidden - c.conv_channels, "i");
      mixed = concat(p + ".cat", {ident, mixed});
    }
    const int y = mish(p + ".act2", conv(p + ".fc2", binary(OpType::mul, p + ".gate", gate, mixed),
                                         c.hidden, c.dim, 3));
    return minus_half(p + ".shift", binary(OpType::add, p + ".residual", y, x));
  }

  // The upsampler; 'gps' averages 8 convolutions' outputs: one conv with their mean weights;
  // 'dys' is DySample (4 groups, a 1x1 end conv to the image channels).
  int upsampler(int x) {
    if (c.dysample) return dysample("upsampler", x, c.dim, c.out_ch, c.upscale, 4, true);
    const int out = c.out_ch * c.upscale * c.upscale;
    int y = 0;
    if (c.geo_ensemble) {
      const auto& w = fetch_tensor(weights, source, "upsampler.in_to_k.weight",
                                   {std::int64_t{kEnsemble} * out, c.dim, 3, 3}, hint);
      const auto& b = fetch_tensor(weights, source, "upsampler.in_to_k.bias",
                                   {std::int64_t{kEnsemble} * out}, hint);
      Node n;
      n.type = OpType::conv2d;
      n.name = "upsampler.in_to_k";
      n.in_channels = c.dim;
      n.out_channels = out;
      n.kernel = 3;
      n.padding = 1;
      const std::size_t per = static_cast<std::size_t>(out) * c.dim * 9;
      n.weight.assign(per, 0.0F);
      n.bias.assign(static_cast<std::size_t>(out), 0.0F);
      for (int e = 0; e < kEnsemble; ++e) {
        for (std::size_t i = 0; i < per; ++i) n.weight[i] += w[e * per + i] / kEnsemble;
        for (int o = 0; o < out; ++o)
          n.bias[o] += b[static_cast<std::size_t>(e) * out + o] / kEnsemble;
      }
      n.inputs = {x};
      y = add(std::move(n));
    } else {
      y = conv("upsampler.0", x, c.dim, out, 3);
    }
    return pixel_shuffle("upsampler.ps", y, c.upscale);
  }
};

}  // namespace

std::string mosr_variant(const MosrConfig& c) {
  return fmt::format(
      "{} dim, {} block{}, {}x{}, expansion {:g}{}, {}", c.dim, c.blocks, c.blocks == 1 ? "" : "s",
      c.kernel, c.kernel, static_cast<double>(c.hidden) / c.dim,
      c.conv_channels == c.dim
          ? ""
          : fmt::format(", conv ratio {:g}", static_cast<double>(c.conv_channels) / c.dim),
      c.dysample ? "dys" : (c.geo_ensemble ? "gps" : "ps"));
}

std::optional<MosrConfig> detect_mosr(const WeightLookup& weights, const std::string& source) {
  const auto first = weights("gblocks.0.weight");
  const auto fc1 = weights("gblocks.1.fc1.weight");
  if (!first || !fc1) return std::nullopt;
  MosrConfig c;
  c.dim = channel_count(*first, 0, "gblocks.0.weight", source);
  c.in_ch = channel_count(*first, 1, "gblocks.0.weight", source);
  const int doubled = channel_count(*fc1, 0, "gblocks.1.fc1.weight", source);
  if (doubled % 2 != 0) {
    bad_model(source,
              fmt::format("tensor 'gblocks.1.fc1.weight' has {} output channels, not 2 x hidden",
                          doubled),
              kHint);
  }
  c.hidden = doubled / 2;
  const auto dw = weights("gblocks.1.conv.weight");
  if (!dw || dw->shape.size() != 4 || dw->shape[2] != dw->shape[3] || dw->shape[2] % 2 == 0) {
    bad_model(source, "tensor 'gblocks.1.conv.weight' is missing or not an odd square kernel",
              kHint);
  }
  c.conv_channels = channel_count(*dw, 0, "gblocks.1.conv.weight", source);
  c.kernel = static_cast<int>(dw->shape[2]);
  if (c.conv_channels > c.hidden) {
    bad_model(source,
              fmt::format("tensor 'gblocks.1.conv.weight' has {} channels, more than the {} "
                          "hidden ones",
                          c.conv_channels, c.hidden),
              kHint);
  }
  c.blocks = 0;
  while (weights(gblock(c.blocks + 1) + ".fc1.weight")) ++c.blocks;
  if (weights("upsampler.init_pos")) {
    // DySample: offsets of 2 x 4 groups x scale^2 channels, a 1x1 end conv to the image.
    c.dysample = true;
    const auto offset = weights("upsampler.offset.weight");
    const auto end = weights("upsampler.end_conv.weight");
    if (!offset || !end) {
      bad_model(source,
                fmt::format("tensor '{}' is missing",
                            offset ? "upsampler.end_conv.weight" : "upsampler.offset.weight"),
                kHint);
    }
    c.out_ch = channel_count(*end, 0, "upsampler.end_conv.weight", source);
    const int channels = channel_count(*offset, 0, "upsampler.offset.weight", source);
    const int s = static_cast<int>(std::lround(std::sqrt(channels / 8.0)));
    if (s < 1 || s > 8 || 8 * s * s != channels) {
      bad_model(source,
                fmt::format("tensor 'upsampler.offset.weight' has {} output channels: not 8 x "
                            "scale^2 for a scale of 1 to 8",
                            channels),
                kHint);
    }
    c.upscale = s;
    return c;
  }
  c.geo_ensemble = static_cast<bool>(weights("upsampler.in_to_k.weight"));
  const std::string up = c.geo_ensemble ? "upsampler.in_to_k.weight" : "upsampler.0.weight";
  const auto u = weights(up);
  if (!u) bad_model(source, fmt::format("tensor '{}' is missing", up), kHint);
  const int out = channel_count(*u, 0, up, source) / (c.geo_ensemble ? kEnsemble : 1);
  c.out_ch = c.in_ch;
  const int s = static_cast<int>(std::lround(std::sqrt(static_cast<double>(out) / c.out_ch)));
  if (s < 1 || s > 8 || s * s * c.out_ch != out) {
    bad_model(source,
              fmt::format("tensor '{}' has {} output channels: no scale 1 to 8 for {} image "
                          "channels",
                          up, channel_count(*u, 0, up, source), c.out_ch),
              kHint);
  }
  c.upscale = s;
  return c;
}

Graph build_mosr(const MosrConfig& c, const WeightLookup& weights, const std::string& source) {
  Graph g;
  g.name = source;
  g.in_channels = c.in_ch;
  g.out_channels = c.out_ch;
  g.scale = c.upscale;
  MosrBuilder b{{weights, source, kHint, g}, c};
  int x = b.conv("gblocks.0", g.input, c.in_ch, c.dim, 3);
  for (int i = 1; i <= c.blocks; ++i) x = b.gated_block(gblock(i), x);
  const int t = c.blocks + 1;
  x = b.mish(gblock(t + 1), b.conv(gblock(t), x, c.dim, 2 * c.dim, 3));
  x = b.mish(gblock(t + 3), b.conv(gblock(t + 2), x, 2 * c.dim, c.dim, 3));
  x = b.conv(gblock(t + kTail - 1), x, c.dim, c.dim, 1);
  // ConvBlock: mish(conv(mish(conv(image)))) + conv11(image).
  const int s1 = b.mish("shortcut.block.1", b.conv("shortcut.block.0", g.input, c.in_ch, c.dim, 3));
  const int s2 = b.mish("shortcut.block.3", b.conv("shortcut.block.2", s1, c.dim, c.dim, 3));
  const int shortcut =
      b.binary(OpType::add, "shortcut", s2, b.conv("shortcut.conv11", g.input, c.in_ch, c.dim, 1));
  x = b.minus_half("shortcut.shift", b.binary(OpType::add, "gblocks", x, shortcut));
  g.output = b.upsampler(x);
  g.receptive_radius = engine::estimate_receptive_radius(g);
  engine::validate(g);
  return g;
}

}  // namespace hires::models
