#include "models/formats/ncnn/layers.hpp"

#include <array>

namespace hires::models::ncnn {
namespace {

// The one list of supported layer types. To add one: write its translator beside its kind in
// layers_*.cpp, declare it in layers.hpp and add a row here (in name order).
constexpr std::array<LayerType, 19> kLayerTypes = {{
    {"BinaryOp", binary_op},
    {"Concat", concat},
    {"Convolution", convolution},
    {"ConvolutionDepthWise", convolution_depthwise},
    {"Crop", crop},
    {"Deconvolution", deconvolution},
    {"Eltwise", eltwise},
    {"InnerProduct", inner_product},
    {"Input", input},
    {"Interp", interp},
    {"Padding", padding},
    {"PixelShuffle", pixel_shuffle},
    {"Pooling", pooling},
    {"PReLU", prelu},
    {"ReLU", relu},
    {"Reorg", reorg},
    {"Scale", scale},
    {"Sigmoid", sigmoid},
    {"Split", split},
}};

}  // namespace

std::span<const LayerType> layer_types() {
  return kLayerTypes;
}

Translator find_translator(std::string_view name) {
  for (const LayerType& t : kLayerTypes) {
    if (t.name == name) return t.translate;
  }
  return nullptr;
}

std::string supported_layer_types() {
  std::string out;
  for (const LayerType& t : kLayerTypes) {
    if (!out.empty()) out += ", ";
    out += t.name;
  }
  return out;
}

}  // namespace hires::models::ncnn
