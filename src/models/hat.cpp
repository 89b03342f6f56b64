#include "models/hat.hpp"

#include <fmt/format.h>

#include <cmath>

#include "models/arch_util.hpp"

namespace hires::models {
namespace {

using engine::Graph;
using engine::Node;
using engine::OpType;

constexpr const char* kHint = "not a HAT checkpoint?";
// HAB adds its convolution branch at this weight (conv_scale in the released code).
constexpr float kConvScale = 0.01F;

std::string ocab_name(int layer) {
  return fmt::format("layers.{}.residual_group.overlap_attn", layer);
}

struct HatBuilder : SwinBuilder {
  const HatConfig& c;

  // CAB: conv, GELU, conv, channel attention (x * sigmoid(conv(relu(conv(mean of x))))), all
  // times kConvScale. The scale is folded into the second conv, and its inverse into the first
  // attention conv (which sees the scaled mean), so no node is added for it.
  int conv_branch(const std::string& prefix, int x) {
    const std::string cab = prefix + ".conv_block.cab";
    const int a = unary(OpType::gelu, cab + ".1", conv(cab + ".0", x, c.embed, c.cab_channels, 3));
    const int y = conv(cab + ".2", a, c.cab_channels, c.embed, 3);
    for (float& w : g.nodes.back().weight) w *= kConvScale;
    for (float& w : g.nodes.back().bias) w *= kConvScale;
    const std::string att = cab + ".3.attention";
    Node pool;
    pool.type = OpType::global_avg_pool;
    pool.name = att + ".0";
    pool.inputs = {y};
    const int mean = add(std::move(pool));
    const int s1 = conv(att + ".1", mean, c.embed, c.squeeze_channels, 1);
    for (float& w : g.nodes.back().weight) w /= kConvScale;
    const int s2 =
        conv(att + ".3", unary(OpType::relu, att + ".2", s1), c.squeeze_channels, c.embed, 1);
    return binary(OpType::mul, cab + ".3", y, unary(OpType::sigmoid, att + ".4", s2));
  }

  // HAB: x + attn(norm1(x)) + 0.01 CAB(norm1(x)), then + mlp(norm2(x)).
  int hybrid_block(const std::string& prefix, int x, int heads, int shift) {
    const int n1 = layer_norm(prefix + ".norm1", x, c.embed);
    const int a = window_attention(prefix + ".attn", n1, c.embed, heads, c.window, shift);
    const int x1 =
        binary(OpType::add, prefix + ".conv_residual",
               binary(OpType::add, prefix + ".attn_residual", x, a), conv_branch(prefix, n1));
    const int n2 = layer_norm(prefix + ".norm2", x1, c.embed);
    return binary(OpType::add, prefix + ".mlp_residual", x1,
                  mlp(prefix + ".mlp", n2, c.embed, c.mlp_hidden));
  }

  // OCAB: x + proj(overlapping attention(qkv(norm1(x)))), then + mlp(norm2(x)).
  int overlap_block(const std::string& prefix, int x, int heads) {
    const int n1 = layer_norm(prefix + ".norm1", x, c.embed);
    const int qkv = linear(prefix + ".qkv", n1, c.embed, 3 * c.embed,
                           static_cast<bool>(weights(prefix + ".qkv.bias")));
    Node n;
    n.type = OpType::overlap_attention;
    n.name = prefix;
    n.heads = heads;
    n.window = c.window;
    n.overlap = c.overlap_window;
    const int head_dim = c.embed / heads;  // PyTorch's dim // heads
    n.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
    const std::int64_t side = c.window + c.overlap_window - 1;
    n.weight = fetch_tensor(weights, source, prefix + ".relative_position_bias_table",
                            {side * side, heads}, hint);
    n.inputs = {qkv};
    const int attended = add(std::move(n));
    const int x1 = binary(OpType::add, prefix + ".attn_residual", x,
                          linear(prefix + ".proj", attended, c.embed, c.embed));
    const int n2 = layer_norm(prefix + ".norm2", x1, c.embed);
    return binary(OpType::add, prefix + ".mlp_residual", x1,
                  mlp(prefix + ".mlp", n2, c.embed, c.mlp_hidden));
  }
};

}  // namespace

std::string hat_variant(const HatConfig& c) {
  const bool same = !c.depths.empty() && c.depths == std::vector<int>(c.depths.size(), 6) &&
                    c.heads == std::vector<int>(c.heads.size(), 6);
  const char* name = "HAT (custom)";
  if (same && c.embed == 144 && c.depths.size() == 6) name = "HAT-S";
  if (same && c.embed == 180 && c.depths.size() == 6) name = "HAT";
  if (same && c.embed == 180 && c.depths.size() == 12) name = "HAT-L";
  return fmt::format("{}, {} dim, {}, window {}, overlap {}", name, c.embed,
                     swin_layers_text(c.depths, c.heads), c.window, c.overlap_window);
}

std::optional<HatConfig> detect_hat(const WeightLookup& weights, const std::string& source) {
  const std::string cab0 = swin_block_name(0, 0) + ".conv_block.cab.0.weight";
  const auto first = weights("conv_first.weight");
  const auto cab = weights(cab0);
  if (!first || !cab) return std::nullopt;
  HatConfig c;
  c.embed = channel_count(*first, 0, "conv_first.weight", source);
  c.in_ch = channel_count(*first, 1, "conv_first.weight", source);
  const SwinLayers layers = detect_swin_layers(weights, source, kHint);
  c.depths = layers.depths;
  c.heads = layers.heads;
  c.window = layers.window;
  c.mlp_hidden = layers.mlp_hidden;
  c.cab_channels = channel_count(*cab, 0, cab0, source);
  const std::string se = swin_block_name(0, 0) + ".conv_block.cab.3.attention.1.weight";
  const auto squeeze = weights(se);
  if (!squeeze) bad_model(source, fmt::format("tensor '{}' is missing", se), kHint);
  c.squeeze_channels = channel_count(*squeeze, 0, se, source);
  const std::string table = ocab_name(0) + ".relative_position_bias_table";
  const auto t = weights(table);
  if (!t || t->shape.size() != 2) {
    bad_model(source, fmt::format("tensor '{}' is missing or not 2-dimensional", table), kHint);
  }
  // (window + key window - 1)^2 rows; the key window is larger by an even number of pixels.
  const auto side =
      static_cast<std::int64_t>(std::lround(std::sqrt(static_cast<double>(t->shape[0]))));
  const std::int64_t keys = side - c.window + 1;
  if (side * side != t->shape[0] || keys < c.window || keys > 128 || (keys - c.window) % 2 != 0) {
    bad_model(source,
              fmt::format("tensor '{}' has {} rows, not (window + key window - 1)^2 for a window "
                          "of {} and a key window larger by an even number up to 128",
                          table, t->shape[0], c.window),
              kHint);
  }
  c.overlap_window = static_cast<int>(keys);
  c.patch_norm = static_cast<bool>(weights("patch_embed.norm.weight"));
  c.tail = detect_swin_tail(weights, c.embed, c.in_ch, source, kHint);
  if (c.tail.upsampler == SwinUpsampler::none && c.tail.out_ch != c.in_ch) {
    bad_model(source,
              fmt::format("tensor 'conv_last.weight' has {} output channels for {} input channels",
                          c.tail.out_ch, c.in_ch),
              "without an upsampler the output is added to the input");
  }
  return c;
}

Graph build_hat(const HatConfig& c, const WeightLookup& weights, const std::string& source) {
  Graph g;
  g.name = source;
  g.in_channels = c.in_ch;
  g.out_channels = c.tail.out_ch;
  g.scale = c.tail.upscale;
  g.tile_align = c.window;
  HatBuilder b{{{weights, source, kHint, g}}, c};
  const int framed = b.frame_input(c.window, 1.0F);
  const int first = b.conv("conv_first", framed, c.in_ch, c.embed, 3);
  int x = c.patch_norm ? b.layer_norm("patch_embed.norm", first, c.embed) : first;
  for (std::size_t i = 0; i < c.depths.size(); ++i) {
    const int layer = static_cast<int>(i);
    const int layer_in = x;
    for (int j = 0; j < c.depths[i]; ++j) {
      const int shift = j % 2 == 0 ? 0 : c.window / 2;
      x = b.hybrid_block(swin_block_name(layer, j), x, c.heads[i], shift);
    }
    x = b.overlap_block(ocab_name(layer), x, c.heads[i]);
    const std::string conv = fmt::format("layers.{}.conv", i);
    x = b.binary(OpType::add, fmt::format("layers.{}", i), layer_in,
                 b.conv(conv, x, c.embed, c.embed, 3));
  }
  x = b.layer_norm("norm", x, c.embed);
  const int body = b.binary(OpType::add, "conv_after_body",
                            b.conv("conv_after_body", x, c.embed, c.embed, 3), first);
  x = b.tail(c.tail, body, framed, c.embed);
  g.output = b.unframe_output(x, 1.0F);
  g.receptive_radius = engine::estimate_receptive_radius(g);
  engine::validate(g);
  return g;
}

}  // namespace hires::models
