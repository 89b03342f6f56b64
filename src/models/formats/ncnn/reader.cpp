#include "models/formats/ncnn/reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "hires/error.hpp"
#include "models/formats/ncnn/context.hpp"
#include "models/formats/ncnn/layers.hpp"
#include "models/formats/ncnn/param.hpp"
#include "models/formats/ncnn/weights.hpp"

namespace hires::models {
namespace {

using engine::Node;
using engine::OpType;
using ncnn::Blob;
using ncnn::Context;
using ncnn::kMaxBorder;
using ncnn::Layer;
using ncnn::size_text;

// A pad node in front of everything that reads the input.
void add_prepad(engine::Graph& graph, int p) {
  const int padded = graph.add_value();
  for (Node& n : graph.nodes) {
    for (int& v : n.inputs) {
      if (v == graph.input) v = padded;
    }
  }
  Node n;
  n.type = OpType::pad;
  n.name = "prepad";
  n.inputs = {graph.input};
  n.output = padded;
  n.top = n.bottom = n.left = n.right = p;
  n.pad_mode = engine::PadMode::reflect;
  graph.nodes.insert(graph.nodes.begin(), std::move(n));
}

void add_nearest_skip(Context& c) {
  Node up;
  up.type = OpType::upsample_nearest;
  up.name = "input_nearest";
  up.inputs = {c.graph.input};
  up.factor = c.graph.scale;
  const int upv = c.emit(std::move(up));
  Node add;
  add.type = OpType::add;
  add.name = "input_nearest/add";
  add.inputs = {c.graph.output, upv};
  c.graph.output = c.emit(std::move(add));
}

// The graph's output, scale, channels and size multiple from the blobs, plus the model-specific
// fix-ups the structure calls for (pre-padding, the nearest skip), then checks the graph.
void finish(Context& c, const Layer& last, NcnnInfo& info, bool with_weights) {
  if (!c.seen_input) c.model_error("has no Input layer");
  const auto named = c.blobs.find("output");
  if (named == c.blobs.end() && last.tops.empty()) {
    c.model_error(fmt::format("the last layer, {}, has no output blob", last.name));
  }
  const std::string out_name = named != c.blobs.end() ? "output" : last.tops[0];
  const Blob& out = c.blobs.at(out_name);
  if (out.pooled) c.model_error(fmt::format("output blob '{}' is a pooled 1x1 blob", out_name));
  // Nets of unpadded ("valid") convolutions give scale*N - 2*scale*P pixels: their programs
  // pad the input by P on every side first, which the graph then does itself (reflect).
  std::int64_t prepad = 0;
  if (out.scale.den == 1 && out.off_h == out.off_w && out.off_h < 0 &&
      (-out.off_h) % (2 * out.scale.num) == 0) {
    prepad = -out.off_h / (2 * out.scale.num);
  }
  if (out.scale.den != 1 || (prepad == 0 && (out.off_h != 0 || out.off_w != 0)) ||
      prepad > kMaxBorder) {
    c.model_error(
        fmt::format("output blob '{}' is {} pixels for an input of N; only whole-number "
                    "scales (output = scale*N, or scale*(N + 2P) - 2*scale*P for a net of "
                    "unpadded convolutions) are supported",
                    out_name, size_text(out)));
  }
  if (!c.in_channels) c.in_channels = c.declared_channels > 0 ? c.declared_channels : 3;
  if (c.declared_channels > 0 && *c.in_channels != c.declared_channels) {
    c.model_error(
        fmt::format("the Input layer declares {} channels but the first convolution "
                    "reads {}",
                    c.declared_channels, *c.in_channels));
  }
  c.set_layer(&last);
  const std::int64_t out_ch = c.channels(out).value_or(0);
  c.set_layer(nullptr);
  if (out_ch < 1) c.model_error(fmt::format("output blob '{}' has no channels", out_name));

  c.graph.output = out.value;
  c.graph.scale = static_cast<int>(out.scale.num);
  c.graph.in_channels = static_cast<int>(*c.in_channels);
  c.graph.out_channels = static_cast<int>(out_ch);
  c.graph.size_multiple = c.size_multiple;
  if (prepad > 0) add_prepad(c.graph, static_cast<int>(prepad));
  const bool global = engine::has_global_context(c.graph);
  info.prepad = static_cast<int>(prepad);
  if (global && c.deconvolutions > 0) {
    info.structure = NcnnStructure::cunet;
  } else if (!global && c.deconvolutions == 1 && !c.graph.nodes.empty() &&
             c.graph.nodes.back().type == OpType::deconv2d && prepad > 0) {
    info.structure = NcnnStructure::upconv7;
  }
  // Real-CUGAN's 4x net (UpCunet4x) ends in a pixel shuffle and adds the input enlarged with
  // nearest neighbour to it in its program, outside the exported graph.
  if (info.structure == NcnnStructure::cunet && c.graph.scale == 4 &&
      c.graph.in_channels == c.graph.out_channels &&
      c.graph.nodes.back().type == OpType::pixel_shuffle) {
    add_nearest_skip(c);
    info.nearest_skip = true;
  }
  if (!with_weights) return;
  int radius = std::max(engine::estimate_receptive_radius(c.graph), static_cast<int>(prepad) + 1);
  radius = (radius + c.size_multiple - 1) / c.size_multiple * c.size_multiple;
  c.graph.receptive_radius = radius;
  engine::validate(c.graph);
}

engine::Graph translate(const std::filesystem::path& param, const std::filesystem::path& bin,
                        NcnnInfo* info, bool with_weights) {
  const std::string text = ncnn::read_text(param);
  ncnn::WeightReader weights(bin, param.filename().string(), with_weights);
  const std::vector<Layer> layers = ncnn::parse_param(text, param);
  Context c(param, weights);
  for (const Layer& layer : layers) {
    c.set_layer(&layer);
    const ncnn::Translator translate = ncnn::find_translator(layer.type);
    if (translate == nullptr) {
      ncnn::param_error(param, layer.line,
                        fmt::format("layer {} has unsupported type {}", layer.name, layer.type),
                        fmt::format("supported layer types: {}", ncnn::supported_layer_types()));
    }
    try {
      translate(c);
    } catch (const ncnn::RatioOverflow&) {
      c.layer_error("its channel count or size overflows", "the .param file is corrupt");
    }
  }
  c.set_layer(nullptr);
  weights.check_size();
  NcnnInfo found;
  try {
    finish(c, layers.back(), found, with_weights);
  } catch (const ncnn::RatioOverflow&) {
    c.model_error("the output's channel count or size overflows");
  }
  found.parameters = weights.values_read();
  if (info != nullptr) *info = found;
  return std::move(c.graph);
}

}  // namespace

engine::Graph load_ncnn(const std::filesystem::path& param, const std::filesystem::path& bin,
                        NcnnInfo* info) {
  return translate(param, bin, info, /*with_weights=*/true);
}

engine::Graph read_ncnn_structure(const std::filesystem::path& param,
                                  const std::filesystem::path& bin, NcnnInfo* info) {
  return translate(param, bin, info, /*with_weights=*/false);
}

}  // namespace hires::models
