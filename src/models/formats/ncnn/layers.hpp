// The ncnn layer types hires reads: one translator per type, registered in one table (layers.cpp)
// that is also the list of supported types the error for any other type gives.
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
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace hires::models::ncnn {

class Context;

// Reads the current layer of `c` (its parameters, bottoms and weights) and adds its nodes and top
// blobs; throws hires::Error(input) naming the layer for what it does not support.
using Translator = void (*)(Context& c);

struct LayerType {
  std::string_view name;  // as in the .param file
  Translator translate;
};

// Every supported layer type, in name order (case-insensitive).
std::span<const LayerType> layer_types();
// The translator for `name`, or nullptr.
Translator find_translator(std::string_view name);
// "BinaryOp, Concat, ...": the names of layer_types().
std::string supported_layer_types();

// The translators (layers_conv.cpp, layers_elementwise.cpp, layers_shape.cpp).
void binary_op(Context& c);
void concat(Context& c);
void convolution(Context& c);
void convolution_depthwise(Context& c);
void crop(Context& c);
void deconvolution(Context& c);
void eltwise(Context& c);
void inner_product(Context& c);
void input(Context& c);
void interp(Context& c);
void padding(Context& c);
void pixel_shuffle(Context& c);
void pooling(Context& c);
void prelu(Context& c);
void relu(Context& c);
void reorg(Context& c);
void scale(Context& c);
void sigmoid(Context& c);
void split(Context& c);

}  // namespace hires::models::ncnn
