// What the window-attention architectures (SwinIR, HAT) share: a builder with Swin's attention
// (qkv Linear, window attention with the relative position bias, proj Linear) and MLP, the input
// framing of their released code (reflect to a multiple of the window, subtract DIV2K's mean,
// times img_range; and back, cropped), and their pixel-shuffle upsamplers.
#pragma once

#include <string>
#include <vector>

#include "engine/graph.hpp"
#include "models/arch_util.hpp"

namespace hires::models {

// How a network ends after its body (SwinIR's `upsampler`; HAT uses pixelshuffle).
enum class SwinUpsampler { pixelshuffle, pixelshuffledirect, nearest_conv, none };

const char* upsampler_name(SwinUpsampler u);

// The upsampler of a checkpoint and its scale, from the tensors after the body:
// 'conv_up1.weight' (nearest+conv; x4 with 'conv_up2.weight'), 'conv_before_upsample.0.weight'
// with 'upsample.0.weight', 'upsample.2.weight', ... (pixelshuffle: stages of x2 or one x3),
// 'upsample.0.weight' alone (pixelshuffledirect) or 'conv_last.weight' alone (none, x1).
struct SwinTail {
  SwinUpsampler upsampler = SwinUpsampler::pixelshuffle;
  int upscale = 1;
  int num_feat = 64;
  int out_ch = 3;
};
SwinTail detect_swin_tail(const WeightLookup& weights, int embed, int in_ch,
                          const std::string& source, const std::string& hint);

// The window size a relative position bias table of `rows` rows ((2w - 1)^2) implies, or
// Error(input) naming `tensor`.
int window_from_table(std::int64_t rows, const std::string& tensor, const std::string& source,
                      const std::string& hint);

// "layers.L.residual_group.blocks.B": a Swin block's prefix in SwinIR and HAT.
std::string swin_block_name(int layer, int block);

// The residual groups of a SwinIR or HAT checkpoint: blocks per group (counted from
// '...blocks.B.norm1.weight'), heads and window (from each first block's relative position bias
// table) and the MLP's hidden width; Error(input) naming the tensor that fits no configuration.
struct SwinLayers {
  std::vector<int> depths;
  std::vector<int> heads;
  int window = 8;
  int mlp_hidden = 0;
};
SwinLayers detect_swin_layers(const WeightLookup& weights, const std::string& source,
                              const std::string& hint);

// "6x6 blocks, 6 heads" when every group has the same depth and heads, else "blocks 6,4,2,
// heads 6,6,3" (for `hires models`).
std::string swin_layers_text(const std::vector<int>& depths, const std::vector<int>& heads);

struct SwinBuilder : GraphBuilder {
  // Multi-head self-attention in (shifted) windows: `prefix`.qkv, the relative position bias
  // table `prefix`.relative_position_bias_table, `prefix`.proj. Returns proj's output.
  int window_attention(const std::string& prefix, int x, int dim, int heads, int window, int shift);
  // A residual group's closing convolution(s) `name`: '1conv' (one 3x3) or '3conv' (3x3 to
  // dim/4, 1x1, 3x3 back, LeakyReLU 0.2 between).
  int residual_conv(const std::string& name, int x, int dim, bool three);
  // `prefix`.fc1, GELU, `prefix`.fc2.
  int mlp(const std::string& prefix, int x, int dim, int hidden);
  // A Swin block: x + attn(norm1(x)), then + mlp(norm2(x)).
  int swin_block(const std::string& prefix, int x, int dim, int heads, int window, int shift,
                 int hidden);
  // The released forward pass's framing: reflect to a multiple of `window` (and to at least
  // `min_side` pixels a side), (x - mean) * range (mean DIV2K's for 3 channels, else 0).
  // Returns the framed input.
  int frame_input(int window, float img_range, int min_side = 0);
  // After the upsampler: x / range + mean, cropped to the input's size times the scale.
  int unframe_output(int x, float img_range);
  // The upsampler after the body (`body` = conv_after_body(...) + first features); `framed` is
  // the framed input (for SwinUpsampler::none, which adds to it).
  int tail(const SwinTail& t, int body, int framed, int embed);
};

}  // namespace hires::models
