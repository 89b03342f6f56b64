// SRVGGNetCompact, the compact net of Real-ESRGAN (Wang et al., "Real-ESRGAN", 2021, and the
// realesr-general/animevideo models): a plain stack of 3x3 convolutions with PReLU (or ReLU /
// LeakyReLU), a last convolution to out_ch * s^2 channels, pixel shuffle, plus the
// nearest-upsampled input. Parameter names follow the PyTorch module ("body.N.weight").
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/graph.hpp"

namespace hires::models {

struct SrvggConfig {
  int in_ch = 3;
  int out_ch = 3;
  int num_feat = 64;
  int num_conv = 16;
  int upscale = 4;
  std::string act = "prelu";  // prelu | leakyrelu | relu
};

struct WeightView {
  std::vector<std::int64_t> shape;
  const std::vector<float>* values = nullptr;
};
// Returns the named parameter, or std::nullopt when the source has no such tensor.
using WeightLookup = std::function<std::optional<WeightView>(const std::string& name)>;

// Builds the graph; throws Error(input) naming `source` and the tensor when a weight is missing or
// has the wrong shape ("tensor 'body.0.weight' is [64,4,3,3], expected [64,3,3,3]").
engine::Graph build_srvgg(const SrvggConfig& config, const WeightLookup& weights,
                          const std::string& source);

// The same architecture with seeded random weights (for benchmarks and tests).
engine::Graph build_srvgg_random(const SrvggConfig& config, unsigned seed);

// Reads the configuration back from tensor shapes (body.0.weight, the last conv, PReLU slopes).
// Throws Error(input) naming `source` when a channel count is outside 1..kMaxChannels.
std::optional<SrvggConfig> detect_srvgg(const WeightLookup& weights,
                                        const std::string& source = {});

// Largest channel count a model tensor may declare.
inline constexpr std::int64_t kMaxChannels = 65536;

// Dimension `dim` of tensor `name` as a channel count; throws Error(input) naming `source` and the
// tensor when it is outside 1..kMaxChannels (a zero or a 2^32 that would wrap to 0 in an int).
int channel_count(const WeightView& w, std::size_t dim, const std::string& name,
                  const std::string& source);

}  // namespace hires::models
