#include "models/omnisr.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "models/arch_util.hpp"
#include "models/swin_common.hpp"  // window_from_table

namespace hires::models {
namespace {

using engine::Graph;
using engine::Node;
using engine::OpType;

constexpr const char* kHint = "not an OmniSR checkpoint?";

std::string group_name(int group) {
  return fmt::format("residual_layer.{}", group);
}
std::string block_name(int group, int block) {
  return fmt::format("residual_layer.{}.residual_layer.{}.layer", group, block);
}

struct OmnisrBuilder : GraphBuilder {
  const OmnisrConfig& c;

  // A conv with `name`.weight [out, in / groups, k, k] and `name`.bias (when `bias_optional`,
  // only when the file has one: OmniSR's bias flags differ per layer), `padding` k / 2 unless
  // given.
  int conv_any(const std::string& name, int x, int in, int out, int k, int groups = 1,
               int stride = 1, int padding = -1, bool bias_optional = true) {
    Node n;
    n.type = OpType::conv2d;
    n.name = name;
    n.in_channels = in;
    n.out_channels = out;
    n.kernel = k;
    n.groups = groups;
    n.stride = stride;
    n.padding = padding < 0 ? k / 2 : padding;
    n.weight = fetch_tensor(weights, source, name + ".weight", {out, in / groups, k, k}, hint);
    if (!bias_optional || weights(name + ".bias")) {
      n.bias = fetch_tensor(weights, source, name + ".bias", {out}, hint);
    }
    n.inputs = {x};
    return add(std::move(n));
  }

  int node(OpType t, const std::string& name, std::vector<int> inputs) {
    Node n;
    n.type = t;
    n.name = name;
    n.inputs = std::move(inputs);
    return add(std::move(n));
  }

  // LayerNorm2d (eps 1e-6) of Conv_PreNormResidual.
  int norm2d(const std::string& name, int x) {
    const int y = layer_norm(name, x, c.features);
    g.nodes.back().eps = 1e-6F;
    return y;
  }

  // MBConv with expansion 1: 1x1, GELU, depth-wise 3x3, GELU, squeeze-and-excitation (mean,
  // Linear, SiLU, Linear, sigmoid; no biases), 1x1, plus the input.
  int mbconv(const std::string& p, int x) {
    const int f = c.features;
    const int a =
        unary(OpType::gelu, p + ".fn.1", conv_any(p + ".fn.0", x, f, f, 1, 1, 1, -1, false));
    const int b =
        unary(OpType::gelu, p + ".fn.3", conv_any(p + ".fn.2", a, f, f, 3, f, 1, -1, false));
    const std::string se = p + ".fn.4.gate";
    const int squeezed = f / 4;  // int(dim * 0.25)
    const int mean = unary(OpType::global_avg_pool, se + ".0", b);
    const int s1 =
        unary(OpType::silu, se + ".2", linear(se + ".1", mean, f, squeezed, /*with_bias=*/false));
    const int s2 =
        unary(OpType::sigmoid, se + ".4", linear(se + ".3", s1, squeezed, f, /*with_bias=*/false));
    const int out = conv_any(p + ".fn.5", binary(OpType::mul, se, b, s2), f, f, 1, 1, 1, -1, false);
    return binary(OpType::add, p, out, x);
  }

  // PreNormResidual(Attention): x + to_out(window attention(to_qkv(LayerNorm(x)))), 4 heads,
  // no shift, no biases; the relative position bias when the file has one.
  int attention(const std::string& p, int x) {
    const int f = c.features;
    const int head_dim = f / 4;
    const int heads = f / head_dim;
    const int n1 = layer_norm(p + ".norm", x, f);
    Node n;
    n.type = OpType::window_attention;
    n.name = p + ".fn";
    n.heads = heads;
    n.window = c.window;
    n.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
    const std::int64_t span = 2 * c.window - 1;
    if (c.pe) {
      n.weight =
          fetch_tensor(weights, source, p + ".fn.rel_pos_bias.weight", {span * span, heads}, hint);
    } else {
      n.weight.assign(static_cast<std::size_t>(span * span * heads), 0.0F);
    }
    n.inputs = {linear(p + ".fn.to_qkv", n1, f, 3 * f, /*with_bias=*/false)};
    const int attended = add(std::move(n));
    return binary(OpType::add, p, linear(p + ".fn.to_out.0", attended, f, f, false), x);
  }

  // Conv_PreNormResidual(Gated_Conv_FeedForward): x + project_out(GELU(a) * b), where a and b
  // are the halves of dwconv(project_in(LayerNorm2d(x))).
  int feed_forward(const std::string& p, int x) {
    const int f = c.features;
    const std::string in = p + ".fn.project_in";
    const auto w = weights(in + ".weight");
    if (!w || w->shape.size() != 4 || w->shape[0] < 2 || w->shape[0] % 2 != 0 ||
        w->shape[0] > std::int64_t{16} * f) {
      bad_model(source,
                fmt::format("tensor '{}.weight' is missing or not [2 x hidden, {}, 1, 1]", in, f),
                hint);
    }
    const int hidden = static_cast<int>(w->shape[0] / 2);
    const int h = conv_any(p + ".fn.dwconv", conv_any(in, norm2d(p + ".norm", x), f, 2 * hidden, 1),
                           2 * hidden, 2 * hidden, 3, 2 * hidden);
    const int gate = unary(OpType::gelu, p + ".gelu", slice(p + ".x1", h, 0, hidden));
    const int m = binary(OpType::mul, p + ".gate", gate, slice(p + ".x2", h, hidden, hidden));
    return binary(OpType::add, p, conv_any(p + ".fn.project_out", m, hidden, f, 1), x);
  }

  // Conv_PreNormResidual(Channel_Attention[_grid]): x + project_out(channel attention of
  // qkv_dwconv(qkv(LayerNorm2d(x)))) within each window, or over the pixels a window apart.
  int channel_attention(const std::string& p, int x, bool grid) {
    const int f = c.features;
    const std::string t = p + ".fn.temperature";
    const auto temperature = weights(t);
    if (!temperature || temperature->shape.size() != 3 || temperature->shape[0] < 1 ||
        f % temperature->shape[0] != 0) {
      bad_model(source, fmt::format("tensor '{}' is missing or not [heads, 1, 1]", t), hint);
    }
    const int heads = static_cast<int>(temperature->shape[0]);
    const int qkv =
        conv_any(p + ".fn.qkv_dwconv", conv_any(p + ".fn.qkv", norm2d(p + ".norm", x), f, 3 * f, 1),
                 3 * f, 3 * f, 3, 3 * f);
    Node gram;
    gram.type = OpType::channel_gram;
    gram.name = p + ".gram";
    gram.heads = heads;
    gram.window = c.window;
    gram.grid = grid;
    gram.inputs = {qkv};
    Node n = gram;
    n.type = OpType::channel_attention;
    n.name = p + ".fn";
    n.weight = fetch_tensor(weights, source, t, {heads, 1, 1}, hint);
    n.inputs = {qkv, add(std::move(gram))};
    const int attended = add(std::move(n));
    return binary(OpType::add, p, conv_any(p + ".fn.project_out", attended, f, f, 1), x);
  }

  int osa_block(const std::string& p, int x) {
    x = mbconv(p + ".0", x);
    x = attention(p + ".2", x);
    x = feed_forward(p + ".4", x);
    x = channel_attention(p + ".5", x, false);
    x = feed_forward(p + ".6", x);
    // Grid attention: the same attention on windows of pixels H / window apart.
    Node to;
    to.type = OpType::grid_to_windows;
    to.name = p + ".7";
    to.factor = c.window;
    to.inputs = {x};
    Node back = to;
    back.type = OpType::windows_to_grid;
    back.name = p + ".9";
    back.inputs = {attention(p + ".8", add(std::move(to)))};
    x = add(std::move(back));
    x = feed_forward(p + ".10", x);
    x = channel_attention(p + ".11", x, true);
    return feed_forward(p + ".12", x);
  }

  // ESA: x * sigmoid(conv4(resize(conv3(maxpool(conv2(conv1(x))))) + conv_f(conv1(x)))).
  int esa(const std::string& p, int x) {
    const int f = c.features;
    const int e = c.esa_channels;
    const int c1 = conv_any(p + ".conv1", x, f, e, 1, 1, 1, -1, false);
    Node pool;
    pool.type = OpType::max_pool;
    pool.name = p + ".max_pool";
    pool.kernel = 7;
    pool.stride = 3;
    pool.inputs = {conv_any(p + ".conv2", c1, e, e, 3, 1, 2, 0, false)};
    const int c3 = conv_any(p + ".conv3", add(std::move(pool)), e, e, 3, 1, 1, -1, false);
    const int up = node(OpType::resize_bilinear_like, p + ".interpolate", {c3, x});
    const int sum =
        binary(OpType::add, p + ".sum", up, conv_any(p + ".conv_f", c1, e, e, 1, 1, 1, -1, false));
    const int m = unary(OpType::sigmoid, p + ".sigmoid",
                        conv_any(p + ".conv4", sum, e, f, 1, 1, 1, -1, false));
    return binary(OpType::mul, p, x, m);
  }
};

}  // namespace

std::string omnisr_variant(const OmnisrConfig& c) {
  return fmt::format("{}nf, {} group{} x {} block{}, window {}{}", c.features, c.groups,
                     c.groups == 1 ? "" : "s", c.blocks, c.blocks == 1 ? "" : "s", c.window,
                     c.pe ? "" : ", no position bias");
}

std::optional<OmnisrConfig> detect_omnisr(const WeightLookup& weights, const std::string& source) {
  const auto first = weights("input.weight");
  const auto up = weights("up.0.weight");
  if (!first || !up || !weights(block_name(0, 0) + ".0.fn.0.weight")) return std::nullopt;
  OmnisrConfig c;
  c.features = channel_count(*first, 0, "input.weight", source);
  c.in_ch = channel_count(*first, 1, "input.weight", source);
  if (c.features < 4 || c.features % (c.features / 4) != 0) {
    bad_model(source,
              fmt::format("tensor 'input.weight' has {} output channels, which 4 heads of {} do "
                          "not divide",
                          c.features, c.features / 4),
              kHint);
  }
  c.groups = 0;
  while (weights(group_name(c.groups) + ".esa.conv1.weight")) ++c.groups;
  c.blocks = 0;
  while (weights(block_name(0, c.blocks) + ".0.fn.0.weight")) ++c.blocks;
  if (c.groups == 0)
    bad_model(source, "tensor 'residual_layer.0.esa.conv1.weight' is missing", kHint);
  const std::string table = block_name(0, 0) + ".2.fn.rel_pos_bias.weight";
  if (const auto t = weights(table)) {
    if (t->shape.size() != 2)
      bad_model(source, fmt::format("tensor '{}' is not 2-dimensional", table), kHint);
    c.window = window_from_table(t->shape[0], table, source, kHint);
  } else {
    c.pe = false;  // no position bias: the released default window
  }
  const int out = channel_count(*up, 0, "up.0.weight", source);
  bool found = false;
  for (int ch : {c.in_ch, 3, 1}) {
    for (int s = 1; s <= 8 && !found; ++s) {
      if (s * s * ch == out) {
        c.upscale = s;
        c.out_ch = ch;
        found = true;
      }
    }
  }
  if (!found) {
    bad_model(source,
              fmt::format("tensor 'up.0.weight' has {} output channels: no scale 1 to 8 for {} "
                          "image channels",
                          out, c.in_ch),
              kHint);
  }
  const std::string esa = group_name(0) + ".esa.conv1.weight";
  c.esa_channels = channel_count(*weights(esa), 0, esa, source);
  return c;
}

Graph build_omnisr(const OmnisrConfig& c, const WeightLookup& weights, const std::string& source) {
  Graph g;
  g.name = source;
  g.in_channels = c.in_ch;
  g.out_channels = c.out_ch;
  g.scale = c.upscale;
  g.tile_align = c.window;
  OmnisrBuilder b{{weights, source, kHint, g}, c};
  Node pad;
  pad.type = OpType::pad_to_multiple;
  pad.name = "check_image_size";
  pad.factor = c.window;
  pad.count = 16;  // ESA's stride-2 conv and 7x7 pooling need 15 pixels a side (PyTorch refuses
                   // smaller images; here they are zero-padded further and cropped back)
  pad.pad_mode = engine::PadMode::zero;
  pad.inputs = {g.input};
  const int framed = b.add(std::move(pad));
  const int first = b.conv_any("input", framed, c.in_ch, c.features, 3);
  int x = first;
  for (int i = 0; i < c.groups; ++i) {
    const int group_in = x;
    for (int j = 0; j < c.blocks; ++j) x = b.osa_block(block_name(i, j), x);
    const std::string last = fmt::format("{}.residual_layer.{}", group_name(i), c.blocks);
    x = b.binary(OpType::add, group_name(i), b.conv_any(last, x, c.features, c.features, 1),
                 group_in);
    x = b.esa(group_name(i) + ".esa", x);
  }
  const int body =
      b.binary(OpType::add, "output", b.conv_any("output", x, c.features, c.features, 3), first);
  Node shuffle;
  shuffle.type = OpType::pixel_shuffle;
  shuffle.name = "up.1";
  shuffle.factor = c.upscale;
  shuffle.inputs = {b.conv_any("up.0", body, c.features, c.out_ch * c.upscale * c.upscale, 3)};
  const int upscaled = b.add(std::move(shuffle));
  Node crop;
  crop.type = OpType::crop_like;
  crop.name = "crop";
  crop.factor = c.upscale;
  crop.inputs = {upscaled, g.input};
  g.output = b.add(std::move(crop));
  g.receptive_radius = engine::estimate_receptive_radius(g);
  engine::validate(g);
  return g;
}

}  // namespace hires::models
