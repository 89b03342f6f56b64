// OmniSR (Wang, Li, Chen, Yuan and Wang, "Omni Aggregation Networks for Lightweight Image
// Super-Resolution", CVPR 2023). A first conv, residual groups (OSAG: omni self-attention
// blocks, a 1x1 conv, a residual, then enhanced spatial attention, ESA), a conv with a residual
// and a pixel-shuffle upsampler; the input is zero-padded to a multiple of the window and the
// output cropped back. Each OSA block: an MBConv (1x1, GELU, depth-wise 3x3, GELU, squeeze-and-
// excitation, 1x1, residual), window self-attention over `window` x `window` blocks, a gated
// conv feed-forward network, channel self-attention within each block, another feed-forward,
// then the same three on the grid (pixels H/window apart: "grid" attention, and channel
// attention over the pixels `window` apart), each with a LayerNorm before it and a residual.
// Parameter names are the released checkpoints' ("residual_layer.0.residual_layer.0.layer.2.fn.
// rel_pos_bias.weight", "residual_layer.0.esa.conv2.weight").
#pragma once

#include <optional>
#include <string>

#include "engine/graph.hpp"
#include "models/srvgg.hpp"  // WeightLookup

namespace hires::models {

struct OmnisrConfig {
  int in_ch = 3;
  int out_ch = 3;
  int features = 64;
  int groups = 5;  // OSAGs (res_num)
  int blocks = 1;  // OSA blocks per group (block_num)
  int window = 8;  // from the position bias table; 8 when the file has none
  bool pe = true;  // relative position bias in the attentions
  int upscale = 4;
  int esa_channels = 16;  // max(features / 4, 16)
};

// "64nf, 5 groups x 1 block, window 8" for `hires models`.
std::string omnisr_variant(const OmnisrConfig& c);

// std::nullopt when the file is not OmniSR (no 'residual_layer.0.residual_layer.0.layer.0.fn.0.
// weight' with 'input.weight' and 'up.0.weight'); Error(input) naming `source` and the tensor
// when it is OmniSR but a shape fits no configuration.
std::optional<OmnisrConfig> detect_omnisr(const WeightLookup& weights, const std::string& source);

// Builds the graph; Error(input) names `source` and the first tensor that is missing or of the
// wrong shape.
engine::Graph build_omnisr(const OmnisrConfig& config, const WeightLookup& weights,
                           const std::string& source);

}  // namespace hires::models
