// SwinIR (Liang, Cao, Sun, Zhang, Van Gool and Timofte, "SwinIR: Image Restoration Using Swin
// Transformer", ICCVW 2021). A 3x3 conv to `embed` channels; residual Swin transformer blocks
// (RSTB: `depth` Swin blocks of window attention, alternately shifted by half a window, and an
// MLP, each after a LayerNorm, then a conv and a residual); LayerNorm, a conv and a residual; then
// one of the released upsamplers: pixelshuffle (classical SR: conv + LeakyReLU, conv + pixel
// shuffle stages, conv), pixelshuffledirect (lightweight: one conv + pixel shuffle), nearest+conv
// (real-world SR: nearest x2 and conv stages) or none (denoising, JPEG artefacts: x + conv).
// The image is reflected up to a multiple of the window, normalised by DIV2K's RGB mean (grey
// images: none) and cropped back at the end, as the released code does. Parameter names are the
// released checkpoints' ("layers.0.residual_group.blocks.0.attn.relative_position_bias_table").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/graph.hpp"
#include "models/swin_common.hpp"

namespace hires::models {

struct SwinirConfig {
  int in_ch = 3;
  int out_ch = 3;
  int embed = 180;
  std::vector<int> depths;  // Swin blocks per RSTB
  std::vector<int> heads;   // attention heads per RSTB
  int window = 8;
  int mlp_hidden = 360;  // the MLP's hidden width (mlp_ratio x embed)
  int num_feat = 64;     // channels of the pixelshuffle and nearest+conv upsamplers
  int upscale = 4;
  SwinUpsampler upsampler = SwinUpsampler::pixelshuffle;
  bool three_conv = false;  // resi_connection '3conv' (the real-world large model) or '1conv'
  bool patch_norm = true;   // a LayerNorm after the first conv ('patch_embed.norm')
};

// "classical, 180 dim, 6x6 blocks, 6 heads, window 8" for `hires models`.
std::string swinir_variant(const SwinirConfig& c);

// Reads the configuration from tensor names and shapes: std::nullopt when the file is not SwinIR
// (no 'conv_first.weight' with
// 'layers.0.residual_group.blocks.0.attn.relative_position_bias_table', or HAT's or Swin2SR's
// tensors); Error(input) naming `source` and the tensor when it is SwinIR but a shape fits no
// configuration.
std::optional<SwinirConfig> detect_swinir(const WeightLookup& weights, const std::string& source);

// Builds the graph; Error(input) names `source` and the first tensor that is missing or of the
// wrong shape.
engine::Graph build_swinir(const SwinirConfig& config, const WeightLookup& weights,
                           const std::string& source);

}  // namespace hires::models
