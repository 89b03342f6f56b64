#include "models/rgt.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "models/arch_util.hpp"
#include "models/dat_common.hpp"
#include "models/srvgg.hpp"  // channel_count

namespace hires::models {
namespace {

using engine::Graph;
using engine::Node;
using engine::OpType;

constexpr const char* kHint = "not an RGT checkpoint?";
// RG-SA reduces at least this many times (the released code's minimum at inference), and needs
// this many pixels a side for it.
constexpr int kMinReductions = 2;

struct RgtBuilder : RectBuilder {
  const RgtConfig& c;

  bool has_bias(const std::string& linear_name) {
    return static_cast<bool>(weights(linear_name + ".bias"));
  }

  // L-SA: the rectangle windows' attention plus get_v (a depth-wise 3x3 conv of v), then proj.
  int local_attention(const std::string& p, int x, int heads, bool shift) {
    const Attended a = rectangle_attention(p, x, c.embed, heads, {c.split_h, c.split_w}, shift);
    const int lcm = depthwise_conv(p + ".get_v", a.v, c.embed, 3);
    return linear(p + ".proj", binary(OpType::add, p + ".lcm", a.attended, lcm), c.embed, c.embed);
  }

  // RG-SA: every pixel's query against the recursively reduced image's tokens.
  int global_attention(const std::string& p, int x, int heads) {
    const int dim = c.embed;
    const int cr = c.reduced;
    const int k = c.reduction;
    Node red;
    red.type = OpType::recursive_reduction;
    red.name = p + ".reduction1";
    red.kernel = k;
    red.count = kMinReductions;
    red.weight = fetch_tensor(weights, source, p + ".reduction1.weight", {dim, 1, k, k}, hint);
    red.bias = fetch_tensor(weights, source, p + ".reduction1.bias", {dim}, hint);
    red.inputs = {x};
    int t = depthwise_conv(p + ".dwconv", add(std::move(red)), dim, 3);
    t = conv(p + ".conv", t, dim, cr, 1);
    t = unary(OpType::gelu, p + ".norm_act.1", layer_norm(p + ".norm_act.0", t, cr));
    const int q = linear(p + ".q", x, dim, cr, has_bias(p + ".q"));
    const int key = linear(p + ".k", t, cr, cr, has_bias(p + ".k"));
    const int v = linear(p + ".v", t, cr, dim, has_bias(p + ".v"));
    const int cpe =
        binary(OpType::add, p + ".cpe_residual", v, depthwise_conv(p + ".cpe", v, dim, 3));
    Node n;
    n.type = OpType::token_attention;
    n.name = p;
    n.heads = heads;
    // The released scale: (dim // heads x c_ratio)^-0.5, c_ratio = reduced / dim.
    const int whole_head = dim / heads;  // PyTorch's dim // heads
    const double head_dim = static_cast<double>(whole_head) * cr / dim;
    n.scale = static_cast<float>(1.0 / std::sqrt(head_dim));
    n.inputs = {q, concat(p + ".kv", {key, cpe})};
    return linear(p + ".proj", add(std::move(n)), dim, dim);
  }

  int block(int layer, int index, int x) {
    const std::string p = rect_block_name(layer, index);
    const int heads = c.heads[static_cast<std::size_t>(layer)];
    const int n1 = layer_norm(p + ".norm1", x, c.embed);
    const int a = index % 2 == 0
                      ? local_attention(p + ".attn", n1, heads, rect_window_shifted(layer, index))
                      : global_attention(p + ".attn", n1, heads);
    const int x1 = binary(OpType::add, p + ".attn_residual", x, a);
    const int n2 = layer_norm(p + ".norm2", x1, c.embed);
    const int x2 =
        binary(OpType::add, p + ".mlp_residual", x1, sgfn(p + ".mlp", n2, c.embed, c.mlp_hidden));
    // Layer scale: + gamma x the block's input.
    const auto& gamma = fetch_tensor(weights, source, p + ".gamma", {c.embed}, hint);
    const int scaled = channel_affine(p + ".gamma", x, gamma,
                                      std::vector<float>(static_cast<std::size_t>(c.embed), 0.0F));
    return binary(OpType::add, p, x2, scaled);
  }
};

}  // namespace

std::string rgt_variant(const RgtConfig& c) {
  const bool six = std::all_of(c.depths.begin(), c.depths.end(), [](int d) { return d == 6; }) &&
                   c.heads == std::vector<int>(c.heads.size(), 6);
  const bool released = six && c.embed == 180 && c.split_h == 8 && c.split_w == 32 &&
                        c.mlp_hidden == 360 && c.reduced == 90 && !c.three_conv;
  const char* name = "RGT (custom)";
  if (released && c.depths.size() == 8) name = "RGT";
  if (released && c.depths.size() == 6) name = "RGT-S";
  return fmt::format("{}, {} dim, {}, split {}x{}, mlp {:g}, c_ratio {:g}{}", name, c.embed,
                     swin_layers_text(c.depths, c.heads), c.split_h, c.split_w,
                     static_cast<double>(c.mlp_hidden) / c.embed,
                     static_cast<double>(c.reduced) / c.embed, c.three_conv ? ", 3conv" : "");
}

std::optional<RgtConfig> detect_rgt(const WeightLookup& weights, const std::string& source) {
  const auto first = weights("conv_first.weight");
  const std::string red = rect_block_name(0, 1) + ".attn.reduction1.weight";
  if (!first || !weights("before_RG.1.weight") || !weights(red)) return std::nullopt;
  RgtConfig c;
  c.embed = channel_count(*first, 0, "conv_first.weight", source);
  c.in_ch = channel_count(*first, 1, "conv_first.weight", source);
  if (c.embed < 16 || c.embed % 2 != 0) {
    bad_model(source,
              fmt::format("tensor 'conv_first.weight' has {} output channels, expected an even "
                          "number of at least 16",
                          c.embed),
              kHint);
  }
  RectGroups groups = detect_rect_groups(weights, c.embed, source, kHint);
  c.depths = std::move(groups.depths);
  c.heads = std::move(groups.heads);
  const RectSplit split =
      detect_rect_split(weights, rect_block_name(0, 0) + ".attn", source, kHint);
  c.split_h = split.h;
  c.split_w = split.w;
  const auto r = weights(red);
  if (r->shape.size() != 4 || r->shape[2] != r->shape[3] || r->shape[2] < 2 || r->shape[2] > 8) {
    bad_model(source, fmt::format("tensor '{}' is not a square kernel of 2 to 8", red), kHint);
  }
  c.reduction = static_cast<int>(r->shape[2]);
  const std::string conv = rect_block_name(0, 1) + ".attn.conv.weight";
  const auto cw = weights(conv);
  if (!cw) bad_model(source, fmt::format("tensor '{}' is missing", conv), kHint);
  c.reduced = channel_count(*cw, 0, conv, source);
  for (const int heads : c.heads) {
    if (c.reduced % heads != 0) {
      bad_model(source,
                fmt::format("tensor '{}' has {} output channels, which {} heads do not divide",
                            conv, c.reduced, heads),
                kHint);
    }
  }
  const std::string fc1 = rect_block_name(0, 0) + ".mlp.fc1.weight";
  const auto hidden = weights(fc1);
  if (!hidden) bad_model(source, fmt::format("tensor '{}' is missing", fc1), kHint);
  c.mlp_hidden = channel_count(*hidden, 0, fc1, source);
  if (c.mlp_hidden % 2 != 0) {
    bad_model(source, fmt::format("tensor '{}' has an odd number of rows", fc1), kHint);
  }
  c.three_conv = static_cast<bool>(weights("conv_after_body.0.weight"));
  c.tail = detect_swin_tail(weights, c.embed, c.in_ch, source, kHint);
  if (c.tail.upsampler != SwinUpsampler::pixelshuffle) {
    bad_model(source, "tensor 'conv_before_upsample.0.weight' is missing", kHint);
  }
  return c;
}

Graph build_rgt(const RgtConfig& c, const WeightLookup& weights, const std::string& source) {
  Graph g;
  g.name = source;
  g.in_channels = c.in_ch;
  g.out_channels = c.tail.out_ch;
  g.scale = c.tail.upscale;
  g.tile_align = std::lcm(c.split_h, c.split_w);
  RgtBuilder b{{{{weights, source, kHint, g}}}, c};
  // RG-SA reduces the image by reduction^2 at least: smaller images are reflected up to that and
  // cropped back (PyTorch refuses them).
  const int framed = b.frame_input(1, 1.0F, c.reduction * c.reduction);
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
