#include "models/plksr.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <cmath>

#include "hires/error.hpp"
#include "models/arch_util.hpp"

namespace hires::models {
namespace {

using engine::Graph;
using engine::Node;
using engine::OpType;

constexpr const char* kHint = "not a PLKSR / RealPLKSR checkpoint?";

const char* mixer_name(PlksrMixer m) {
  switch (m) {
    case PlksrMixer::ccm:
      return "CCM";
    case PlksrMixer::iccm:
      return "ICCM";
    case PlksrMixer::dccm:
      return "DCCM";
  }
  return "?";
}

// The 4-D shape of tensor `name`, or Error(input) naming it.
std::vector<std::int64_t> shape4(const WeightLookup& weights, const std::string& source,
                                 const std::string& name) {
  const auto w = weights(name);
  if (!w) bad_model(source, fmt::format("tensor '{}' is missing", name), kHint);
  if (w->shape.size() != 4) {
    bad_model(
        source,
        fmt::format("tensor '{}' is [{}], expected 4 dimensions", name, fmt::join(w->shape, ",")),
        kHint);
  }
  return w->shape;
}

}  // namespace

std::string plksr_variant(const PlksrConfig& c) {
  const char* norm = "";
  if (c.real) norm = c.layer_norm ? ", LayerNorm" : ", GroupNorm";
  return fmt::format("{}dim, {} blocks, {}x{} on {}, {}{}{}{}", c.dim, c.blocks, c.kernel, c.kernel,
                     c.pdim, mixer_name(c.mixer), c.attention ? "" : ", no EA", norm,
                     c.dysample ? ", DySample" : "");
}

std::optional<PlksrConfig> detect_plksr(const WeightLookup& weights, const std::string& source) {
  if (!weights("feats.0.weight") || !weights("feats.1.lk.conv.weight") ||
      !weights("feats.1.refine.weight")) {
    return std::nullopt;
  }
  PlksrConfig c;
  const bool plain = static_cast<bool>(weights("feats.1.channe_mixer.0.weight"));
  c.real = !plain && weights("feats.1.channel_mixer.0.weight");
  if (!plain && !c.real) {
    bad_model(source, "tensor 'feats.1.channe_mixer.0.weight' is missing", kHint);
  }
  c.dysample = static_cast<bool>(weights("to_img.init_pos"));
  c.layer_norm = static_cast<bool>(weights("feats.1.layer_norm.bias"));
  if (!c.real && (c.dysample || c.layer_norm)) {
    bad_model(source,
              fmt::format("tensor '{}' belongs to RealPLKSR, but this is PLKSR ('channe_mixer')",
                          c.dysample ? "to_img.init_pos" : "feats.1.layer_norm.bias"),
              kHint);
  }
  const auto first = *weights("feats.0.weight");
  c.dim = channel_count(first, 0, "feats.0.weight", source);
  const auto lk = shape4(weights, source, "feats.1.lk.conv.weight");
  c.pdim = channel_count(*weights("feats.1.lk.conv.weight"), 0, "feats.1.lk.conv.weight", source);
  c.kernel = static_cast<int>(lk[2]);
  if (c.kernel < 1 || c.kernel > 63 || c.kernel % 2 == 0 || c.pdim > c.dim) {
    bad_model(source,
              fmt::format("tensor 'feats.1.lk.conv.weight' is [{}] for {} channels",
                          fmt::join(lk, ","), c.dim),
              "expected an odd kernel up to 63 on at most all channels");
  }
  const std::string mixer = c.real ? "channel_mixer" : "channe_mixer";
  const auto m0 = shape4(weights, source, fmt::format("feats.1.{}.0.weight", mixer));
  const auto m2 = shape4(weights, source, fmt::format("feats.1.{}.2.weight", mixer));
  if (m0[2] == 3 && m2[2] == 1) {
    c.mixer = PlksrMixer::ccm;
  } else if (m0[2] == 1 && m2[2] == 3) {
    c.mixer = PlksrMixer::iccm;
  } else if (m0[2] == 3 && m2[2] == 3) {
    c.mixer = PlksrMixer::dccm;
  } else {
    bad_model(source,
              fmt::format("channel mixer kernels {}x{} then {}x{} ('feats.1.{}.0.weight', "
                          "'.2.weight')",
                          m0[2], m0[2], m2[2], m2[2], mixer),
              "expected CCM (3 then 1), ICCM (1 then 3) or DCCM (3 then 3)");
  }
  if (c.real && c.mixer != PlksrMixer::dccm) {
    bad_model(source, "RealPLKSR with a channel mixer other than DCCM", kHint);
  }
  c.attention = static_cast<bool>(weights("feats.1.attn.f.0.weight"));
  c.blocks = 0;
  while (weights(fmt::format("feats.{}.refine.weight", c.blocks + 1))) ++c.blocks;
  // The last conv follows the blocks (RealPLKSR: after a parameter-free Dropout2d).
  const std::string last = fmt::format("feats.{}.weight", c.blocks + (c.real ? 2 : 1));
  const auto tail = weights(last);
  if (!tail) bad_model(source, fmt::format("tensor '{}' is missing", last), kHint);
  const int out = channel_count(*tail, 0, last, source);
  const int s = static_cast<int>(std::lround(std::sqrt(out / 3.0)));
  if (s < 1 || s > 8 || 3 * s * s != out) {
    bad_model(source,
              fmt::format("tensor '{}' has {} output channels: no scale 1 to 8 for RGB", last, out),
              "a PLKSR checkpoint ends with a conv to 3 x scale^2 channels");
  }
  c.upscale = s;
  return c;
}

Graph build_plksr(const PlksrConfig& c, const WeightLookup& weights, const std::string& source) {
  if (c.blocks < 1) bad_model(source, "tensor 'feats.1.refine.weight' is missing", kHint);
  if (c.real && !c.layer_norm && c.dim % c.norm_groups != 0) {
    bad_model(
        source,
        fmt::format("RealPLKSR with {} channels: not {} GroupNorm groups", c.dim, c.norm_groups),
        kHint);
  }
  const int d = c.dim;
  Graph g;
  g.name = source;
  g.in_channels = 3;
  g.out_channels = 3;
  g.scale = c.upscale;
  GraphBuilder b{weights, source, kHint, g};
  int x = b.conv("feats.0", g.input, 3, d, 3);
  const std::string mixer = c.real ? "channel_mixer" : "channe_mixer";
  const int k0 = c.mixer == PlksrMixer::iccm ? 1 : 3;
  const int k2 = c.mixer == PlksrMixer::ccm ? 1 : 3;
  for (int i = 1; i <= c.blocks; ++i) {
    const std::string p = fmt::format("feats.{}", i);
    const int skip = x;
    if (c.layer_norm) {
      x = b.layer_norm(p + ".layer_norm", x, d);
      g.nodes.back().eps = 1e-6F;
    }
    int y = b.conv(fmt::format("{}.{}.0", p, mixer), x, d, 2 * d, k0);
    y = b.unary(c.real ? OpType::mish : OpType::gelu, fmt::format("{}.{}.1", p, mixer), y);
    y = b.conv(fmt::format("{}.{}.2", p, mixer), y, 2 * d, d, k2);
    // The partial large-kernel conv: the first pdim channels only.
    if (c.pdim == d) {
      y = b.conv(p + ".lk.conv", y, d, d, c.kernel);
    } else {
      Node head;
      head.type = OpType::slice_channels;
      head.name = p + ".lk";
      head.count = c.pdim;
      head.inputs = {y};
      const int h = b.add(std::move(head));
      const int lk = b.conv(p + ".lk.conv", h, c.pdim, c.pdim, c.kernel);
      Node rest;
      rest.type = OpType::slice_channels;
      rest.name = p + ".lk";
      rest.begin = c.pdim;
      rest.count = d - c.pdim;
      rest.inputs = {y};
      const int r = b.add(std::move(rest));
      y = b.binary(OpType::concat, p + ".lk", lk, r);
    }
    if (c.attention) {
      const int f = b.conv(p + ".attn.f.0", y, d, d, 3);
      const int gate = b.unary(OpType::sigmoid, p + ".attn.f.1", f);
      y = b.binary(OpType::mul, p + ".attn", y, gate);
    }
    y = b.conv(p + ".refine", y, d, d, 1);
    if (c.real && !c.layer_norm) {
      Node norm;
      norm.type = OpType::group_norm;
      norm.name = p + ".norm";
      norm.groups = c.norm_groups;
      norm.weight = fetch_tensor(weights, source, p + ".norm.weight", {d}, kHint);
      norm.bias = fetch_tensor(weights, source, p + ".norm.bias", {d}, kHint);
      norm.inputs = {y};
      y = b.add(std::move(norm));
    }
    x = b.binary(OpType::add, p, y, skip);
  }
  const int s2 = c.upscale * c.upscale;
  x = b.conv(fmt::format("feats.{}", c.blocks + (c.real ? 2 : 1)), x, d, 3 * s2, 3);
  if (c.dysample) {
    // feats(x) + repeat_interleave(x, s^2) (a 1x1 conv copying each colour s^2 times), then
    // DySample: 3 groups at odd scales, else 4; its 1x1 end conv unless at x1.
    Node repeat;
    repeat.type = OpType::conv2d;
    repeat.name = "repeat_op";
    repeat.in_channels = 3;
    repeat.out_channels = 3 * s2;
    repeat.weight.assign(static_cast<std::size_t>(s2) * 9, 0.0F);
    for (int k = 0; k < 3 * s2; ++k) repeat.weight[static_cast<std::size_t>(k) * 3 + k / s2] = 1;
    repeat.inputs = {g.input};
    x = b.binary(OpType::add, "feats", x, b.add(std::move(repeat)));
    g.output =
        b.dysample("to_img", x, 3 * s2, 3, c.upscale, c.upscale % 2 != 0 ? 3 : 4, c.upscale != 1);
    g.receptive_radius = engine::estimate_receptive_radius(g);
    engine::validate(g);
    return g;
  }
  // feats(x) + repeat_interleave(x, s^2) then pixel shuffle = shuffle(feats(x)) + nearest(x).
  int base = g.input;
  if (c.upscale > 1) {
    Node shuffle;
    shuffle.type = OpType::pixel_shuffle;
    shuffle.name = "to_img";
    shuffle.factor = c.upscale;
    shuffle.inputs = {x};
    x = b.add(std::move(shuffle));
    Node nearest;
    nearest.type = OpType::upsample_nearest;
    nearest.name = "repeat_op";
    nearest.factor = c.upscale;
    nearest.inputs = {g.input};
    base = b.add(std::move(nearest));
  }
  g.output = b.binary(OpType::add, "out", x, base);
  g.receptive_radius = engine::estimate_receptive_radius(g);
  engine::validate(g);
  return g;
}

}  // namespace hires::models
