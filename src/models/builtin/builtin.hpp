// Model weights built into the binary (src/models/builtin/*.safetensors, embedded at build time
// by embed.cmake), so that hires upscales with AI with no model files around.
#pragma once

#include <span>
#include <string_view>

namespace hires::models {

struct BuiltinBlob {
  std::string_view name;   // the file name without extension, e.g. "photo-x4"
  std::string_view bytes;  // the whole safetensors file
};

// Every embedded model file, in file-name order (defined in the generated builtin_weights.cpp).
std::span<const BuiltinBlob> builtin_blobs();

}  // namespace hires::models
