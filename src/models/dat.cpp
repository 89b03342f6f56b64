#include "models/dat.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "models/arch_util.hpp"

namespace hires::models {
namespace {

using engine::Graph;
using engine::Node;
using engine::OpType;

constexpr const char* kHint = "not a DAT checkpoint?";

std::string block_name(int layer, int block) {
  return fmt::format("layers.{}.blocks.{}", layer, block);
}

// The released code shifts the spatial windows of blocks 2, 6, 10, ... in even groups and of
// blocks 0, 4, 8, ... in odd ones, by half a window.
bool shifted(int layer, int block) {
  return (layer % 2 == 0 && block > 0 && (block - 2) % 4 == 0) ||
         (layer % 2 != 0 && block % 4 == 0);
}

// LayerNorm (eps 1e-5) then ReLU, in place, over one row of `v`.
void norm_relu(std::vector<double>& v, const std::vector<float>& w, const std::vector<float>& b) {
  double mean = 0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  double var = 0;
  for (double x : v) var += (x - mean) * (x - mean);
  const double inv = 1.0 / std::sqrt(var / static_cast<double>(v.size()) + 1e-5);
  for (std::size_t i = 0; i < v.size(); ++i)
    v[i] = std::max(0.0, (v[i] - mean) * inv * w[i] + b[i]);
}

// y = W x + b for a PyTorch Linear [out, in].
std::vector<double> affine(const std::vector<float>& w, const std::vector<float>& b,
                           const std::vector<double>& x) {
  std::vector<double> y(b.size());
  for (std::size_t o = 0; o < y.size(); ++o) {
    double acc = b[o];
    for (std::size_t i = 0; i < x.size(); ++i) acc += w[o * x.size() + i] * x[i];
    y[o] = acc;
  }
  return y;
}

struct DatBuilder : SwinBuilder {
  const DatConfig& c;

  // DAT's dynamic position bias: an MLP (pos_proj, then three of LayerNorm, ReLU, Linear) maps
  // each relative offset (dy, dx) of a `wh` x `ww` window, the rows of `prefix`.rpe_biases, to
  // one bias per head. Evaluated here once: the table window_attention indexes.
  std::vector<float> position_bias(const std::string& prefix, int wh, int ww, int heads) {
    const std::int64_t rows = static_cast<std::int64_t>(2 * wh - 1) * (2 * ww - 1);
    const auto& offsets = fetch_tensor(weights, source, prefix + ".rpe_biases", {rows, 2}, hint);
    const std::string proj = prefix + ".pos.pos_proj";
    const auto p = weights(proj + ".weight");
    if (!p || p->shape.size() != 2 || p->shape[1] != 2 || p->shape[0] < 1 || p->shape[0] > 4096) {
      bad_model(source, fmt::format("tensor '{}.weight' is missing or not [dim, 2]", proj), hint);
    }
    const std::int64_t pd = p->shape[0];
    const auto t = [&](const std::string& name, const std::vector<std::int64_t>& shape) {
      return fetch_tensor(weights, source, prefix + ".pos." + name, shape, hint);
    };
    const auto& pw = t("pos_proj.weight", {pd, 2});
    const auto& pb = t("pos_proj.bias", {pd});
    std::vector<float> table(static_cast<std::size_t>(rows) * heads);
    for (std::int64_t r = 0; r < rows; ++r) {
      std::vector<double> v = affine(pw, pb, {offsets[2 * r], offsets[2 * r + 1]});
      for (int stage = 1; stage <= 3; ++stage) {
        const std::string s = fmt::format("pos{}", stage);
        const std::int64_t out = stage == 3 ? heads : pd;
        norm_relu(v, t(s + ".0.weight", {pd}), t(s + ".0.bias", {pd}));
        v = affine(t(s + ".2.weight", {out, pd}), t(s + ".2.bias", {out}), v);
      }
      for (int h = 0; h < heads; ++h) table[r * heads + h] = static_cast<float>(v[h]);
    }
    return table;
  }

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

  // Adaptive spatial attention: half the heads on split_h x split_w windows, half on
  // split_w x split_h ones, on q, k and v zero-padded to a multiple of the larger split.
  int spatial_attention(const std::string& p, int x, int heads, bool shift) {
    const int dim = c.embed;
    const int half = dim / 2;
    const int qkv =
        linear(p + ".qkv", x, dim, 3 * dim, static_cast<bool>(weights(p + ".qkv.bias")));
    // Reorder the projection's rows from [q k v] to [q0 k0 v0 q1 k1 v1] (0, 1: the halves of
    // the channels each window shape takes), so that each branch is one slice.
    Node& lin = g.nodes.back();
    const std::vector<float> w = lin.weight;
    const std::vector<float> b = lin.bias;
    for (int branch = 0; branch < 2; ++branch)
      for (int part = 0; part < 3; ++part)
        for (int i = 0; i < half; ++i) {
          const std::size_t from =
              static_cast<std::size_t>(part) * dim + static_cast<std::size_t>(branch) * half + i;
          const std::size_t to = static_cast<std::size_t>(branch * 3 + part) * half + i;
          std::copy_n(&w[from * dim], dim, &lin.weight[to * dim]);
          if (!b.empty()) lin.bias[to] = b[from];
        }
    const int v = concat(
        p + ".v", {slice(p + ".v0", qkv, 2 * half, half), slice(p + ".v1", qkv, 5 * half, half)});
    const int max_split = std::max(c.split_h, c.split_w);
    std::vector<int> parts;
    for (int branch = 0; branch < 2; ++branch) {
      const std::string a = fmt::format("{}.attns.{}", p, branch);
      Node pad;
      pad.type = OpType::pad_to_multiple;
      pad.name = a + ".pad";
      pad.factor = max_split;
      pad.pad_mode = engine::PadMode::zero;
      pad.inputs = {slice(a + ".qkv", qkv, branch * 3 * half, 3 * half)};
      Node n;
      n.type = OpType::window_attention;
      n.name = a;
      n.heads = heads / 2;
      n.window = branch == 0 ? c.split_h : c.split_w;
      n.window_w = branch == 0 ? c.split_w : c.split_h;
      n.window_shift = shift ? n.window / 2 : 0;
      n.window_shift_x = shift ? n.window_w / 2 : 0;
      const int head_dim = half / n.heads;  // PyTorch's dim // heads
      n.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
      n.weight = position_bias(a, n.window, n.window_w, n.heads);
      n.inputs = {add(std::move(pad))};
      const int attended = add(std::move(n));
      Node crop;
      crop.type = OpType::crop_like;
      crop.name = a + ".crop";
      crop.inputs = {attended, x};
      parts.push_back(add(std::move(crop)));
    }
    const int attended = concat(p + ".attns", parts);
    return interact(p, attended, conv_branch(p, v), true);
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

  // The spatial-gate feed-forward network: fc1, GELU, first half * dwconv(norm(second half)),
  // fc2.
  int sgfn(const std::string& p, int x) {
    const int hidden = c.ffn_hidden;
    const int half = hidden / 2;
    const int h = unary(OpType::gelu, p + ".act", linear(p + ".fc1", x, c.embed, hidden));
    const int gate = depthwise_conv(
        p + ".sg.conv", layer_norm(p + ".sg.norm", slice(p + ".sg.x2", h, half, half), half), half,
        3);
    const int m = binary(OpType::mul, p + ".sg", slice(p + ".sg.x1", h, 0, half), gate);
    return linear(p + ".fc2", m, half, c.embed);
  }

  int block(int layer, int index, int x) {
    const std::string p = block_name(layer, index);
    const int heads = c.heads[static_cast<std::size_t>(layer)];
    const int n1 = layer_norm(p + ".norm1", x, c.embed);
    const int a = index % 2 == 0 ? spatial_attention(p + ".attn", n1, heads, shifted(layer, index))
                                 : channel_attention(p + ".attn", n1, heads);
    const int x1 = binary(OpType::add, p + ".attn_residual", x, a);
    const int n2 = layer_norm(p + ".norm2", x1, c.embed);
    return binary(OpType::add, p + ".ffn_residual", x1, sgfn(p + ".ffn", n2));
  }
};

// The spatial window's rows and columns: from the first offset of the mother set (the released
// code's rpe_biases start at (1 - rows, 1 - columns)), or where only shapes are known (`hires
// models`), from its (2 rows - 1)(2 columns - 1) offsets and the rows x columns tokens of
// relative_position_index, taking the smaller side for the rows as the released models do.
void detect_split(const WeightLookup& weights, const std::string& source, DatConfig& c) {
  const std::string name = block_name(0, 0) + ".attn.attns.0.rpe_biases";
  const std::string index = block_name(0, 0) + ".attn.attns.0.relative_position_index";
  const auto t = weights(name);
  const auto tokens = weights(index);
  if (!t || t->shape.size() != 2 || t->shape[1] != 2) {
    bad_model(source, fmt::format("tensor '{}' is missing or not [offsets, 2]", name), kHint);
  }
  double rows = 0;
  double cols = 0;
  if (t->values->size() >= 2) {
    rows = 1.0 - (*t->values)[0];
    cols = 1.0 - (*t->values)[1];
  } else if (tokens && tokens->shape.size() == 2) {
    // rows + cols = (4 tokens + 1 - offsets) / 2 and rows x cols = tokens.
    const auto n = static_cast<double>(tokens->shape[0]);
    const double sum = (4 * n + 1 - static_cast<double>(t->shape[0])) / 2;
    const double root = std::sqrt(std::max(0.0, sum * sum - 4 * n));
    rows = std::round((sum - root) / 2);
    cols = std::round((sum + root) / 2);
  }
  const bool whole = rows == std::floor(rows) && cols == std::floor(cols);
  if (!whole || rows < 1 || rows > 64 || cols < 1 || cols > 64 ||
      t->shape[0] != static_cast<std::int64_t>((2 * rows - 1) * (2 * cols - 1))) {
    bad_model(
        source,
        fmt::format("tensor '{}' is not the offsets of a window of 1 to 64 pixels a side", name),
        kHint);
  }
  c.split_h = static_cast<int>(rows);
  c.split_w = static_cast<int>(cols);
}

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
  if (!first || !weights("before_RG.1.weight") || !weights(block_name(0, 0) + ".norm1.weight")) {
    return std::nullopt;
  }
  DatConfig c;
  c.embed = channel_count(*first, 0, "conv_first.weight", source);
  c.in_ch = channel_count(*first, 1, "conv_first.weight", source);
  for (int i = 0; weights(block_name(i, 0) + ".norm1.weight"); ++i) {
    int depth = 0;
    while (weights(block_name(i, depth) + ".norm1.weight")) ++depth;
    const std::string pos = block_name(i, 0) + ".attn.attns.0.pos.pos3.2.weight";
    const auto t = weights(pos);
    if (!t) bad_model(source, fmt::format("tensor '{}' is missing", pos), kHint);
    const int heads = 2 * channel_count(*t, 0, pos, source);
    if (c.embed % heads != 0 || (c.embed / 2) % (heads / 2) != 0) {
      bad_model(source,
                fmt::format("tensor '{}' gives {} heads, which do not divide {} channels", pos,
                            heads, c.embed),
                kHint);
    }
    c.depths.push_back(depth);
    c.heads.push_back(heads);
  }
  if (c.embed < 16 || c.embed % 2 != 0) {
    bad_model(source,
              fmt::format("tensor 'conv_first.weight' has {} output channels, expected an even "
                          "number of at least 16",
                          c.embed),
              kHint);
  }
  detect_split(weights, source, c);
  const std::string fc1 = block_name(0, 0) + ".ffn.fc1.weight";
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
  DatBuilder b{{{weights, source, kHint, g}}, c};
  const int framed = b.frame_input(1, 1.0F);  // DAT pads inside its attention, not the image
  const int first = b.conv("conv_first", framed, c.in_ch, c.embed, 3);
  int x = b.layer_norm("before_RG.1", first, c.embed);
  for (std::size_t i = 0; i < c.depths.size(); ++i) {
    const int layer = static_cast<int>(i);
    const int layer_in = x;
    for (int j = 0; j < c.depths[i]; ++j) x = b.block(layer, j, x);
    const std::string conv = fmt::format("layers.{}.conv", i);
    x = b.binary(OpType::add, fmt::format("layers.{}", i), layer_in,
                 b.residual_conv(conv, x, c.embed, c.three_conv));
  }
  x = b.layer_norm("norm", x, c.embed);
  const int body = b.binary(OpType::add, "conv_after_body",
                            b.residual_conv("conv_after_body", x, c.embed, c.three_conv), first);
  x = b.tail(c.tail, body, framed, c.embed);
  g.output = b.unframe_output(x, 1.0F);
  g.receptive_radius = engine::estimate_receptive_radius(g);
  engine::validate(g);
  return g;
}

}  // namespace hires::models
