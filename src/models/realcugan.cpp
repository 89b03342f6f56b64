#include "models/realcugan.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "models/srvgg.hpp"  // channel_count

namespace hires::models {
namespace {

using engine::Graph;
using engine::Node;
using engine::OpType;

constexpr const char* kHint = "not a Real-CUGAN checkpoint?";
constexpr float kProScale = 0.7F;  // 'pro' models run on x * 0.7 + 0.15
constexpr float kProShift = 0.15F;

// A value and its channel count.
struct Val {
  int v = 0;
  int c = 0;
};

struct CuganBuilder : GraphBuilder {
  // Dimension `dim` of tensor `name`.weight.
  int width(const std::string& name, std::size_t dim) {
    const auto w = weights(name + ".weight");
    if (!w) bad_model(source, fmt::format("tensor '{}.weight' is missing", name), hint);
    return channel_count(*w, dim, name + ".weight", source);
  }

  // An unpadded k x k conv with its bias, as wide as its weight says.
  Val conv(const std::string& name, Val x, int k, int stride) {
    Node n;
    n.type = OpType::conv2d;
    n.name = name;
    n.in_channels = x.c;
    n.out_channels = width(name, 0);
    n.kernel = k;
    n.stride = stride;
    n.weight = fetch_tensor(weights, source, name + ".weight", {n.out_channels, x.c, k, k}, hint);
    n.bias = fetch_tensor(weights, source, name + ".bias", {n.out_channels}, hint);
    n.inputs = {x.v};
    const int out = n.out_channels;
    return {add(std::move(n)), out};
  }

  Val deconv(const std::string& name, Val x, int k, int stride, int padding) {
    Node n;
    n.type = OpType::deconv2d;
    n.name = name;
    n.in_channels = x.c;
    n.out_channels = width(name, 1);
    n.kernel = k;
    n.stride = stride;
    n.padding = padding;
    n.weight = fetch_tensor(weights, source, name + ".weight", {x.c, n.out_channels, k, k}, hint);
    n.bias = fetch_tensor(weights, source, name + ".bias", {n.out_channels}, hint);
    n.inputs = {x.v};
    const int out = n.out_channels;
    return {add(std::move(n)), out};
  }

  Val lrelu(const std::string& name, Val x) {
    Node n;
    n.type = OpType::leaky_relu;
    n.name = name;
    n.alpha = 0.1F;
    n.inputs = {x.v};
    return {add(std::move(n)), x.c};
  }

  Val crop(const std::string& name, Val x, int pixels) {
    Node n;
    n.type = OpType::crop;
    n.name = name;
    n.top = n.bottom = n.left = n.right = pixels;
    n.inputs = {x.v};
    return {add(std::move(n)), x.c};
  }

  Val sum(const std::string& name, Val a, Val b) {
    return {binary(OpType::add, name, a.v, b.v), a.c};
  }

  // x * sigmoid(conv2(relu(conv1(mean(x))))).
  Val se(const std::string& p, Val x) {
    Node pool;
    pool.type = OpType::global_avg_pool;
    pool.name = p + ".mean";
    pool.inputs = {x.v};
    const Val mean{add(std::move(pool)), x.c};
    const Val down = conv(p + ".conv1", mean, 1, 1);
    const Val up = conv(p + ".conv2", {unary(OpType::relu, p + ".relu", down.v), down.c}, 1, 1);
    return {binary(OpType::mul, p, x.v, unary(OpType::sigmoid, p + ".sigmoid", up.v)), x.c};
  }

  // conv 3x3, LeakyReLU, conv 3x3, LeakyReLU (unpadded: 2 pixels fewer a side), then SE.
  Val unet_conv(const std::string& p, Val x, bool with_se) {
    const Val a = lrelu(p + ".conv.1", conv(p + ".conv.0", x, 3, 1));
    const Val b = lrelu(p + ".conv.3", conv(p + ".conv.2", a, 3, 1));
    return with_se ? se(p + ".seblock", b) : b;
  }

  Val unet1(Val x, bool x3) {
    const Val x1 = unet_conv("unet1.conv1", x, false);
    Val x2 = lrelu("unet1.conv1_down.act", conv("unet1.conv1_down", x1, 2, 2));
    x2 = unet_conv("unet1.conv2", x2, true);
    x2 = lrelu("unet1.conv2_up.act", deconv("unet1.conv2_up", x2, 2, 2, 0));
    const Val skip = sum("unet1.skip", crop("unet1.crop", x1, 4), x2);
    const Val x3v = lrelu("unet1.conv3.act", conv("unet1.conv3", skip, 3, 1));
    return x3 ? deconv("unet1.conv_bottom", x3v, 5, 3, 2)
              : deconv("unet1.conv_bottom", x3v, 4, 2, 3);
  }

  Val unet2(Val x) {
    const Val x1 = unet_conv("unet2.conv1", x, false);
    Val x2 = lrelu("unet2.conv1_down.act", conv("unet2.conv1_down", x1, 2, 2));
    x2 = unet_conv("unet2.conv2", x2, true);
    Val x3 = lrelu("unet2.conv2_down.act", conv("unet2.conv2_down", x2, 2, 2));
    x3 = unet_conv("unet2.conv3", x3, true);
    x3 = lrelu("unet2.conv3_up.act", deconv("unet2.conv3_up", x3, 2, 2, 0));
    Val x4 = unet_conv("unet2.conv4", sum("unet2.skip4", crop("unet2.crop4", x2, 4), x3), true);
    x4 = lrelu("unet2.conv4_up.act", deconv("unet2.conv4_up", x4, 2, 2, 0));
    const Val skip = sum("unet2.skip5", crop("unet2.crop16", x1, 16), x4);
    const Val x5 = lrelu("unet2.conv5.act", conv("unet2.conv5", skip, 3, 1));
    return conv("unet2.conv_bottom", x5, 3, 1);
  }
};

// The released forward passes' reflect padding around the image and the multiple its sides are
// padded to first.
int prepad(const RealcuganConfig& c) {
  if (c.fast) return 38;
  if (c.scale == 3) return 14;
  return c.scale == 4 ? 19 : 18;
}

}  // namespace

std::string realcugan_variant(const RealcuganConfig& c) {
  return fmt::format("x{}{}{}", c.scale, c.fast ? " fast" : "", c.pro ? " pro" : "");
}

std::optional<RealcuganConfig> detect_realcugan(const WeightLookup& weights,
                                                const std::string& source) {
  const auto first = weights("unet1.conv1.conv.0.weight");
  const auto bottom2 = weights("unet2.conv_bottom.weight");
  if (!first || !bottom2) return std::nullopt;
  RealcuganConfig c;
  c.pro = static_cast<bool>(weights("pro"));
  c.in_ch = channel_count(*first, 1, "unet1.conv1.conv.0.weight", source);
  if (const auto final_conv = weights("conv_final.weight")) {
    // UpCunet4x, or UpCunet2x_fast (its U-Net sees the image pixel-unshuffled: 4x the channels).
    c.out_ch = channel_count(*final_conv, 0, "conv_final.weight", source) / 4;
    c.fast = c.out_ch * 4 == c.in_ch;
    c.scale = c.fast ? 2 : 4;
    if (c.fast) c.in_ch /= 4;
  } else {
    const auto b1 = weights("unet1.conv_bottom.weight");
    if (!b1 || b1->shape.size() != 4) {
      bad_model(source, "tensor 'unet1.conv_bottom.weight' is missing", kHint);
    }
    c.scale = b1->shape[2] == 5 ? 3 : 2;
    c.out_ch = channel_count(*bottom2, 0, "unet2.conv_bottom.weight", source);
  }
  if (c.fast && c.pro) {
    bad_model(source, "a 'pro' tensor in a fast (pixel-unshuffle) Real-CUGAN file",
              "the released fast models have no 'pro' variant");
  }
  return c;
}

Graph build_realcugan(const RealcuganConfig& c, const WeightLookup& weights,
                      const std::string& source) {
  Graph g;
  g.name = source;
  g.in_channels = c.in_ch;
  g.out_channels = c.out_ch;
  g.scale = c.scale;
  // x2 fast: the released code needs multiples of 4 (its callers pad to them): the same here.
  const int multiple = c.scale == 3 || c.fast ? 4 : 2;
  g.tile_align = multiple;
  CuganBuilder b{{weights, source, kHint, g}};
  const int image = c.pro ? b.scale_shift("pro", g.input, kProScale, kProShift) : g.input;
  Node pad;
  pad.type = OpType::pad_to_multiple;
  pad.name = "pad";
  pad.factor = multiple;
  pad.top = pad.bottom = pad.left = pad.right = prepad(c);
  pad.pad_mode = engine::PadMode::reflect;
  pad.inputs = {image};
  Val x{b.add(std::move(pad)), c.in_ch};
  if (c.fast) {
    Node unshuffle;
    unshuffle.type = OpType::pixel_unshuffle;
    unshuffle.name = "inv";
    unshuffle.factor = 2;
    unshuffle.inputs = {x.v};
    x = {b.add(std::move(unshuffle)), 4 * c.in_ch};
  }
  const Val z = b.unet1(x, c.scale == 3);
  Val y = b.sum("add", b.unet2(z), b.crop("crop20", z, 20));
  const bool shuffle = c.fast || c.scale == 4;
  if (shuffle) {
    y = b.crop("crop1", b.conv("conv_final", y, 3, 1), 1);
    y = {b.pixel_shuffle("ps", y.v, 2), y.c / 4};
  }
  Node fit;
  fit.type = OpType::crop_like;
  fit.name = "crop";
  fit.factor = c.scale;
  fit.inputs = {y.v, g.input};
  int out = b.add(std::move(fit));
  if (shuffle) {
    Node nearest;
    nearest.type = OpType::upsample_nearest;
    nearest.name = "nearest";
    nearest.factor = c.scale;
    nearest.inputs = {image};
    out = b.binary(OpType::add, "skip", out, b.add(std::move(nearest)));
  }
  if (c.pro) out = b.scale_shift("pro_back", out, 1.0F / kProScale, -kProShift / kProScale);
  g.output = out;
  // Every output pixel depends on the image within the pre-padding (the unpadded convolutions
  // use it up): the tiles' context covers at least that, on the tiles' grid.
  const int radius = std::max(engine::estimate_receptive_radius(g), prepad(c) + 1);
  g.receptive_radius = (radius + multiple - 1) / multiple * multiple;
  engine::validate(g);
  return g;
}

}  // namespace hires::models
