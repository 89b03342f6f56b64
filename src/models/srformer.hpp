// SRFormer (Zhou, Li, Tang, Yao, Cheng and Hou, "SRFormer: Permuted Self-Attention for Single
// Image Super-Resolution", ICCV 2023). SwinIR's frame (first conv, patch LayerNorm, residual
// groups of blocks each closed by a conv, LayerNorm, conv, residual, SwinIR's upsamplers, DIV2K
// mean and reflect padding to the window) with two changes in each block: permuted
// self-attention (PSA: queries from every pixel of a window, keys and values from a projection
// to C/2 channels whose k and v halves are gathered per 2x2 block into C channels, so each
// window attends to a quarter as many keys; the bias table is (window - 1)^2 rows) and a
// convolutional feed-forward network (fc1, GELU, plus a 5x5 depth-wise conv with GELU, fc2).
// Variants: SRFormer (classical: 180 dim, 6x6 blocks, 6 heads, window 24), SRFormer-light (60 dim,
// 4x6 blocks, window 16, pixelshuffledirect), real-world (nearest+conv, 3conv). Parameter names
// are the released checkpoints' ("layers.0.residual_group.blocks.0.attn.kv.weight",
// "layers.0.residual_group.blocks.0.mlp.dwconv.depthwise_conv.0.weight").
#pragma once

#include <optional>
#include <string>

#include "engine/graph.hpp"
#include "models/swinir.hpp"

namespace hires::models {

// SwinIR's configuration; `window` is the query window (twice the bias table's).
using SrformerConfig = SwinirConfig;

// "classical, 180 dim, 6x6 blocks, 6 heads, window 24" (SRFormer-light: "lightweight, 60 dim,
// ...") for `hires models`.
std::string srformer_variant(const SrformerConfig& c);

// std::nullopt when the file is not SRFormer (no 'conv_first.weight' with
// 'layers.0.residual_group.blocks.0.attn.kv.weight'); Error(input) naming `source` and the
// tensor when it is SRFormer but a shape fits no configuration.
std::optional<SrformerConfig> detect_srformer(const WeightLookup& weights,
                                              const std::string& source);

// Builds the graph; Error(input) names `source` and the first tensor that is missing or of the
// wrong shape.
engine::Graph build_srformer(const SrformerConfig& config, const WeightLookup& weights,
                             const std::string& source);

}  // namespace hires::models
