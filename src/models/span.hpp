// SPAN, the Swift Parameter-free Attention Network (Wan, Yu, Li, Wang, Chen and others, "Swift
// Parameter-free Attention Network for Efficient Super-Resolution", CVPRW 2024; NTIRE 2024
// efficient SR winner). Six (or N) SPAB blocks of three Conv3XC convolutions with SiLU between
// them and a parameter-free attention sigmoid(x) - 0.5; a 1x1 conv over [first features, conv_2
// of the last block, block 1's output, the last block's first conv], a 3x3 conv to out_ch * s^2
// and pixel shuffle. Parameter names follow the PyTorch modules ("block_1.c1_r.conv.0.weight").
//
// Conv3XC is a training-time reparameterisation: sk (1x1) + conv (1x1 -> 3x3 -> 1x1, gain 2).
// At load time each one becomes the single 3x3 conv the network runs in eval mode, in double:
//   K[o,i,y,x] = sum_m sum_j W3[o,m] W2[m,j,y,x] W1[j,i]  (+ Wsk[o,i] at the centre tap)
//   B[o]       = b3[o] + bsk[o] + sum_m W3[o,m] (b2[m] + sum_j sum_yx W2[m,j,y,x] b1[j])
// which is the eval_conv PyTorch computes (padding 1 around x, b1 seen through the whole 3x3
// window, as in the reference implementation's update_params).
#pragma once

#include <optional>
#include <string>

#include "engine/graph.hpp"
#include "models/srvgg.hpp"  // WeightView, WeightLookup, channel_count

namespace hires::models {

struct SpanConfig {
  int in_ch = 3;
  int out_ch = 3;
  int feature_channels = 48;
  int blocks = 6;
  int upscale = 4;
  bool norm = true;  // (x - rgb_mean) * 255 first; false when the file has a 'no_norm' buffer
};

// "48nf, 6 blocks, norm" for `hires models`.
std::string span_variant(const SpanConfig& c);

// Reads the configuration from tensor names and shapes: std::nullopt when the file is not SPAN
// (no 'conv_1.sk.weight' with 'block_1.c1_r.sk.weight'); Error(input) naming `source` and the
// tensor when it is SPAN but a size is out of range or the upsampler fits no scale.
std::optional<SpanConfig> detect_span(const WeightLookup& weights, const std::string& source);

// Builds the graph, fusing every Conv3XC; Error(input) names `source` and the first tensor that
// is missing or of the wrong shape ("tensor 'conv_cat.weight' is [..], expected [..]").
engine::Graph build_span(const SpanConfig& config, const WeightLookup& weights,
                         const std::string& source);

}  // namespace hires::models
