// Reading ncnn models: a text .param file (magic 7767517, "layer_count blob_count", then one layer
// per line: `Type Name bottom_count top_count bottoms... tops... key=value...`) and its .bin file
// (each layer's weights in layer order; convolution weights carry a 4-byte tag saying fp32 or
// fp16, biases and PReLU slopes are raw fp32).
//
// Supported layer types and what they become: models/formats/ncnn/layers.hpp.
//
// Nets of unpadded convolutions (waifu2x cunet/upconv_7, Real-CUGAN) whose output is
// s*N - 2*s*P get a reflect pad of P in front of the graph (the pre-padding their programs do);
// an SE U-Net at 4x ending in a pixel shuffle (Real-CUGAN 4x) gets the nearest-neighbour skip of
// the input added to its output, as its program does. NcnnInfo says what was recognised.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "engine/graph.hpp"

namespace hires::models {

// The structures the reader recognises (and fixes up as their programs do).
enum class NcnnStructure {
  other,
  upconv7,  // plain valid convolutions ending in one Deconvolution (waifu2x upconv_7)
  cunet,    // a U-Net of valid convolutions with SE blocks and Deconvolutions (waifu2x cunet,
            // Real-CUGAN)
};

// What the reader recognised about a net's structure.
struct NcnnInfo {
  NcnnStructure structure = NcnnStructure::other;
  int prepad = 0;                // pixels of reflect padding the graph puts around its input
  bool nearest_skip = false;     // input enlarged (nearest) added to the output (Real-CUGAN 4x)
  std::uint64_t parameters = 0;  // weight values the layers read from the .bin
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

// The net's structure without its weights, for listing models quickly: the graph load_ncnn
// builds, with every weight, bias and slope left empty (not runnable, not validated, no receptive
// radius), the .param checked the same way, the .bin only checked to exist.
engine::Graph read_ncnn_structure(const std::filesystem::path& param,
                                  const std::filesystem::path& bin, NcnnInfo* info = nullptr);

}  // namespace hires::models
