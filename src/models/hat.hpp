// HAT (Chen, Wang, Zhou, Qiao and Dong, "Activating More Pixels in Image Super-Resolution
// Transformer", CVPR 2023). SwinIR's frame (first conv, residual groups, LayerNorm, conv, the
// pixelshuffle upsampler, DIV2K mean and reflect padding to the window) with hybrid attention
// blocks: a Swin block whose window attention has a convolution branch beside it (CAB: 3x3 conv
// to dim / compress, GELU, 3x3 conv back, channel attention; added at 0.01), and after each
// group's blocks an overlapping cross-attention block (OCAB: queries in windows, keys and values
// in a larger window around each) before the group's conv and residual. Variants: HAT-S (144
// dim, compress 24, squeeze 24), HAT (180 dim, 6 groups), HAT-L (180 dim, 12 groups); window 16,
// overlap ratio 0.5. Parameter names are the released checkpoints'
// ("layers.0.residual_group.blocks.0.conv_block.cab.0.weight",
// "layers.0.residual_group.overlap_attn.relative_position_bias_table").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/graph.hpp"
#include "models/swin_common.hpp"

namespace hires::models {

struct HatConfig {
  int in_ch = 3;
  int embed = 180;
  std::vector<int> depths;  // hybrid attention blocks per group
  std::vector<int> heads;   // attention heads per group
  int window = 16;
  int overlap_window = 24;  // OCAB's key window: window + window x overlap ratio
  int mlp_hidden = 360;
  int cab_channels = 60;     // the conv branch's middle channels (embed / compress ratio)
  int squeeze_channels = 6;  // the channel attention's middle channels (embed / squeeze factor)
  bool patch_norm = true;
  SwinTail tail;
};

// "HAT-L, 180 dim, 12x6 blocks, 6 heads, window 16, overlap 24" for `hires models`.
std::string hat_variant(const HatConfig& c);

// std::nullopt when the file is not HAT (no 'conv_first.weight' with
// 'layers.0.residual_group.blocks.0.conv_block.cab.0.weight'); Error(input) naming `source` and
// the tensor when it is HAT but a shape fits no configuration.
std::optional<HatConfig> detect_hat(const WeightLookup& weights, const std::string& source);

// Builds the graph; Error(input) names `source` and the first tensor that is missing or of the
// wrong shape.
engine::Graph build_hat(const HatConfig& config, const WeightLookup& weights,
                        const std::string& source);

}  // namespace hires::models
