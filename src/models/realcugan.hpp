// Real-CUGAN from its PyTorch files (bilibili/ailab's UpCunet v3, MIT: "up2x-latest-*.pth" and
// the community's), with the released parameter names ("unet1.conv1.conv.0.weight",
// "unet2.conv3.seblock.conv1.weight", "conv_final.weight"): two U-Nets of unpadded 3x3
// convolutions with LeakyReLU(0.1), 2x2 stride-2 convolutions down and transposed ones up, SE
// blocks, crops to align the skips; UpCunet2x (the first U-Net ends in a 4x4 stride-2
// transposed conv), 3x (5x5 stride 3), 4x (64-channel U-Nets, a 3x3 conv, pixel shuffle and the
// input enlarged by nearest neighbour) and 2x "fast" (the 4x body after a pixel unshuffle). The
// image is reflect-padded first (18, 14, 19 or 38 pixels, and to a multiple of 2 or 4) as the
// released forward pass does, and cropped back; 'pro' files (a "pro" tensor) run on x * 0.7 +
// 0.15. Channel widths come from the tensors' shapes.
#pragma once

#include <optional>
#include <string>

#include "engine/graph.hpp"
#include "models/arch_util.hpp"

namespace hires::models {

struct RealcuganConfig {
  int scale = 2;      // 2, 3 or 4
  bool fast = false;  // UpCunet2x_fast: pixel unshuffle, the 4x body
  bool pro = false;   // input mapped to 0.15..0.85 and back
  int in_ch = 3;
  int out_ch = 3;
};

// "x2", "x3 pro", "x2 fast" for `hires models`.
std::string realcugan_variant(const RealcuganConfig& c);

// std::nullopt when the file is not Real-CUGAN (no 'unet1.conv1.conv.0.weight' with
// 'unet2.conv_bottom.weight'); Error(input) naming `source` and the tensor when a shape fits no
// variant.
std::optional<RealcuganConfig> detect_realcugan(const WeightLookup& weights,
                                                const std::string& source);

// Builds the graph; Error(input) names `source` and the first tensor that is missing or of the
// wrong shape.
engine::Graph build_realcugan(const RealcuganConfig& config, const WeightLookup& weights,
                              const std::string& source);

}  // namespace hires::models
