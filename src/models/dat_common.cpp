#include "models/dat_common.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "models/srvgg.hpp"  // channel_count

namespace hires::models {
namespace {

using engine::Node;
using engine::OpType;

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

}  // namespace

std::string rect_block_name(int layer, int block) {
  return fmt::format("layers.{}.blocks.{}", layer, block);
}

RectGroups detect_rect_groups(const WeightLookup& weights, int embed, const std::string& source,
                              const std::string& hint) {
  RectGroups r;
  for (int i = 0; weights(rect_block_name(i, 0) + ".norm1.weight"); ++i) {
    int depth = 0;
    while (weights(rect_block_name(i, depth) + ".norm1.weight")) ++depth;
    const std::string pos = rect_block_name(i, 0) + ".attn.attns.0.pos.pos3.2.weight";
    const auto t = weights(pos);
    if (!t) bad_model(source, fmt::format("tensor '{}' is missing", pos), hint);
    const int heads = 2 * channel_count(*t, 0, pos, source);
    if (embed % heads != 0 || (embed / 2) % (heads / 2) != 0) {
      bad_model(source,
                fmt::format("tensor '{}' gives {} heads, which do not divide {} channels", pos,
                            heads, embed),
                hint);
    }
    r.depths.push_back(depth);
    r.heads.push_back(heads);
  }
  return r;
}

bool rect_window_shifted(int layer, int block) {
  return (layer % 2 == 0 && block > 0 && (block - 2) % 4 == 0) ||
         (layer % 2 != 0 && block % 4 == 0);
}

RectSplit detect_rect_split(const WeightLookup& weights, const std::string& attn,
                            const std::string& source, const std::string& hint) {
  const std::string name = attn + ".attns.0.rpe_biases";
  const std::string index = attn + ".attns.0.relative_position_index";
  const auto t = weights(name);
  const auto tokens = weights(index);
  if (!t || t->shape.size() != 2 || t->shape[1] != 2) {
    bad_model(source, fmt::format("tensor '{}' is missing or not [offsets, 2]", name), hint);
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
        hint);
  }
  return {static_cast<int>(rows), static_cast<int>(cols)};
}

std::vector<float> RectBuilder::position_bias(const std::string& prefix, int wh, int ww,
                                              int heads) {
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

RectBuilder::Attended RectBuilder::rectangle_attention(const std::string& p, int x, int dim,
                                                       int heads, RectSplit split, bool shift) {
  const int half = dim / 2;
  const int qkv = linear(p + ".qkv", x, dim, 3 * dim, static_cast<bool>(weights(p + ".qkv.bias")));
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
  const int max_split = std::max(split.h, split.w);
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
    n.window = branch == 0 ? split.h : split.w;
    n.window_w = branch == 0 ? split.w : split.h;
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
  return {concat(p + ".attns", parts), v};
}

int RectBuilder::sgfn(const std::string& p, int x, int dim, int hidden) {
  const int half = hidden / 2;
  const int h = unary(OpType::gelu, p + ".act", linear(p + ".fc1", x, dim, hidden));
  const int gate =
      depthwise_conv(p + ".sg.conv",
                     layer_norm(p + ".sg.norm", slice(p + ".sg.x2", h, half, half), half), half, 3);
  const int m = binary(OpType::mul, p + ".sg", slice(p + ".sg.x1", h, 0, half), gate);
  return linear(p + ".fc2", m, half, dim);
}

int RectBuilder::groups_body(int x, int first, int dim, const std::vector<int>& depths,
                             bool three_conv, const std::function<int(int, int, int)>& block) {
  for (std::size_t i = 0; i < depths.size(); ++i) {
    const int layer = static_cast<int>(i);
    const int layer_in = x;
    for (int j = 0; j < depths[i]; ++j) x = block(layer, j, x);
    x = binary(OpType::add, fmt::format("layers.{}", i), layer_in,
               residual_conv(fmt::format("layers.{}.conv", i), x, dim, three_conv));
  }
  x = layer_norm("norm", x, dim);
  return binary(OpType::add, "conv_after_body",
                residual_conv("conv_after_body", x, dim, three_conv), first);
}

}  // namespace hires::models
