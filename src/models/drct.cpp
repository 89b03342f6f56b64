#include "models/drct.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "models/arch_util.hpp"
#include "models/srvgg.hpp"  // channel_count

namespace hires::models {
namespace {

using engine::Graph;
using engine::Node;
using engine::OpType;

constexpr const char* kHint = "not a DRCT checkpoint?";
constexpr int kBlocks = 5;  // Swin blocks per residual dense group
// A group's output is added to its input at this weight (folded into adjust5).
constexpr float kGroupScale = 0.2F;

std::string block_name(int layer, int block) {
  return fmt::format("layers.{}.swin{}", layer, block);
}

struct DrctBuilder : SwinBuilder {
  const DrctConfig& c;

  // The width of block `prefix`'s MLP, from its fc1.
  int mlp_width(const std::string& prefix) {
    const std::string fc1 = prefix + ".mlp.fc1.weight";
    const auto w = weights(fc1);
    if (!w) bad_model(source, fmt::format("tensor '{}' is missing", fc1), hint);
    return channel_count(*w, 0, fc1, source);
  }

  // RDG: five Swin blocks on the growing concatenation, each followed by its 1x1 adjust conv.
  int dense_group(int layer, int x) {
    int dense = x;
    int width = c.embed;
    for (int k = 1; k <= kBlocks; ++k) {
      const std::string prefix = block_name(layer, k);
      // The released code's head count for a block of `width` channels.
      const int heads = c.heads[static_cast<std::size_t>(layer)] -
                        width % c.heads[static_cast<std::size_t>(layer)];
      if (heads <= 0 || width % heads != 0) {
        bad_model(source,
                  fmt::format("tensor '{}.attn.relative_position_bias_table': {} channels do not "
                              "split into {} heads",
                              prefix, width, heads),
                  hint);
      }
      const int shift = k % 2 == 0 ? c.window / 2 : 0;
      const int y = swin_block(prefix, dense, width, heads, c.window, shift, mlp_width(prefix));
      const std::string adjust = fmt::format("layers.{}.adjust{}", layer, k);
      if (k == kBlocks) {
        const int out = conv(adjust, y, width, c.embed, 1);
        for (float& w : g.nodes.back().weight) w *= kGroupScale;
        for (float& b : g.nodes.back().bias) b *= kGroupScale;
        return binary(OpType::add, fmt::format("layers.{}", layer), x, out);
      }
      Node lrelu;
      lrelu.type = OpType::leaky_relu;
      lrelu.name = adjust + ".lrelu";
      lrelu.alpha = 0.2F;
      lrelu.inputs = {conv(adjust, y, width, c.growth, 1)};
      dense = concat(fmt::format("layers.{}.cat{}", layer, k + 1), {dense, add(std::move(lrelu))});
      width += c.growth;
    }
    return x;
  }
};

}  // namespace

std::string drct_variant(const DrctConfig& c) {
  const bool same = !c.heads.empty() && c.heads == std::vector<int>(c.heads.size(), 6);
  const char* name = "DRCT (custom)";
  if (same && c.embed == 180 && c.growth == 32 && c.heads.size() == 6) name = "DRCT";
  if (same && c.embed == 180 && c.growth == 32 && c.heads.size() == 12) name = "DRCT-L";
  const bool one_head_count =
      !c.heads.empty() && c.heads == std::vector<int>(c.heads.size(), c.heads.front());
  const std::string heads = one_head_count ? fmt::format("{} heads", c.heads.front())
                                           : fmt::format("heads {}", fmt::join(c.heads, ","));
  const double ratio = static_cast<double>(c.mlp_hidden) / c.embed;
  return fmt::format("{}, {} dim, {} group{}, {}, growth {}, window {}, mlp {:g}", name, c.embed,
                     c.heads.size(), c.heads.size() == 1 ? "" : "s", heads, c.growth, c.window,
                     ratio);
}

std::optional<DrctConfig> detect_drct(const WeightLookup& weights, const std::string& source) {
  const auto first = weights("conv_first.weight");
  if (!first || !weights(block_name(0, 1) + ".norm1.weight") ||
      !weights("layers.0.adjust1.weight")) {
    return std::nullopt;
  }
  DrctConfig c;
  c.embed = channel_count(*first, 0, "conv_first.weight", source);
  c.in_ch = channel_count(*first, 1, "conv_first.weight", source);
  const auto adjust = weights("layers.0.adjust1.weight");
  c.growth = channel_count(*adjust, 0, "layers.0.adjust1.weight", source);
  for (int i = 0; weights(block_name(i, 1) + ".norm1.weight"); ++i) {
    const std::string table = block_name(i, 1) + ".attn.relative_position_bias_table";
    const auto t = weights(table);
    if (!t || t->shape.size() != 2) {
      bad_model(source, fmt::format("tensor '{}' is missing or not 2-dimensional", table), kHint);
    }
    c.heads.push_back(channel_count(*t, 1, table, source));
    const int window = window_from_table(t->shape[0], table, source, kHint);
    if (i == 0) c.window = window;
    if (window != c.window) {
      bad_model(source,
                fmt::format("tensor '{}' is for a window of {}, the first group's is {}", table,
                            window, c.window),
                kHint);
    }
  }
  const std::string fc1 = block_name(0, 1) + ".mlp.fc1.weight";
  const auto hidden = weights(fc1);
  if (!hidden) bad_model(source, fmt::format("tensor '{}' is missing", fc1), kHint);
  c.mlp_hidden = channel_count(*hidden, 0, fc1, source);
  c.patch_norm = static_cast<bool>(weights("patch_embed.norm.weight"));
  c.conv_after_body = static_cast<bool>(weights("conv_after_body.weight"));
  c.tail = detect_swin_tail(weights, c.embed, c.in_ch, source, kHint);
  if (c.tail.upsampler == SwinUpsampler::none && c.tail.out_ch != c.in_ch) {
    bad_model(source,
              fmt::format("tensor 'conv_last.weight' has {} output channels for {} input channels",
                          c.tail.out_ch, c.in_ch),
              "without an upsampler the output is added to the input");
  }
  return c;
}

Graph build_drct(const DrctConfig& c, const WeightLookup& weights, const std::string& source) {
  Graph g;
  g.name = source;
  g.in_channels = c.in_ch;
  g.out_channels = c.tail.out_ch;
  g.scale = c.tail.upscale;
  g.tile_align = c.window;
  DrctBuilder b{{{weights, source, kHint, g}}, c};
  const int framed = b.frame_input(c.window, 1.0F);
  const int first = b.conv("conv_first", framed, c.in_ch, c.embed, 3);
  int x = c.patch_norm ? b.layer_norm("patch_embed.norm", first, c.embed) : first;
  for (std::size_t i = 0; i < c.heads.size(); ++i) x = b.dense_group(static_cast<int>(i), x);
  x = b.layer_norm("norm", x, c.embed);
  if (c.conv_after_body) x = b.conv("conv_after_body", x, c.embed, c.embed, 3);
  const int body = b.binary(OpType::add, "body_residual", x, first);
  x = b.tail(c.tail, body, framed, c.embed);
  g.output = b.unframe_output(x, 1.0F);
  g.receptive_radius = engine::estimate_receptive_radius(g);
  engine::validate(g);
  return g;
}

}  // namespace hires::models
