// DAT (Chen, Zhang, Gu, Zhang, Kong and Yuan, "Dual Aggregation Transformer for Image
// Super-Resolution", ICCV 2023). SwinIR's frame (first conv, residual groups each closed by a
// conv and a residual, LayerNorm, conv, pixelshuffle or pixelshuffledirect upsampler, DIV2K mean)
// whose blocks alternate two attentions, each beside a depth-wise conv branch that it exchanges
// maps with (adaptive interaction):
// - even blocks: spatial window attention, half the heads on windows of split rows x columns and
//   half on the transposed windows, every fourth block shifted by half a window; the position
//   bias comes from a small MLP over the relative offsets (computed here once, at load);
//   the query/key/value maps are zero-padded to a multiple of the larger split;
// - odd blocks: channel attention over the whole image (q and k L2-normalised over the pixels,
//   a learned temperature per head), whose statistics tiles share like global pooling;
// and a spatial-gate feed-forward network (half the hidden channels, LayerNorm and a depth-wise
// conv, gate the other half). Variants: DAT (180 dim, 6x6 blocks, split 8x32, expansion 4),
// DAT-2 (expansion 2), DAT-S (split 8x16, expansion 2), DAT-light (60 dim, 1x18 blocks,
// pixelshuffledirect, 3conv). Parameter names are the released checkpoints'
// ("layers.0.blocks.0.attn.attns.0.pos.pos_proj.weight", "layers.0.blocks.1.attn.temperature").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/graph.hpp"
#include "models/swin_common.hpp"

namespace hires::models {

struct DatConfig {
  int in_ch = 3;
  int embed = 180;
  std::vector<int> depths;  // blocks per residual group
  std::vector<int> heads;   // attention heads per group (half per window shape)
  int split_h = 8;          // the spatial window's rows (and the other half's columns)
  int split_w = 32;         // its columns
  int ffn_hidden = 720;     // the feed-forward network's hidden channels (embed x expansion)
  bool three_conv = false;  // resi_connection '3conv'
  SwinTail tail;
};

// "DAT-S, 180 dim, 6x6 blocks, 6 heads, split 8x16, expansion 2" for `hires models`.
std::string dat_variant(const DatConfig& c);

// std::nullopt when the file is not DAT (no 'conv_first.weight' with 'before_RG.1.weight' and
// 'layers.0.blocks.0.norm1.weight'); Error(input) naming `source` and the tensor when it is DAT
// but a shape fits no configuration.
std::optional<DatConfig> detect_dat(const WeightLookup& weights, const std::string& source);

// Builds the graph; Error(input) names `source` and the first tensor that is missing or of the
// wrong shape.
engine::Graph build_dat(const DatConfig& config, const WeightLookup& weights,
                        const std::string& source);

}  // namespace hires::models
