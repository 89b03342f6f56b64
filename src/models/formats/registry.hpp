// The model file formats hires reads, listed once: the extensions that name a model file, and
// what each format's header says without the weights being read (for listing many models fast).
// Loading weights stays with each format's reader (safetensors, pth_reader, ncnn/reader).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "models/formats/ncnn/reader.hpp"

namespace hires::models {

// What a model file says about itself, read without its weights.
struct HeaderFacts {
  std::string format;            // "safetensors", "ncnn", "pth"
  std::filesystem::path source;  // the file (for ncnn, the .param)
  // safetensors and pth: every tensor's shape, and what the architecture is told from.
  std::map<std::string, std::vector<std::int64_t>> shapes;
  std::map<std::string, std::string> metadata;  // safetensors' "__metadata__"
  // ncnn: the net's scale, channels and structure, from the .param alone.
  int scale = 0;
  int in_channels = 0;
  int out_channels = 0;
  NcnnInfo ncnn;
  std::uint64_t parameters = 0;  // weight values: all tensors', or the ncnn layers'
};

struct ModelFormat {
  std::string_view name;
  // The extensions of the file that names a model, in the order a name is looked up.
  std::vector<std::string_view> extensions;
  // Throws hires::Error(input) naming the file when its header is not readable.
  HeaderFacts (*read_header)(const std::filesystem::path& file);
};

// Every format, in the order a model name is looked up in a folder: safetensors, ncnn, pth.
std::span<const ModelFormat> model_formats();
// The format whose extension `file` has, or nullptr.
const ModelFormat* format_of(const std::filesystem::path& file);

}  // namespace hires::models
