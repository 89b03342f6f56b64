// RRDBNet, the generator of ESRGAN (Wang et al., "ESRGAN: Enhanced Super-Resolution Generative
// Adversarial Networks", ECCV workshops 2018) as used by Real-ESRGAN (Wang et al., 2021):
//   conv_first -> num_block x RRDB -> conv_body, plus the conv_first output (long skip)
//   -> (nearest x2, conv_up1, LeakyReLU) -> (nearest x2, conv_up2, LeakyReLU)
//   -> conv_hr, LeakyReLU -> conv_last.
// An RRDB is three residual dense blocks (rdb1..3) and returns x + 0.2 * rdb3(rdb2(rdb1(x))).
// A dense block has five 3x3 convolutions; conv k sees the concatenation of the block input and
// the outputs of convs 1..k-1, convs 1-4 (num_grow_ch outputs) are followed by LeakyReLU(0.2),
// conv5 (num_feat outputs) is not, and the block returns x + 0.2 * conv5. The net always
// upsamples by 4; Real-ESRGAN's x2 (x1) models first pixel-unshuffle the input by 2 (4).
// Parameter names follow the PyTorch module (Real-ESRGAN / BasicSR naming: "conv_first",
// "body.N.rdb1.conv1", "conv_body", "conv_up1", "conv_up2", "conv_hr", "conv_last"); the names of
// the original ESRGAN code ("RRDB_trunk.N.RDB1.conv1", "trunk_conv", "upconv1", "upconv2",
// "HRconv") are read too, and so is the old sequential layout of the first ESRGAN code and most
// community models ("model.0", "model.1.sub.N.RDB1.conv1.0", "model.1.sub.<num_block>",
// then per upsample "model.3", "model.6", ..., the HR conv and the last conv), which also has
// x1, x2 and x8 variants with 0, 1 and 3 upsamples and no pixel-unshuffle.
#pragma once

#include <optional>
#include <string>

#include "engine/graph.hpp"
#include "models/srvgg.hpp"

namespace hires::models {

enum class RrdbNames {
  basicsr,    // Real-ESRGAN / BasicSR: conv_first, body.N.rdb1.conv1, conv_body, conv_up1, ...
  esrgan,     // the ESRGAN repository: RRDB_trunk.N.RDB1.conv1, trunk_conv, upconv1, HRconv
  sequential  // old ESRGAN / community models: model.0, model.1.sub.N.RDB1.conv1.0, model.3, ...
};

struct RrdbConfig {
  int in_ch = 3;  // image channels (before pixel-unshuffle)
  int out_ch = 3;
  int num_feat = 64;
  int num_block = 23;
  int num_grow_ch = 32;
  int scale = 4;         // the net's scale: 2^num_upsample / pixel-unshuffle factor
  int num_upsample = 2;  // nearest x2 + conv + LeakyReLU stages: 2 (Real-ESRGAN), 0..3 (old)
  RrdbNames names = RrdbNames::basicsr;
};

// The name under which `config`'s weights store the parameter that has the BasicSR name `name`
// ("conv_up3" is the third upsample conv of an x8 model).
std::string rrdb_stored_name(const RrdbConfig& config, const std::string& name);

// Builds the graph; throws Error(input) naming `source` and the tensor when a weight is missing or
// has the wrong shape.
engine::Graph build_rrdbnet(const RrdbConfig& config, const WeightLookup& weights,
                            const std::string& source);

// Reads the configuration from tensor names and shapes: num_feat and the input channels from
// conv_first, num_grow_ch from body.0.rdb1.conv1, num_block by counting blocks, out_ch from
// conv_last and the scale from conv_first's input channels (out_ch, 4 out_ch or 16 out_ch) or,
// in the old sequential layout, from the number of upsample convs. std::nullopt when the weights
// are not an RRDBNet; throws Error(input) naming `source` when they are the old sequential layout
// with something hires does not run (a pixel-shuffle upsampler, normalisation layers, layers
// missing or extra).
std::optional<RrdbConfig> detect_rrdbnet(const WeightLookup& weights,
                                         const std::string& source = "weights");

}  // namespace hires::models
