// DRCT (Hsu, Lee and Chou, "DRCT: Saving Image Super-Resolution away from Information
// Bottleneck", CVPRW 2024). SwinIR's frame (first conv, optional patch LayerNorm, groups,
// LayerNorm, conv, residual, the pixelshuffle upsampler, DIV2K mean and reflect padding to the
// window) with residual dense groups (RDG) instead of RSTBs: five Swin blocks densely connected
// like RRDB's dense block. Block k (1 to 5) sees the group input concatenated with the previous
// blocks' 1x1-conv outputs (embed + (k-1) x growth channels), with `heads - (its width % heads)`
// heads, shifted by half a window on blocks 2 and 4, an MLP of `mlp ratio` x width (blocks 1 to
// 3) or 1 x width (blocks 4 and 5); `adjustk` (1x1 conv, LeakyReLU 0.2) makes its `growth`
// channels, and adjust5 (no activation) the group's output, added to its input at 0.2.
// Variants: DRCT (180 dim, 6 groups, 6 heads, growth 32, window 16, mlp ratio 2) and DRCT-L
// (12 groups); Real-DRCT is DRCT-L trained on real degradations. Parameter names are the
// released checkpoints' ("layers.0.swin2.attn.relative_position_bias_table", "layers.0.adjust1").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/graph.hpp"
#include "models/swin_common.hpp"

namespace hires::models {

struct DrctConfig {
  int in_ch = 3;
  int embed = 180;
  std::vector<int> heads;  // per group: the first block's heads (the released `num_heads`)
  int growth = 32;         // gc: channels each block adds to the dense concatenation
  int window = 16;
  int mlp_hidden = 360;  // the first block's MLP width (embed x mlp ratio)
  bool patch_norm = true;
  bool conv_after_body = true;  // '1conv'; 'identity' has none
  SwinTail tail;
};

// "DRCT-L, 180 dim, 12 groups, 6 heads, growth 32, window 16, mlp 2" for `hires models`.
std::string drct_variant(const DrctConfig& c);

// std::nullopt when the file is not DRCT (no 'conv_first.weight' with 'layers.0.swin1.norm1.weight'
// and 'layers.0.adjust1.weight'); Error(input) naming `source` and the tensor when it is DRCT but
// a shape fits no configuration.
std::optional<DrctConfig> detect_drct(const WeightLookup& weights, const std::string& source);

// Builds the graph; Error(input) names `source` and the first tensor that is missing or of the
// wrong shape.
engine::Graph build_drct(const DrctConfig& config, const WeightLookup& weights,
                         const std::string& source);

}  // namespace hires::models
