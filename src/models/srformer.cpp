#include "models/srformer.hpp"

#include <fmt/format.h>

#include <cmath>

#include "models/arch_util.hpp"
#include "models/srvgg.hpp"  // channel_count

namespace hires::models {
namespace {

using engine::Graph;
using engine::Node;
using engine::OpType;

constexpr const char* kHint = "not an SRFormer checkpoint?";
constexpr int kDwKernel = 5;  // ConvFFN's depth-wise conv

struct SrformerBuilder : SwinBuilder {
  const SrformerConfig& c;

  // PSA: q (C) and kv (C/2) as one projection, the permuted attention, proj.
  int permuted_attention(const std::string& prefix, int x, int heads, int shift) {
    const int dim = c.embed;
    const bool bias = static_cast<bool>(weights(prefix + ".q.bias"));
    const int qkv = linear(prefix + ".q", x, dim, dim, bias);
    Node& merged = g.nodes.back();
    const auto& kv_w = fetch_tensor(weights, source, prefix + ".kv.weight", {dim / 2, dim}, hint);
    merged.weight.insert(merged.weight.end(), kv_w.begin(), kv_w.end());
    if (bias) {
      const auto& kv_b = fetch_tensor(weights, source, prefix + ".kv.bias", {dim / 2}, hint);
      merged.bias.insert(merged.bias.end(), kv_b.begin(), kv_b.end());
    }
    merged.out_channels = dim + dim / 2;
    merged.name = prefix + ".q+kv";
    Node n;
    n.type = OpType::permuted_attention;
    n.name = prefix;
    n.heads = heads;
    n.window = c.window;
    n.window_shift = shift;
    const int head_dim = dim / heads;  // PyTorch's dim // heads
    n.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
    const std::int64_t span = c.window - 1;
    n.weight = fetch_tensor(weights, source, prefix + ".relative_position_bias_table",
                            {span * span, heads}, hint);
    n.inputs = {qkv};
    const int attended = add(std::move(n));
    return linear(prefix + ".proj", attended, dim, dim);
  }

  // ConvFFN: fc1, GELU, h + GELU(depth-wise 5x5 conv of h), fc2.
  int conv_ffn(const std::string& prefix, int x) {
    const int h =
        unary(OpType::gelu, prefix + ".act", linear(prefix + ".fc1", x, c.embed, c.mlp_hidden));
    const std::string dw = prefix + ".dwconv.depthwise_conv";
    const int d =
        unary(OpType::gelu, dw + ".1", depthwise_conv(dw + ".0", h, c.mlp_hidden, kDwKernel));
    const int sum = binary(OpType::add, prefix + ".dwconv_residual", h, d);
    return linear(prefix + ".fc2", sum, c.mlp_hidden, c.embed);
  }

  int block(const std::string& prefix, int x, int heads, int shift) {
    const int a = permuted_attention(prefix + ".attn", layer_norm(prefix + ".norm1", x, c.embed),
                                     heads, shift);
    const int x1 = binary(OpType::add, prefix + ".attn_residual", x, a);
    const int m = conv_ffn(prefix + ".mlp", layer_norm(prefix + ".norm2", x1, c.embed));
    return binary(OpType::add, prefix + ".mlp_residual", x1, m);
  }
};

}  // namespace

std::string srformer_variant(const SrformerConfig& c) {
  return swinir_variant(c);
}

std::optional<SrformerConfig> detect_srformer(const WeightLookup& weights,
                                              const std::string& source) {
  const auto first = weights("conv_first.weight");
  if (!first || !weights(swin_block_name(0, 0) + ".attn.kv.weight")) return std::nullopt;
  SrformerConfig c;
  c.embed = channel_count(*first, 0, "conv_first.weight", source);
  c.in_ch = channel_count(*first, 1, "conv_first.weight", source);
  if (c.embed % 4 != 0) {
    bad_model(source,
              fmt::format("tensor 'conv_first.weight' has {} output channels, not a multiple of "
                          "4 (the permuted attention's 2x2 blocks)",
                          c.embed),
              kHint);
  }
  const SwinLayers layers = detect_swin_layers(weights, source, kHint);
  c.depths = layers.depths;
  c.heads = layers.heads;
  c.window = 2 * layers.window;  // the table is for the half-size window of 2x2 blocks
  c.mlp_hidden = layers.mlp_hidden;
  c.three_conv = !weights("layers.0.conv.weight") && weights("layers.0.conv.0.weight");
  c.patch_norm = static_cast<bool>(weights("patch_embed.norm.weight"));
  const SwinTail tail = detect_swin_tail(weights, c.embed, c.in_ch, source, kHint);
  c.upsampler = tail.upsampler;
  c.upscale = tail.upscale;
  c.num_feat = tail.num_feat;
  c.out_ch = tail.out_ch;
  if (c.upsampler == SwinUpsampler::none && c.out_ch != c.in_ch) {
    bad_model(source,
              fmt::format("tensor 'conv_last.weight' has {} output channels for {} input channels",
                          c.out_ch, c.in_ch),
              "without an upsampler the output is added to the input");
  }
  return c;
}

Graph build_srformer(const SrformerConfig& c, const WeightLookup& weights,
                     const std::string& source) {
  Graph g;
  g.name = source;
  g.in_channels = c.in_ch;
  g.out_channels = c.out_ch;
  g.scale = c.upscale;
  g.tile_align = c.window;
  SrformerBuilder b{{{weights, source, kHint, g}}, c};
  const int framed = b.frame_input(c.window, 1.0F);
  const int first = b.conv("conv_first", framed, c.in_ch, c.embed, 3);
  int x = c.patch_norm ? b.layer_norm("patch_embed.norm", first, c.embed) : first;
  for (std::size_t i = 0; i < c.depths.size(); ++i) {
    const int layer_in = x;
    for (int j = 0; j < c.depths[i]; ++j) {
      const int shift = j % 2 == 0 ? 0 : c.window / 2;
      x = b.block(swin_block_name(static_cast<int>(i), j), x, c.heads[i], shift);
    }
    const std::string conv = fmt::format("layers.{}.conv", i);
    x = b.binary(OpType::add, fmt::format("layers.{}", i), layer_in,
                 b.residual_conv(conv, x, c.embed, c.three_conv));
  }
  x = b.layer_norm("norm", x, c.embed);
  const int body = b.binary(OpType::add, "conv_after_body",
                            b.residual_conv("conv_after_body", x, c.embed, c.three_conv), first);
  x = b.tail({c.upsampler, c.upscale, c.num_feat, c.out_ch}, body, framed, c.embed);
  g.output = b.unframe_output(x, 1.0F);
  g.receptive_radius = engine::estimate_receptive_radius(g);
  engine::validate(g);
  return g;
}

}  // namespace hires::models
