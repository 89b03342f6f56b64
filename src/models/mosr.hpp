// MoSR ("Mamba Out Super-Resolution", neosr, 2024; its blocks are MambaOut's gated CNN block:
// Yu and Wang, "MambaOut: Do We Really Need Mamba for Vision?", arXiv 2405.07992). A 3x3 conv
// to `dim` features; `blocks` gated CNN blocks, each: LayerNorm over the channels (eps 1e-6),
// a 3x3 conv to 2 x hidden channels split into a gate g, an identity part and a conv part (a
// depth-wise k x k conv), mish(g) times the concatenation of the other two, a 3x3 conv back,
// Mish, plus the block's input minus 0.5; a tail (3x3 conv to 2 x dim, Mish, 3x3 conv, Mish, 1x1
// conv) plus a shortcut from the image (ConvBlock: two 3x3 convs with Mish beside a 1x1 conv)
// minus 0.5; then the upsampler: 'ps' (conv + pixel shuffle), 'gps' (the mean of 8 such convs,
// folded at load into one) or 'dys' (DySample, arch_util's GraphBuilder::dysample). Parameter
// names are the released files' ("gblocks.1.fc1.weight", "shortcut.block.0.weight",
// "upsampler.0.weight").
#pragma once

#include <optional>
#include <string>

#include "engine/graph.hpp"
#include "models/arch_util.hpp"

namespace hires::models {

struct MosrConfig {
  int in_ch = 3;
  int out_ch = 3;
  int dim = 64;
  int blocks = 24;
  int hidden = 96;         // expansion ratio x dim
  int conv_channels = 64;  // conv ratio x dim: the depth-wise conv's share of the hidden channels
  int kernel = 7;          // the depth-wise conv's size
  int upscale = 4;
  bool geo_ensemble = false;  // 'gps' upsampler (else 'ps')
  bool dysample = false;      // 'dys' upsampler: DySample (4 groups, end conv to out_ch)
};

// "64 dim, 24 blocks, 7x7, expansion 1.5, ps" for `hires models`.
std::string mosr_variant(const MosrConfig& c);

// std::nullopt when the file is not MoSR (no 'gblocks.0.weight' with 'gblocks.1.fc1.weight');
// Error(input) naming `source` and the tensor when it is MoSR but a shape fits no configuration.
std::optional<MosrConfig> detect_mosr(const WeightLookup& weights, const std::string& source);

// Builds the graph; Error(input) names `source` and the first tensor that is missing or of the
// wrong shape.
engine::Graph build_mosr(const MosrConfig& config, const WeightLookup& weights,
                         const std::string& source);

}  // namespace hires::models
