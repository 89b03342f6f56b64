#include "models/swin_common.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <algorithm>
#include <array>
#include <cmath>

#include "models/srvgg.hpp"  // channel_count

namespace hires::models {
namespace {

using engine::Node;
using engine::OpType;

// The RGB mean of DIV2K, which the released SwinIR and HAT code subtract from 3-channel inputs.
constexpr std::array<float, 3> kRgbMean = {0.4488F, 0.4371F, 0.4040F};

int out_channels(const WeightLookup& weights, const std::string& name, const std::string& source) {
  const auto w = weights(name);
  return channel_count(*w, 0, name, source);
}

}  // namespace

const char* upsampler_name(SwinUpsampler u) {
  switch (u) {
    case SwinUpsampler::pixelshuffle:
      return "pixelshuffle";
    case SwinUpsampler::pixelshuffledirect:
      return "pixelshuffledirect";
    case SwinUpsampler::nearest_conv:
      return "nearest+conv";
    case SwinUpsampler::none:
      return "no upsampler";
  }
  return "?";
}

int window_from_table(std::int64_t rows, const std::string& tensor, const std::string& source,
                      const std::string& hint) {
  const auto side = static_cast<std::int64_t>(std::lround(std::sqrt(static_cast<double>(rows))));
  if (side * side != rows || side % 2 == 0 || side < 1 || side > 127) {
    bad_model(source,
              fmt::format("tensor '{}' has {} rows, not (2 x window - 1)^2 for a window of 1 to 64",
                          tensor, rows),
              hint);
  }
  return static_cast<int>((side + 1) / 2);
}

std::string swin_block_name(int layer, int block) {
  return fmt::format("layers.{}.residual_group.blocks.{}", layer, block);
}

SwinLayers detect_swin_layers(const WeightLookup& weights, const std::string& source,
                              const std::string& hint) {
  SwinLayers c;
  for (int i = 0; weights(swin_block_name(i, 0) + ".norm1.weight"); ++i) {
    int depth = 0;
    while (weights(swin_block_name(i, depth) + ".norm1.weight")) ++depth;
    const std::string table = swin_block_name(i, 0) + ".attn.relative_position_bias_table";
    const auto t = weights(table);
    if (!t || t->shape.size() != 2) {
      bad_model(source, fmt::format("tensor '{}' is missing or not 2-dimensional", table), hint);
    }
    c.depths.push_back(depth);
    c.heads.push_back(channel_count(*t, 1, table, source));
    const int window = window_from_table(t->shape[0], table, source, hint);
    if (i == 0) c.window = window;
    if (window != c.window) {
      bad_model(source,
                fmt::format("tensor '{}' is for a window of {}, the first layer's is {}", table,
                            window, c.window),
                hint);
    }
  }
  if (c.depths.empty()) {
    bad_model(source, fmt::format("tensor '{}.norm1.weight' is missing", swin_block_name(0, 0)),
              hint);
  }
  const std::string fc1 = swin_block_name(0, 0) + ".mlp.fc1.weight";
  const auto hidden = weights(fc1);
  if (!hidden) bad_model(source, fmt::format("tensor '{}' is missing", fc1), hint);
  c.mlp_hidden = channel_count(*hidden, 0, fc1, source);
  return c;
}

std::string swin_layers_text(const std::vector<int>& depths, const std::vector<int>& heads) {
  const auto same = [](const std::vector<int>& v) {
    return std::all_of(v.begin(), v.end(), [&](int d) { return d == v.front(); });
  };
  if (!depths.empty() && same(depths) && same(heads)) {
    return fmt::format("{}x{} blocks, {} heads", depths.size(), depths.front(), heads.front());
  }
  return fmt::format("blocks {}, heads {}", fmt::join(depths, ","), fmt::join(heads, ","));
}

SwinTail detect_swin_tail(const WeightLookup& weights, int embed, int in_ch,
                          const std::string& source, const std::string& hint) {
  SwinTail t;
  if (weights("conv_up1.weight")) {
    t.upsampler = SwinUpsampler::nearest_conv;
    t.upscale = weights("conv_up2.weight") ? 4 : 2;
    t.num_feat = out_channels(weights, "conv_up1.weight", source);
  } else if (weights("conv_before_upsample.0.weight")) {
    t.upsampler = SwinUpsampler::pixelshuffle;
    t.num_feat = out_channels(weights, "conv_before_upsample.0.weight", source);
    for (int i = 0; weights(fmt::format("upsample.{}.weight", i)); i += 2) {
      const std::string name = fmt::format("upsample.{}.weight", i);
      const int out = out_channels(weights, name, source);
      if (out != 4 * t.num_feat && out != 9 * t.num_feat) {
        bad_model(source,
                  fmt::format("tensor '{}' has {} output channels, expected {} (x2) or {} (x3)",
                              name, out, 4 * t.num_feat, 9 * t.num_feat),
                  hint);
      }
      t.upscale *= out == 4 * t.num_feat ? 2 : 3;
    }
    if (t.upscale == 1) bad_model(source, "tensor 'upsample.0.weight' is missing", hint);
  } else if (weights("upsample.0.weight")) {
    t.upsampler = SwinUpsampler::pixelshuffledirect;
    const int out = out_channels(weights, "upsample.0.weight", source);
    for (int ch : {in_ch, 3, 1}) {
      const int s = static_cast<int>(std::lround(std::sqrt(static_cast<double>(out) / ch)));
      if (s >= 1 && s <= 8 && s * s * ch == out) {
        t.upscale = s;
        t.out_ch = ch;
        return t;
      }
    }
    bad_model(source,
              fmt::format("tensor 'upsample.0.weight' has {} output channels: no scale 1 to 8 "
                          "for {} image channels",
                          out, in_ch),
              hint);
  } else {
    t.upsampler = SwinUpsampler::none;
    t.num_feat = embed;
  }
  const auto last = weights("conv_last.weight");
  if (!last) bad_model(source, "tensor 'conv_last.weight' is missing", hint);
  t.out_ch = channel_count(*last, 0, "conv_last.weight", source);
  return t;
}

int SwinBuilder::window_attention(const std::string& prefix, int x, int dim, int heads, int window,
                                  int shift) {
  // qkv's bias is optional in the released code (qkv_bias); every other Linear has one.
  const int qkv =
      linear(prefix + ".qkv", x, dim, 3 * dim, static_cast<bool>(weights(prefix + ".qkv.bias")));
  Node n;
  n.type = OpType::window_attention;
  n.name = prefix;
  n.heads = heads;
  n.window = window;
  n.window_shift = shift;
  const int head_dim = dim / heads;  // PyTorch's dim // heads
  n.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
  const std::int64_t span = 2 * window - 1;
  n.weight = fetch_tensor(weights, source, prefix + ".relative_position_bias_table",
                          {span * span, heads}, hint);
  n.inputs = {qkv};
  const int attended = add(std::move(n));
  return linear(prefix + ".proj", attended, dim, dim);
}

int SwinBuilder::residual_conv(const std::string& name, int x, int dim, bool three) {
  if (!three) return conv(name, x, dim, dim, 3);
  auto lrelu = [&](int v) {
    Node n;
    n.type = OpType::leaky_relu;
    n.name = name + ".lrelu";
    n.alpha = 0.2F;
    n.inputs = {v};
    return add(std::move(n));
  };
  const int q = dim / 4;
  const int a = lrelu(conv(name + ".0", x, dim, q, 3));
  const int c = lrelu(conv(name + ".2", a, q, q, 1));
  return conv(name + ".4", c, q, dim, 3);
}

int SwinBuilder::mlp(const std::string& prefix, int x, int dim, int hidden) {
  const int h = linear(prefix + ".fc1", x, dim, hidden);
  const int a = unary(OpType::gelu, prefix + ".act", h);
  return linear(prefix + ".fc2", a, hidden, dim);
}

int SwinBuilder::swin_block(const std::string& prefix, int x, int dim, int heads, int window,
                            int shift, int hidden) {
  const int n1 = layer_norm(prefix + ".norm1", x, dim);
  const int a = window_attention(prefix + ".attn", n1, dim, heads, window, shift);
  const int x1 = binary(OpType::add, prefix + ".attn_residual", x, a);
  const int n2 = layer_norm(prefix + ".norm2", x1, dim);
  const int m = mlp(prefix + ".mlp", n2, dim, hidden);
  return binary(OpType::add, prefix + ".mlp_residual", x1, m);
}

int SwinBuilder::frame_input(int window, float img_range, int min_side) {
  Node pad;
  pad.type = OpType::pad_to_multiple;
  pad.name = "check_image_size";
  pad.factor = window;
  pad.count = min_side;
  pad.pad_mode = engine::PadMode::reflect;
  pad.inputs = {g.input};
  int x = add(std::move(pad));
  const int c = g.in_channels;
  std::vector<float> scale(static_cast<std::size_t>(c), img_range);
  std::vector<float> shift(static_cast<std::size_t>(c), 0.0F);
  for (int i = 0; i < c && c == 3; ++i) shift[i] = -kRgbMean[i] * img_range;
  if (c == 3 || img_range != 1.0F) x = channel_affine("normalise", x, scale, shift);
  return x;
}

int SwinBuilder::unframe_output(int x, float img_range) {
  const int c = g.out_channels;
  std::vector<float> scale(static_cast<std::size_t>(c), 1.0F / img_range);
  std::vector<float> shift(static_cast<std::size_t>(c), 0.0F);
  for (int i = 0; i < c && c == 3; ++i) shift[i] = kRgbMean[i];
  if (c == 3 || img_range != 1.0F) x = channel_affine("denormalise", x, scale, shift);
  Node crop;
  crop.type = OpType::crop_like;
  crop.name = "crop";
  crop.factor = g.scale;
  crop.inputs = {x, g.input};
  return add(std::move(crop));
}

int SwinBuilder::tail(const SwinTail& t, int body, int framed, int embed) {
  const int nf = t.num_feat;
  auto lrelu = [&](const std::string& name, int v, float slope) {
    Node n;
    n.type = OpType::leaky_relu;
    n.name = name;
    n.alpha = slope;
    n.inputs = {v};
    return add(std::move(n));
  };
  auto shuffle = [&](const std::string& name, int v, int factor) {
    Node n;
    n.type = OpType::pixel_shuffle;
    n.name = name;
    n.factor = factor;
    n.inputs = {v};
    return add(std::move(n));
  };
  switch (t.upsampler) {
    case SwinUpsampler::pixelshuffle: {
      // nn.LeakyReLU(inplace=True): PyTorch's default slope, 0.01.
      int x = lrelu("conv_before_upsample.1", conv("conv_before_upsample.0", body, embed, nf, 3),
                    0.01F);
      int done = 1;
      for (int i = 0; done < t.upscale; i += 2) {
        const int factor = t.upscale % 3 == 0 ? 3 : 2;
        x = shuffle(fmt::format("upsample.{}", i + 1),
                    conv(fmt::format("upsample.{}", i), x, nf, nf * factor * factor, 3), factor);
        done *= factor;
      }
      return conv("conv_last", x, nf, t.out_ch, 3);
    }
    case SwinUpsampler::pixelshuffledirect:
      return shuffle("upsample.1",
                     conv("upsample.0", body, embed, t.out_ch * t.upscale * t.upscale, 3),
                     t.upscale);
    case SwinUpsampler::nearest_conv: {
      int x = lrelu("conv_before_upsample.1", conv("conv_before_upsample.0", body, embed, nf, 3),
                    0.01F);
      for (int i = 1; (1 << i) <= t.upscale; ++i) {
        Node up;
        up.type = OpType::upsample_nearest;
        up.name = fmt::format("interpolate{}", i);
        up.factor = 2;
        up.inputs = {x};
        x = lrelu("lrelu", conv(fmt::format("conv_up{}", i), add(std::move(up)), nf, nf, 3), 0.2F);
      }
      return conv("conv_last", lrelu("lrelu", conv("conv_hr", x, nf, nf, 3), 0.2F), nf, t.out_ch,
                  3);
    }
    case SwinUpsampler::none:
      return binary(OpType::add, "residual", framed, conv("conv_last", body, embed, t.out_ch, 3));
  }
  return body;
}

}  // namespace hires::models
