// PLKSR, the Partial Large Kernel CNN (Lee and Yoo, "Partial Large Kernel CNNs for Efficient
// Super-Resolution", arXiv 2404.11848, 2024), and RealPLKSR, neosr's variant for real-world
// degradations (DCCM channel mixer with Mish, GroupNorm after each block, dropout before the
// last conv, which inference skips). Each block: a channel mixer (CCM 3x3 -> GELU -> 1x1, ICCM
// 1x1 -> 3x3, DCCM 3x3 -> 3x3), a large-kernel conv (up to 17x17) on the first `pdim` channels
// only while the rest pass through, element-wise attention x * sigmoid(conv3x3(x)), a 1x1
// refinement, and the block's input added back. The last conv makes 3 * s^2 channels; the
// input repeated s^2 times per channel (repeat_interleave) is added and pixel-shuffled, which is
// the nearest-upsampled input. Parameter names follow the PyTorch modules, including PLKSR's
// spelling "channe_mixer".
#pragma once

#include <optional>
#include <string>

#include "engine/graph.hpp"
#include "models/srvgg.hpp"  // WeightView, WeightLookup, channel_count

namespace hires::models {

enum class PlksrMixer { ccm, iccm, dccm };

struct PlksrConfig {
  bool real = false;  // RealPLKSR (neosr): "channel_mixer", Mish, GroupNorm
  int dim = 64;
  int blocks = 28;
  int upscale = 4;
  int kernel = 17;  // the partial conv's kernel
  int pdim = 16;    // channels it sees (dim * split_ratio)
  bool attention = true;
  PlksrMixer mixer = PlksrMixer::ccm;
  int norm_groups = 4;      // RealPLKSR's GroupNorm: not in the file; every release uses 4
  bool layer_norm = false;  // RealPLKSR: a LayerNorm (eps 1e-6) opens each block, no GroupNorm
  bool dysample = false;    // RealPLKSR: DySample's upsampler ('to_img') instead of a shuffle
};

// "64dim, 28 blocks, 17x17 on 16, CCM" for `hires models`.
std::string plksr_variant(const PlksrConfig& c);

// std::nullopt when the file is not (Real)PLKSR; Error(input) naming `source` and the tensor
// when it is, but with sizes that fit no network.
std::optional<PlksrConfig> detect_plksr(const WeightLookup& weights, const std::string& source);

// Builds the graph; Error(input) names `source` and the first tensor missing or misshapen.
engine::Graph build_plksr(const PlksrConfig& config, const WeightLookup& weights,
                          const std::string& source);

}  // namespace hires::models
