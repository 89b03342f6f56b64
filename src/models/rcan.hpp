// RCAN (Zhang et al., "Image Super-Resolution Using Very Deep Residual Channel Attention
// Networks", ECCV 2018), with the released files' parameter names ("head.0.weight",
// "body.0.body.1.body.3.conv_du.0.weight", "tail.0.2.weight", "sub_mean.weight"): residual groups
// of residual channel-attention blocks (conv, ReLU, conv, channel attention: global mean, 1x1
// conv down, ReLU, 1x1 conv up, sigmoid, times the features), a pixel-shuffle upsampler, the DIV2K
// mean shifts on a 0..255 range where the file has them; the 'unshuffle' variant (x1, x2) pixel-
// unshuffles the image by 4 / scale first and upsamples by 4.
#pragma once

#include <optional>
#include <string>

#include "engine/graph.hpp"
#include "models/arch_util.hpp"

namespace hires::models {

struct RcanConfig {
  int colors = 3;          // image channels in and out
  int features = 64;       // n_feats
  int groups = 10;         // residual groups
  int blocks = 20;         // RCABs per group
  int kernel = 3;          // the convolutions' size (the upsampler's are 3x3)
  int reduction = 16;      // channel attention: features / reduction in the middle
  int upscale = 4;         // the image's scale
  int unshuffle = 1;       // the pixel-unshuffle factor before the head (1: none)
  bool mean_shift = true;  // sub_mean / add_mean and the 0..255 range
};

// "64 feats, 10 groups x 20 blocks, reduction 16" (+ ", unshuffle 2", ", 5x5", ", no mean
// shift") for `hires models`.
std::string rcan_variant(const RcanConfig& c);

// std::nullopt when the file is not RCAN (no 'body.0.body.0.body.3.conv_du.0.weight' with
// 'tail.1.weight'); Error(input) naming `source` and the tensor when it is RCAN but a shape fits
// no configuration.
std::optional<RcanConfig> detect_rcan(const WeightLookup& weights, const std::string& source);

// Builds the graph; Error(input) names `source` and the first tensor that is missing or of the
// wrong shape.
engine::Graph build_rcan(const RcanConfig& config, const WeightLookup& weights,
                         const std::string& source);

}  // namespace hires::models
