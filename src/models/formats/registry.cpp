#include "models/formats/registry.hpp"

#include <utility>

#include "models/formats/pth_reader.hpp"
#include "models/formats/safetensors.hpp"

namespace hires::models {
namespace {

namespace fs = std::filesystem;

std::uint64_t total_values(const std::map<std::string, std::vector<std::int64_t>>& shapes) {
  std::uint64_t n = 0;
  for (const auto& [name, shape] : shapes) {
    const std::int64_t count = element_count(shape);
    if (count > 0) n += static_cast<std::uint64_t>(count);
  }
  return n;
}

template <typename Tensors>
HeaderFacts tensor_facts(std::string format, const fs::path& file, const Tensors& tensors) {
  HeaderFacts f;
  f.format = std::move(format);
  f.source = file;
  for (const auto& [name, t] : tensors) f.shapes.emplace(name, t.shape);
  f.parameters = total_values(f.shapes);
  return f;
}

HeaderFacts safetensors_header(const fs::path& file) {
  const SafeTensors st = read_safetensors_header(file);
  HeaderFacts f = tensor_facts("safetensors", file, st.tensors);
  f.metadata = st.metadata;
  return f;
}

HeaderFacts pth_header(const fs::path& file) {
  return tensor_facts("pth", file, read_pth_header(file).tensors);
}

HeaderFacts ncnn_header(const fs::path& file) {
  fs::path param = file;
  fs::path bin = file;
  param.replace_extension(".param");
  bin.replace_extension(".bin");
  HeaderFacts f;
  f.format = "ncnn";
  f.source = param;
  const engine::Graph g = read_ncnn_structure(param, bin, &f.ncnn);
  f.scale = g.scale;
  f.in_channels = g.in_channels;
  f.out_channels = g.out_channels;
  f.parameters = f.ncnn.parameters;
  return f;
}

const std::vector<ModelFormat>& formats() {
  static const std::vector<ModelFormat> kFormats = {
      {"safetensors", {".safetensors"}, safetensors_header},
      {"ncnn", {".param"}, ncnn_header},
      {"pth", {".pth", ".pt"}, pth_header},
  };
  return kFormats;
}

}  // namespace

std::span<const ModelFormat> model_formats() {
  return formats();
}

const ModelFormat* format_of(const fs::path& file) {
  const std::string ext = file.extension().string();
  for (const ModelFormat& f : formats()) {
    for (const std::string_view e : f.extensions) {
      if (e == ext) return &f;
    }
  }
  return nullptr;
}

}  // namespace hires::models
