// What `hires models` lists about a model file, from its header alone (models/formats/registry):
// the format, the architecture and scale its tensor shapes or .param imply, its name and licence.
// No weights are read and no graph is built, so listing a folder of many models is fast.
#include <fmt/format.h>

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "hires/error.hpp"
#include "models/dat.hpp"
#include "models/drct.hpp"
#include "models/formats/registry.hpp"
#include "models/hat.hpp"
#include "models/model.hpp"
#include "models/mosr.hpp"
#include "models/omnisr.hpp"
#include "models/plksr.hpp"
#include "models/rcan.hpp"
#include "models/realcugan.hpp"
#include "models/rgt.hpp"
#include "models/rrdbnet.hpp"
#include "models/span.hpp"
#include "models/srformer.hpp"
#include "models/srvgg.hpp"
#include "models/swinir.hpp"

namespace hires {
namespace {

namespace fs = std::filesystem;

// Architectures told from tensor names and shapes alone, tried in this order for a .pth, and for
// a .safetensors without "architecture" in its metadata (with it, only the row of that name): the
// scale the tensors imply, or nullopt when they are not this architecture. These are the
// architectures safetensors_model and load_pth_model (model.cpp) build; a new one adds a row.
struct ShapeFacts {
  std::string architecture;
  int scale = 0;
  std::string variant;
};

struct ShapeArchitecture {
  const char* name;
  std::optional<ShapeFacts> (*detect)(const models::WeightLookup& weights,
                                      const std::string& source);
};

// Architectures detected from tensor names and shapes, tried in this order (as loading does).
constexpr std::array<ShapeArchitecture, 14> kShapeArchitectures = {{
    {"rrdbnet",
     [](const models::WeightLookup& w, const std::string& source) -> std::optional<ShapeFacts> {
       if (const auto c = models::detect_rrdbnet(w, source)) {
         return ShapeFacts{"rrdbnet", c->scale, {}};
       }
       return std::nullopt;
     }},
    {"srvgg",
     [](const models::WeightLookup& w, const std::string& source) -> std::optional<ShapeFacts> {
       if (const auto c = models::detect_srvgg(w, source)) {
         return ShapeFacts{"srvgg", c->upscale, {}};
       }
       return std::nullopt;
     }},
    {"span",
     [](const models::WeightLookup& w, const std::string& source) -> std::optional<ShapeFacts> {
       if (const auto c = models::detect_span(w, source)) {
         return ShapeFacts{"span", c->upscale, models::span_variant(*c)};
       }
       return std::nullopt;
     }},
    {"plksr",
     [](const models::WeightLookup& w, const std::string& source) -> std::optional<ShapeFacts> {
       if (const auto c = models::detect_plksr(w, source)) {
         return ShapeFacts{c->real ? "realplksr" : "plksr", c->upscale, models::plksr_variant(*c)};
       }
       return std::nullopt;
     }},
    {"swinir",
     [](const models::WeightLookup& w, const std::string& source) -> std::optional<ShapeFacts> {
       if (const auto c = models::detect_swinir(w, source)) {
         return ShapeFacts{"swinir", c->upscale, models::swinir_variant(*c)};
       }
       return std::nullopt;
     }},
    {"hat",
     [](const models::WeightLookup& w, const std::string& source) -> std::optional<ShapeFacts> {
       if (const auto c = models::detect_hat(w, source)) {
         return ShapeFacts{"hat", c->tail.upscale, models::hat_variant(*c)};
       }
       return std::nullopt;
     }},
    {"dat",
     [](const models::WeightLookup& w, const std::string& source) -> std::optional<ShapeFacts> {
       if (const auto c = models::detect_dat(w, source)) {
         return ShapeFacts{"dat", c->tail.upscale, models::dat_variant(*c)};
       }
       return std::nullopt;
     }},
    {"omnisr",
     [](const models::WeightLookup& w, const std::string& source) -> std::optional<ShapeFacts> {
       if (const auto c = models::detect_omnisr(w, source)) {
         return ShapeFacts{"omnisr", c->upscale, models::omnisr_variant(*c)};
       }
       return std::nullopt;
     }},
    {"srformer",
     [](const models::WeightLookup& w, const std::string& source) -> std::optional<ShapeFacts> {
       if (const auto c = models::detect_srformer(w, source)) {
         return ShapeFacts{"srformer", c->upscale, models::srformer_variant(*c)};
       }
       return std::nullopt;
     }},
    {"rgt",
     [](const models::WeightLookup& w, const std::string& source) -> std::optional<ShapeFacts> {
       if (const auto c = models::detect_rgt(w, source)) {
         return ShapeFacts{"rgt", c->tail.upscale, models::rgt_variant(*c)};
       }
       return std::nullopt;
     }},
    {"mosr",
     [](const models::WeightLookup& w, const std::string& source) -> std::optional<ShapeFacts> {
       if (const auto c = models::detect_mosr(w, source)) {
         return ShapeFacts{"mosr", c->upscale, models::mosr_variant(*c)};
       }
       return std::nullopt;
     }},
    {"drct",
     [](const models::WeightLookup& w, const std::string& source) -> std::optional<ShapeFacts> {
       if (const auto c = models::detect_drct(w, source)) {
         return ShapeFacts{"drct", c->tail.upscale, models::drct_variant(*c)};
       }
       return std::nullopt;
     }},
    {"rcan",
     [](const models::WeightLookup& w, const std::string& source) -> std::optional<ShapeFacts> {
       if (const auto c = models::detect_rcan(w, source)) {
         return ShapeFacts{"rcan", c->upscale, models::rcan_variant(*c)};
       }
       return std::nullopt;
     }},
    {"realcugan",
     [](const models::WeightLookup& w, const std::string& source) -> std::optional<ShapeFacts> {
       if (const auto c = models::detect_realcugan(w, source)) {
         return ShapeFacts{"realcugan", c->scale, models::realcugan_variant(*c)};
       }
       return std::nullopt;
     }},
}};

int whole_number(const models::HeaderFacts& h, const std::string& key, int fallback) {
  const auto it = h.metadata.find(key);
  if (it == h.metadata.end()) return fallback;
  try {
    return std::stoi(it->second);
  } catch (const std::exception&) {
    throw Error(ErrorKind::input, h.source.string(),
                fmt::format("metadata '{}' is '{}', expected a whole number", key, it->second));
  }
}

// The architecture and scale of a .safetensors or .pth from its tensor shapes (and metadata).
void describe_tensors(const models::HeaderFacts& h, ModelInfo& info) {
  static const std::vector<float> kNoValues;
  const models::WeightLookup lookup =
      [&h](const std::string& name) -> std::optional<models::WeightView> {
    const auto it = h.shapes.find(name);
    if (it == h.shapes.end()) return std::nullopt;
    return models::WeightView{it->second, &kNoValues};
  };
  const auto meta = [&h](const std::string& key) {
    const auto it = h.metadata.find(key);
    return it == h.metadata.end() ? std::string() : it->second;
  };
  const std::string named = meta("architecture");
  const std::string source = h.source.filename().string();
  for (const ShapeArchitecture& arch : kShapeArchitectures) {
    const auto found = arch.detect(lookup, source);
    if (!found || (!named.empty() && named != found->architecture)) continue;
    info.architecture = found->architecture;
    info.scale = found->scale;
    info.variant = found->variant;
    // SRVGG's metadata may set its scale (and its other hyper-parameters), as when loading.
    if (info.architecture == "srvgg") info.scale = whole_number(h, "upscale", info.scale);
    info.name = meta("name").empty() ? h.source.stem().string() : meta("name");
    info.license = meta("license");
    return;
  }
  throw Error(ErrorKind::input, h.source.string(),
              named.empty() ? "no supported architecture matches its tensors"
                            : fmt::format("architecture '{}' is not supported", named));
}

}  // namespace

ModelInfo model_facts(const fs::path& file) {
  const models::ModelFormat* format = models::format_of(file);
  if (format == nullptr) {
    throw Error(ErrorKind::input, file.string(), "not a model file hires reads");
  }
  const models::HeaderFacts h = format->read_header(file);
  ModelInfo info;
  info.format = h.format;
  info.source = h.source;
  info.parameters = h.parameters;
  if (h.format == "ncnn") {
    info.name = h.source.stem().string();
    info.architecture = "ncnn graph";
    info.scale = h.scale;
    name_ncnn_model(info, h.ncnn, h.source);
    return info;
  }
  describe_tensors(h, info);
  return info;
}

}  // namespace hires
