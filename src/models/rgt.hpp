// RGT (Chen, Zhang, Gu, Kong, Yang and Yu, "Recursive Generalization Transformer for Image
// Super-Resolution", ICLR 2024). DAT's frame (first conv, LayerNorm, residual groups each closed
// by a conv and a residual, LayerNorm, conv, the pixelshuffle upsampler, DIV2K mean) whose blocks
// alternate two attentions:
// - even blocks, L-SA: DAT's spatial attention on rectangular windows (half the heads on split
//   rows x columns, half transposed, every fourth block shifted, the dynamic position bias) plus
//   a depth-wise 3x3 conv of v (get_v), then proj;
// - odd blocks, RG-SA: the image recursively reduced (a depth-wise 4x4 stride-4 conv applied
//   max(2, floor(log4(side / 16))) times), a depth-wise 3x3 and a 1x1 conv to c_ratio x dim,
//   LayerNorm and GELU give a few global tokens; every pixel's query (c_ratio x dim) attends to
//   them (keys c_ratio x dim, values dim plus a depth-wise 3x3 conv of them, cpe), then proj;
// each with DAT's spatial-gate feed-forward network and a layer scale: x + gamma x block input.
// RG-SA spans the whole image (its tokens are global): images up to the largest tile run whole.
// Variants: RGT (180 dim, 8x6 blocks, 6 heads, split 8x32, mlp 2, c_ratio 0.5), RGT-S (6x6).
// Parameter names are the released checkpoints' ("layers.0.blocks.1.attn.reduction1.weight",
// "layers.0.blocks.0.attn.attns.0.pos.pos_proj.weight", "layers.0.blocks.0.gamma").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/graph.hpp"
#include "models/swin_common.hpp"

namespace hires::models {

struct RgtConfig {
  int in_ch = 3;
  int embed = 180;
  std::vector<int> depths;  // blocks per residual group
  std::vector<int> heads;   // attention heads per group
  int split_h = 8;          // L-SA's window rows (and the other half's columns)
  int split_w = 32;         // its columns
  int mlp_hidden = 360;     // the feed-forward network's hidden channels (embed x mlp ratio)
  int reduced = 90;         // RG-SA's query and key channels (embed x c_ratio)
  int reduction = 4;        // RG-SA's reduction kernel and stride
  bool three_conv = false;  // resi_connection '3conv'
  SwinTail tail;
};

// "RGT-S, 180 dim, 6x6 blocks, 6 heads, split 8x32, mlp 2, c_ratio 0.5" for `hires models`.
std::string rgt_variant(const RgtConfig& c);

// std::nullopt when the file is not RGT (no 'conv_first.weight' with 'before_RG.1.weight' and
// 'layers.0.blocks.1.attn.reduction1.weight'); Error(input) naming `source` and the tensor when
// it is RGT but a shape fits no configuration.
std::optional<RgtConfig> detect_rgt(const WeightLookup& weights, const std::string& source);

// Builds the graph; Error(input) names `source` and the first tensor that is missing or of the
// wrong shape.
engine::Graph build_rgt(const RgtConfig& config, const WeightLookup& weights,
                        const std::string& source);

}  // namespace hires::models
