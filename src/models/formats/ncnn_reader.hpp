// Reading ncnn models: a text .param file (magic 7767517, "layer_count blob_count", then one layer
// per line: `Type Name bottom_count top_count bottoms... tops... key=value...`) and its .bin file
// (each layer's weights in layer order; convolution weights carry a 4-byte tag saying fp32 or
// fp16, biases and PReLU slopes are raw fp32).
//
// Supported layer types and what they become in the engine graph:
//   Input                      the graph input (value 0)
//   Split                      no node: its tops alias its bottom
//   Convolution,               conv2d (square kernel, dilation 1, symmetric padding), plus a
//   ConvolutionDepthWise         relu / leaky_relu / sigmoid node for a fused activation
//   ReLU, PReLU, Sigmoid       relu or leaky_relu, prelu, sigmoid
//   BinaryOp                   add, mul; with a scalar operand: scale_shift
//   Eltwise                    a chain of add (sum, unit coefficients) or mul (product) nodes
//   PixelShuffle               pixel_shuffle (mode 0, the PyTorch channel order)
//   Reorg                      pixel_unshuffle (mode 0: ncnn puts input channel c, row phase i,
//                                column phase j at output channel c*r*r + i*r + j, exactly like
//                                PyTorch's pixel_unshuffle; mode 1, TensorFlow's space_to_depth
//                                order, is rejected)
//   Interp                     upsample_nearest / upsample_bilinear (equal whole-number scales)
//   Concat                     concat along channels
//   Crop                       crop (offsets, numpy-style starts/ends, or a reference blob whose
//                                size is known relative to the input)
//   Padding                    pad (zero, replicate, reflect)
//   Pooling                    global_avg_pool (global or 1x1 adaptive average pooling only)
//   Deconvolution              deconv2d (square kernel, stride, symmetric padding, no groups or
//                                output padding; weights [out, in, k, k] in the .bin, transposed
//                                to PyTorch's [in, out, k, k]), plus a fused activation node
//   InnerProduct               on a pooled [C,1,1] blob only (SE blocks): a 1x1 conv2d, plus a
//                                fused activation node (9=1 relu, 9=4 sigmoid, ...)
//   Scale                      with a second blob of factors (2 inputs, 0=-233): mul
//
// Nets of unpadded convolutions (waifu2x cunet/upconv_7, Real-CUGAN) whose output is
// s*N - 2*s*P get a reflect pad of P in front of the graph (the pre-padding their programs do);
// an SE U-Net at 4x ending in a pixel shuffle (Real-CUGAN 4x) gets the nearest-neighbour skip of
// the input added to its output, as its program does. NcnnInfo says what was recognised.
#pragma once

#include <filesystem>
#include <string>

#include "engine/graph.hpp"

namespace hires::models {

// What the reader recognised about a net's structure.
struct NcnnInfo {
  // "upconv7": plain valid convolutions ending in one Deconvolution (waifu2x upconv_7);
  // "cunet": a U-Net of valid convolutions with SE blocks and Deconvolutions (waifu2x cunet,
  // Real-CUGAN); empty otherwise.
  std::string structure;
  int prepad = 0;             // pixels of reflect padding the graph puts around its input
  bool nearest_skip = false;  // input enlarged (nearest) added to the output (Real-CUGAN 4x)
};

// Reads an ncnn model (.param text + .bin weights) into an engine::Graph. Throws hires::Error
// (kind input) naming the file, the line/layer and the problem; an unknown layer type is an error
// naming the type and the layer, and listing the supported types.
//
// The graph's name is the .param file's stem. Its scale, size_multiple and channel counts are
// inferred by following each blob's size (scale * N + offset, N = the input side) and channel
// count through the layers; receptive_radius comes from engine::estimate_receptive_radius, and
// the graph is checked with engine::validate before it is returned. The output is the blob named
// "output" when there is one, else the top of the last layer.
engine::Graph load_ncnn(const std::filesystem::path& param, const std::filesystem::path& bin,
                        NcnnInfo* info = nullptr);

}  // namespace hires::models
