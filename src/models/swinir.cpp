#include "models/swinir.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <algorithm>

#include "models/arch_util.hpp"

namespace hires::models {
namespace {

using engine::Graph;

constexpr const char* kHint = "not a SwinIR checkpoint?";

}  // namespace

std::string swinir_variant(const SwinirConfig& c) {
  const char* kind = "";
  switch (c.upsampler) {
    case SwinUpsampler::pixelshuffle:
      kind = "classical";
      break;
    case SwinUpsampler::pixelshuffledirect:
      kind = "lightweight";
      break;
    case SwinUpsampler::nearest_conv:
      kind = "real-world";
      break;
    case SwinUpsampler::none:
      kind = "restoration (x1)";
      break;
  }
  return fmt::format("{}, {} dim, {}, window {}{}", kind, c.embed,
                     swin_layers_text(c.depths, c.heads), c.window, c.three_conv ? ", 3conv" : "");
}

std::optional<SwinirConfig> detect_swinir(const WeightLookup& weights, const std::string& source) {
  const std::string table0 = swin_block_name(0, 0) + ".attn.relative_position_bias_table";
  const auto first = weights("conv_first.weight");
  if (!first || !weights(table0)) return std::nullopt;
  // HAT (hybrid attention blocks with a conv branch), Swin2SR (cosine attention) and SRFormer
  // (permuted attention: q and kv) share the names above; they are other architectures.
  if (weights(swin_block_name(0, 0) + ".conv_block.cab.0.weight") ||
      weights(swin_block_name(0, 0) + ".attn.logit_scale") ||
      weights(swin_block_name(0, 0) + ".attn.kv.weight")) {
    return std::nullopt;
  }
  if (weights("absolute_pos_embed")) {
    bad_model(source,
              "SwinIR with an absolute position embedding ('absolute_pos_embed') is not "
              "supported",
              "it fixes the input size; no released model uses it");
  }
  SwinirConfig c;
  c.embed = channel_count(*first, 0, "conv_first.weight", source);
  c.in_ch = channel_count(*first, 1, "conv_first.weight", source);
  const SwinLayers layers = detect_swin_layers(weights, source, kHint);
  c.depths = layers.depths;
  c.heads = layers.heads;
  c.window = layers.window;
  c.mlp_hidden = layers.mlp_hidden;
  c.three_conv = !weights("layers.0.conv.weight") && weights("layers.0.conv.0.weight");
  c.patch_norm = static_cast<bool>(weights("patch_embed.norm.weight"));
  const SwinTail tail = detect_swin_tail(weights, c.embed, c.in_ch, source, kHint);
  c.upsampler = tail.upsampler;
  c.upscale = tail.upscale;
  c.num_feat = tail.num_feat;
  c.out_ch = tail.out_ch;
  return c;
}

Graph build_swinir(const SwinirConfig& c, const WeightLookup& weights, const std::string& source) {
  Graph g;
  g.name = source;
  g.in_channels = c.in_ch;
  g.out_channels = c.out_ch;
  g.scale = c.upscale;
  g.tile_align = c.window;
  if (c.upsampler == SwinUpsampler::none && c.out_ch != c.in_ch) {
    bad_model(source,
              fmt::format("tensor 'conv_last.weight' has {} output channels for {} input channels",
                          c.out_ch, c.in_ch),
              "SwinIR without an upsampler adds its output to its input");
  }
  SwinBuilder b{{weights, source, kHint, g}};
  const int framed = b.frame_input(c.window, 1.0F);
  const int first = b.conv("conv_first", framed, c.in_ch, c.embed, 3);
  int x = c.patch_norm ? b.layer_norm("patch_embed.norm", first, c.embed) : first;
  for (std::size_t i = 0; i < c.depths.size(); ++i) {
    const int layer_in = x;
    for (int j = 0; j < c.depths[i]; ++j) {
      const int shift = j % 2 == 0 ? 0 : c.window / 2;
      x = b.swin_block(swin_block_name(static_cast<int>(i), j), x, c.embed, c.heads[i], c.window,
                       shift, c.mlp_hidden);
    }
    const std::string conv = fmt::format("layers.{}.conv", i);
    x = b.binary(engine::OpType::add, fmt::format("layers.{}", i), layer_in,
                 b.residual_conv(conv, x, c.embed, c.three_conv));
  }
  x = b.layer_norm("norm", x, c.embed);
  const int body = b.binary(engine::OpType::add, "conv_after_body",
                            b.residual_conv("conv_after_body", x, c.embed, c.three_conv), first);
  x = b.tail({c.upsampler, c.upscale, c.num_feat, c.out_ch}, body, framed, c.embed);
  g.output = b.unframe_output(x, 1.0F);
  g.receptive_radius = engine::estimate_receptive_radius(g);
  engine::validate(g);
  return g;
}

}  // namespace hires::models
