// What the PyTorch architecture files (span.cpp, plksr.cpp) share: fetching a named tensor of an
// expected shape with the error that names it, and appending nodes to a graph.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/graph.hpp"
#include "models/srvgg.hpp"  // WeightView, WeightLookup

namespace hires::models {

// Throws Error(input) with subject "model '<source>'".
[[noreturn]] void bad_model(const std::string& source, const std::string& problem,
                            const std::string& hint);

// The values of tensor `name`; Error(input) naming the tensor when it is missing ("tensor 'x' is
// missing", with `hint`) or of another shape ("tensor 'x' is [8,4,3,3], expected [8,8,3,3]").
const std::vector<float>& fetch_tensor(const WeightLookup& weights, const std::string& source,
                                       const std::string& name,
                                       const std::vector<std::int64_t>& shape,
                                       const std::string& hint);

// Appends nodes to `g`, each reading the values given and writing a new one (returned).
struct GraphBuilder {
  const WeightLookup& weights;
  const std::string& source;
  std::string hint;  // for missing tensors, e.g. "not a SPAN checkpoint?"
  engine::Graph& g;

  int add(engine::Node n);
  // A k x k conv (padding k / 2, groups 1) named `name` with `name`.weight and `name`.bias.
  int conv(const std::string& name, int x, int in_ch, int out_ch, int k);
  // A depth-wise k x k conv (groups = channels, padding k / 2) with `name`.weight [ch, 1, k, k]
  // and `name`.bias.
  int depthwise_conv(const std::string& name, int x, int channels, int k);
  // Folds the BatchNorm2d `name` (eval mode: running_mean, running_var, weight, bias; eps 1e-5)
  // into the convolution just added (the last node), whose output it normalises.
  void fold_batch_norm(const std::string& name);
  int unary(engine::OpType t, const std::string& name, int x);
  int binary(engine::OpType t, const std::string& name, int a, int b);
  // Channels [begin, begin + count) of x; the concatenation of `parts` along the channels.
  int slice(const std::string& name, int x, int begin, int count);
  int concat(const std::string& name, std::vector<int> parts);
  // A PyTorch Linear `name` ([out, in] weight, and [out] bias unless `with_bias` is false) on
  // every pixel's channels: a 1x1 convolution.
  int linear(const std::string& name, int x, int in_ch, int out_ch, bool with_bias = true);
  // A LayerNorm `name` over each pixel's `channels` (eps 1e-5).
  int layer_norm(const std::string& name, int x, int channels);
  // y = x * scale[c] + shift[c] per channel (a 1x1 conv): input normalisation.
  int channel_affine(const std::string& name, int x, const std::vector<float>& scale,
                     const std::vector<float>& shift);
  // y = x * scale + shift (scalars); pixel shuffle by `factor`.
  int scale_shift(const std::string& name, int x, float scale, float shift);
  int pixel_shuffle(const std::string& name, int x, int factor);
  // DySample's upsampler `name` (Liu et al., "Learning to Upsample by Learning to Sample", ICCV
  // 2023): offsets = `name`.offset(x) * sigmoid(`name`.scope(x)) * 0.5 + `name`.init_pos (1x1
  // convs, the scope without bias; 2 x groups x scale^2 channels), x sampled at them by `scale`
  // (offset_sample), then the 1x1 conv `name`.end_conv to out_ch when `end_conv`.
  int dysample(const std::string& name, int x, int in_ch, int out_ch, int scale, int groups,
               bool end_conv);
};

}  // namespace hires::models
