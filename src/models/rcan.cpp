#include "models/rcan.hpp"

#include <fmt/format.h>

#include "models/srvgg.hpp"  // channel_count

namespace hires::models {
namespace {

using engine::Graph;
using engine::Node;
using engine::OpType;

constexpr const char* kHint = "not an RCAN checkpoint?";
constexpr float kRange = 255.0F;  // rgb_range of the released models with mean shifts

std::string block(int g, int b) {
  return fmt::format("body.{}.body.{}", g, b);
}

struct RcanBuilder : GraphBuilder {
  const RcanConfig& c;

  // The mean shift `name` (a 1x1 conv on the colours) with its weights times `w_scale` and its
  // bias times `b_scale`: sub_mean sees the image times 255, add_mean's output is divided by it.
  int mean_shift(const std::string& name, int x, float w_scale, float b_scale) {
    const int y = conv(name, x, c.colors, c.colors, 1);
    Node& n = g.nodes.back();
    for (float& v : n.weight) v *= w_scale;
    for (float& v : n.bias) v *= b_scale;
    return y;
  }

  // x * sigmoid(conv_du(mean(x))).
  int channel_attention(const std::string& p, int x) {
    Node pool;
    pool.type = OpType::global_avg_pool;
    pool.name = p + ".avg_pool";
    pool.inputs = {x};
    const int mean = add(std::move(pool));
    const int mid = c.features / c.reduction;
    const int down =
        unary(OpType::relu, p + ".conv_du.1", conv(p + ".conv_du.0", mean, c.features, mid, 1));
    const int gate =
        unary(OpType::sigmoid, p + ".conv_du.3", conv(p + ".conv_du.2", down, mid, c.features, 1));
    return binary(OpType::mul, p, x, gate);
  }

  int rcab(const std::string& p, int x) {
    const int a = unary(OpType::relu, p + ".body.1",
                        conv(p + ".body.0", x, c.features, c.features, c.kernel));
    const int b = conv(p + ".body.2", a, c.features, c.features, c.kernel);
    return binary(OpType::add, p, channel_attention(p + ".body.3", b), x);
  }

  int group(int gi, int x) {
    int y = x;
    for (int b = 0; b < c.blocks; ++b) y = rcab(block(gi, b), y);
    y = conv(block(gi, c.blocks), y, c.features, c.features, c.kernel);
    return binary(OpType::add, fmt::format("body.{}", gi), y, x);
  }

  // tail.0: per factor 2 a 3x3 conv to 4x the features and a pixel shuffle, or one for 3.
  int upsample(int x) {
    const int factor = c.upscale * c.unshuffle;
    const int step = factor == 3 ? 3 : 2;
    int y = x;
    int i = 0;
    for (int s = factor; s > 1; s /= step, i += 2) {
      y = conv(fmt::format("tail.0.{}", i), y, c.features, step * step * c.features, 3);
      y = pixel_shuffle(fmt::format("tail.0.{}", i + 1), y, step);
    }
    return y;
  }
};

// The upsampler's total factor from its convolutions ('tail.0.0.weight', 'tail.0.2.weight', ...):
// each a 3x3 conv to 4x (a factor 2) or 9x (3) the features.
int upsampler_factor(const WeightLookup& weights, const std::string& source, int features) {
  int factor = 1;
  for (int i = 0; i < 10; i += 2) {
    const std::string name = fmt::format("tail.0.{}.weight", i);
    const auto w = weights(name);
    if (!w) break;
    const int out = channel_count(*w, 0, name, source);
    if (out != 4 * features && out != 9 * features) {
      bad_model(source,
                fmt::format("tensor '{}' has {} output channels, expected {} or {} (a factor 2 "
                            "or 3 of {} features)",
                            name, out, 4 * features, 9 * features, features),
                kHint);
    }
    factor *= out == 4 * features ? 2 : 3;
  }
  return factor;
}

}  // namespace

std::string rcan_variant(const RcanConfig& c) {
  std::string s =
      fmt::format("{} feats, {} group{} x {} block{}, reduction {}", c.features, c.groups,
                  c.groups == 1 ? "" : "s", c.blocks, c.blocks == 1 ? "" : "s", c.reduction);
  if (c.kernel != 3) s += fmt::format(", {}x{}", c.kernel, c.kernel);
  if (c.unshuffle > 1) s += fmt::format(", unshuffle {}", c.unshuffle);
  if (!c.mean_shift) s += ", no mean shift";
  return s;
}

std::optional<RcanConfig> detect_rcan(const WeightLookup& weights, const std::string& source) {
  const auto attention = weights("body.0.body.0.body.3.conv_du.0.weight");
  const auto last = weights("tail.1.weight");
  if (!attention || !last) return std::nullopt;
  RcanConfig c;
  const bool unshuffle = !weights("head.0.weight") && weights("head.1.weight");
  const std::string head = unshuffle ? "head.1.weight" : "head.0.weight";
  const auto h = weights(head);
  if (!h || h->shape.size() != 4 || h->shape[2] != h->shape[3] || h->shape[2] % 2 == 0) {
    bad_model(source, fmt::format("tensor '{}' is missing or not an odd square kernel", head),
              kHint);
  }
  c.kernel = static_cast<int>(h->shape[2]);
  c.features = channel_count(*h, 0, head, source);
  c.colors = channel_count(*last, 0, "tail.1.weight", source);
  const int mid = channel_count(*attention, 0, "body.0.body.0.body.3.conv_du.0.weight", source);
  if (mid < 1 || c.features % mid != 0) {
    bad_model(source,
              fmt::format("tensor 'body.0.body.0.body.3.conv_du.0.weight' has {} output channels, "
                          "no divisor of the {} features",
                          mid, c.features),
              kHint);
  }
  c.reduction = c.features / mid;
  c.groups = 0;
  while (weights(block(c.groups, 0) + ".body.0.weight")) ++c.groups;
  c.blocks = 0;
  while (weights(block(0, c.blocks) + ".body.0.weight")) ++c.blocks;
  c.mean_shift = static_cast<bool>(weights("sub_mean.weight"));
  const int factor = upsampler_factor(weights, source, c.features);
  c.upscale = factor;
  if (unshuffle) {
    // The released unshuffle models upsample by 4 after unshuffling by 4 / scale.
    const int in = channel_count(*h, 1, head, source);
    int down = 0;
    if (in == 16 * c.colors) down = 4;
    if (in == 4 * c.colors) down = 2;
    if (down == 0 || factor != 4) {
      bad_model(source,
                fmt::format("tensor '{}' has {} input channels and the upsampler a factor of "
                            "{}: no unshuffle variant (x1: 16 x {} channels, x2: 4 x {}, both "
                            "upsampled by 4)",
                            head, in, factor, c.colors, c.colors),
                kHint);
    }
    c.unshuffle = down;
    c.upscale = 4 / down;
  }
  return c;
}

Graph build_rcan(const RcanConfig& c, const WeightLookup& weights, const std::string& source) {
  Graph g;
  g.name = source;
  g.in_channels = c.colors;
  g.out_channels = c.colors;
  g.scale = c.upscale;
  g.tile_align = c.unshuffle;
  RcanBuilder b{{weights, source, kHint, g}, c};
  int x = g.input;
  if (c.unshuffle > 1) {
    Node pad;
    pad.type = OpType::pad_to_multiple;
    pad.name = "check_img_size";
    pad.factor = c.unshuffle;
    pad.pad_mode = engine::PadMode::reflect;
    pad.inputs = {x};
    x = b.add(std::move(pad));
  }
  if (c.mean_shift) x = b.mean_shift("sub_mean", x, kRange, 1.0F);
  if (c.unshuffle > 1) {
    Node unshuffle;
    unshuffle.type = OpType::pixel_unshuffle;
    unshuffle.name = "head.0";
    unshuffle.factor = c.unshuffle;
    unshuffle.inputs = {x};
    x = b.add(std::move(unshuffle));
  }
  const int in = c.colors * c.unshuffle * c.unshuffle;
  const int head = b.conv(c.unshuffle > 1 ? "head.1" : "head.0", x, in, c.features, c.kernel);
  x = head;
  for (int i = 0; i < c.groups; ++i) x = b.group(i, x);
  x = b.conv(fmt::format("body.{}", c.groups), x, c.features, c.features, c.kernel);
  x = b.binary(OpType::add, "body", x, head);
  x = b.conv("tail.1", b.upsample(x), c.features, c.colors, c.kernel);
  if (c.mean_shift) x = b.mean_shift("add_mean", x, 1.0F / kRange, 1.0F / kRange);
  if (c.unshuffle > 1) {
    Node crop;
    crop.type = OpType::crop_like;
    crop.name = "crop";
    crop.factor = c.upscale;
    crop.inputs = {x, g.input};
    x = b.add(std::move(crop));
  }
  g.output = x;
  g.receptive_radius = engine::estimate_receptive_radius(g);
  engine::validate(g);
  return g;
}

}  // namespace hires::models
