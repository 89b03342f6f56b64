#include "models/dat.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "models/arch_util.hpp"
#include "models/dat_common.hpp"

namespace hires::models {
namespace {

using engine::Graph;
using engine::Node;
using engine::OpType;

constexpr const char* kHint = "not a DAT checkpoint?";

struct DatBuilder : RectBuilder {
  const DatConfig& c;

  // The convolution branch: depth-wise 3x3, BatchNorm, GELU.
  int conv_branch(const std::string& p, int v) {
    const int d = depthwise_conv(p + ".dwconv.0", v, c.embed, 3);
    fold_batch_norm(p + ".dwconv.1");
    return unary(OpType::gelu, p + ".dwconv.2", d);
  }

  // The channel map: sigmoid(conv(GELU(BN(conv(mean of x))))), [C, 1, 1].
  int channel_map(const std::string& p, int x) {
    const std::string ci = p + ".channel_interaction";
    const int squeezed = c.embed / 8;  // PyTorch's dim // 8
    const int mean = unary(OpType::global_avg_pool, ci + ".0", x);
    const int a = conv(ci + ".1", mean, c.embed, squeezed, 1);
    fold_batch_norm(ci + ".2");
    const int m = conv(ci + ".4", unary(OpType::gelu, ci + ".3", a), squeezed, c.embed, 1);
    return unary(OpType::sigmoid, ci, m);
  }

  // The spatial map: sigmoid(conv(GELU(BN(conv(x))))), one value per pixel. Its last conv is
  // repeated over the C channels, so that the gate is an elementwise product.
  int spatial_map(const std::string& p, int x) {
    const std::string si = p + ".spatial_interaction";
    const int squeezed = c.embed / 16;  // PyTorch's dim // 16
    const int a = conv(si + ".0", x, c.embed, squeezed, 1);
    fold_batch_norm(si + ".1");
    const int m = conv(si + ".3", unary(OpType::gelu, si + ".2", a), squeezed, 1, 1);
    Node& one = g.nodes.back();
    const std::vector<float> w = one.weight;
    const float b = one.bias.at(0);
    one.out_channels = c.embed;
    one.weight.clear();
    for (int i = 0; i < c.embed; ++i) one.weight.insert(one.weight.end(), w.begin(), w.end());
    one.bias.assign(static_cast<std::size_t>(c.embed), b);
    return unary(OpType::sigmoid, si, m);
  }

  // Adaptive interaction and the output projection: attention * channel or spatial map of the
  // conv branch, conv branch * the other map of the attention, summed, then `p`.proj.
  int interact(const std::string& p, int attended, int conv_x, bool spatial_block) {
    int a = 0;
    int v = 0;
    if (spatial_block) {  // C-map from the conv branch, S-map from the attention
      a = binary(OpType::mul, p + ".ci", attended, channel_map(p, conv_x));
      v = binary(OpType::mul, p + ".si", conv_x, spatial_map(p, attended));
    } else {  // S-map from the conv branch, C-map from the attention
      a = binary(OpType::mul, p + ".si", attended, spatial_map(p, conv_x));
      v = binary(OpType::mul, p + ".ci", conv_x, channel_map(p, attended));
    }
    return linear(p + ".proj", binary(OpType::add, p + ".aim", a, v), c.embed, c.embed);
  }

  // Adaptive spatial attention: the rectangle windows' attention and the conv branch.
  int spatial_attention(const std::string& p, int x, int heads, bool shift) {
    const Attended a = rectangle_attention(p, x, c.embed, heads, {c.split_h, c.split_w}, shift);
    return interact(p, a.attended, conv_branch(p, a.v), true);
  }

  // Adaptive channel attention: heads of channels attending to channels over the whole image.
  int channel_attention(const std::string& p, int x, int heads) {
    const int dim = c.embed;
    const int qkv =
        linear(p + ".qkv", x, dim, 3 * dim, static_cast<bool>(weights(p + ".qkv.bias")));
    Node gram;
    gram.type = OpType::channel_gram;
    gram.name = p + ".gram";
    gram.heads = heads;
    gram.inputs = {qkv};
    Node n;
    n.type = OpType::channel_attention;
    n.name = p;
    n.heads = heads;
    n.weight = fetch_tensor(weights, source, p + ".temperature", {heads, 1, 1}, hint);
    n.inputs = {qkv, add(std::move(gram))};
    const int attended = add(std::move(n));
    const int v = slice(p + ".v", qkv, 2 * dim, dim);
    return interact(p, attended, conv_branch(p, v), false);
  }

  int block(int layer, int index, int x) {
    const std::string p = rect_block_name(layer, index);
    const int heads = c.heads[static_cast<std::size_t>(layer)];
    const int n1 = layer_norm(p + ".norm1", x, c.embed);
    const int a = index % 2 == 0
                      ? spatial_attention(p + ".attn", n1, heads, rect_window_shifted(layer, index))
                      : channel_attention(p + ".attn", n1, heads);
    const int x1 = binary(OpType::add, p + ".attn_residual", x, a);
    const int n2 = layer_norm(p + ".norm2", x1, c.embed);
    return binary(OpType::add, p + ".ffn_residual", x1,
                  sgfn(p + ".ffn", n2, c.embed, c.ffn_hidden));
  }
};

}  // namespace

std::string dat_variant(const DatConfig& c) {
  const bool six = c.depths == std::vector<int>(6, 6) && c.heads == std::vector<int>(6, 6);
  const int expansion = c.ffn_hidden / std::max(1, c.embed);
  const bool ps = c.tail.upsampler == SwinUpsampler::pixelshuffle;
  const char* name = "DAT (custom)";
  if (six && c.embed == 180 && ps && c.split_h == 8 && c.split_w == 32) {
    if (c.ffn_hidden == 4 * c.embed) name = "DAT";
    if (c.ffn_hidden == 2 * c.embed) name = "DAT-2";
  }
  if (six && c.embed == 180 && ps && c.split_h == 8 && c.split_w == 16 &&
      c.ffn_hidden == 2 * c.embed) {
    name = "DAT-S";
  }
  if (c.embed == 60 && c.depths == std::vector<int>{18} && c.heads == std::vector<int>{6} &&
      c.tail.upsampler == SwinUpsampler::pixelshuffledirect && c.three_conv) {
    name = "DAT-light";
  }
  return fmt::format("{}, {} dim, {}, split {}x{}, expansion {}{}", name, c.embed,
                     swin_layers_text(c.depths, c.heads), c.split_h, c.split_w, expansion,
                     c.three_conv ? ", 3conv" : "");
}

std::optional<DatConfig> detect_dat(const WeightLookup& weights, const std::string& source) {
  const auto first = weights("conv_first.weight");
  if (!first || !weights("before_RG.1.weight") ||
      !weights(rect_block_name(0, 0) + ".norm1.weight")) {
    return std::nullopt;
  }
  // RGT shares DAT's frame and names; its odd blocks reduce the image (rgt.cpp).
  if (weights(rect_block_name(0, 1) + ".attn.reduction1.weight")) return std::nullopt;
  DatConfig c;
  c.embed = channel_count(*first, 0, "conv_first.weight", source);
  c.in_ch = channel_count(*first, 1, "conv_first.weight", source);
  RectGroups groups = detect_rect_groups(weights, c.embed, source, kHint);
  c.depths = std::move(groups.depths);
  c.heads = std::move(groups.heads);
  if (c.embed < 16 || c.embed % 2 != 0) {
    bad_model(source,
              fmt::format("tensor 'conv_first.weight' has {} output channels, expected an even "
                          "number of at least 16",
                          c.embed),
              kHint);
  }
  const RectSplit split =
      detect_rect_split(weights, rect_block_name(0, 0) + ".attn", source, kHint);
  c.split_h = split.h;
  c.split_w = split.w;
  const std::string fc1 = rect_block_name(0, 0) + ".ffn.fc1.weight";
  const auto hidden = weights(fc1);
  if (!hidden) bad_model(source, fmt::format("tensor '{}' is missing", fc1), kHint);
  c.ffn_hidden = channel_count(*hidden, 0, fc1, source);
  if (c.ffn_hidden % 2 != 0) {
    bad_model(source, fmt::format("tensor '{}' has an odd number of rows", fc1), kHint);
  }
  c.three_conv = static_cast<bool>(weights("conv_after_body.0.weight"));
  c.tail = detect_swin_tail(weights, c.embed, c.in_ch, source, kHint);
  if (c.tail.upsampler != SwinUpsampler::pixelshuffle &&
      c.tail.upsampler != SwinUpsampler::pixelshuffledirect) {
    bad_model(source, "tensor 'upsample.0.weight' is missing", kHint);
  }
  return c;
}

Graph build_dat(const DatConfig& c, const WeightLookup& weights, const std::string& source) {
  Graph g;
  g.name = source;
  g.in_channels = c.in_ch;
  g.out_channels = c.tail.out_ch;
  g.scale = c.tail.upscale;
  // A tile's windows (both shapes) and its padding to the larger split must be the image's.
  g.tile_align = std::lcm(c.split_h, c.split_w);
  DatBuilder b{{{{weights, source, kHint, g}}}, c};
  const int framed = b.frame_input(1, 1.0F);  // DAT pads inside its attention, not the image
  const int first = b.conv("conv_first", framed, c.in_ch, c.embed, 3);
  const int body = b.groups_body(
      b.layer_norm("before_RG.1", first, c.embed), first, c.embed, c.depths, c.three_conv,
      [&](int layer, int index, int x) { return b.block(layer, index, x); });
  const int x = b.tail(c.tail, body, framed, c.embed);
  g.output = b.unframe_output(x, 1.0F);
  g.receptive_radius = engine::estimate_receptive_radius(g);
  engine::validate(g);
  return g;
}

}  // namespace hires::models
