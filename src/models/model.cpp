#include "models/model.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <optional>

#include "hires/error.hpp"
#include "models/builtin/builtin.hpp"
#include "models/dat.hpp"
#include "models/drct.hpp"
#include "models/formats/ncnn/reader.hpp"
#include "models/formats/pth_reader.hpp"
#include "models/formats/registry.hpp"
#include "models/formats/safetensors.hpp"
#include "models/hat.hpp"
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
namespace fs = std::filesystem;

engine::Backend& Model::backend(BackendKind kind, int threads, int gpu) {
  if (!backend_ || backend_kind_ != kind || backend_gpu_ != gpu) {
    engine::BackendOptions o;
    o.threads = threads;
    o.gpu = gpu;
    backend_ = engine::make_backend(kind, graph_, o);
    backend_kind_ = kind;
    backend_gpu_ = gpu;
  }
  backend_->set_threads(threads);
  return *backend_;
}

namespace {

std::uint64_t count_parameters(const engine::Graph& g) {
  std::uint64_t n = 0;
  for (const auto& node : g.nodes) n += node.weight.size() + node.bias.size() + node.slopes.size();
  return n;
}

int meta_int(const models::SafeTensors& st, const std::string& key, int fallback) {
  auto it = st.metadata.find(key);
  if (it == st.metadata.end()) return fallback;
  try {
    return std::stoi(it->second);
  } catch (const std::exception&) {
    throw Error(ErrorKind::input, st.path.string(),
                fmt::format("metadata '{}' is '{}', expected a whole number", key, it->second));
  }
}

constexpr const char* kSupportedArchitectures =
    "supported: srvgg (SRVGGNetCompact), rrdbnet (RRDBNet: ESRGAN in its old 'model.N' and newer "
    "layouts, Real-ESRGAN x4plus, x2plus, anime_6B), span (SPAN), plksr (PLKSR), realplksr "
    "(RealPLKSR), swinir (SwinIR: classical, lightweight, real-world and x1 restoration), hat "
    "(HAT-S, HAT, HAT-L), dat (DAT, DAT-2, DAT-S, DAT-light), omnisr (OmniSR), drct (DRCT, "
    "DRCT-L), srformer (SRFormer, SRFormer-light), mosr "
    "(MoSR), rgt (RGT, RGT-S), rcan (RCAN), realcugan (Real-CUGAN .pth: x2, x3, x4, x2 fast, "
    "pro)";

// The architectures of the community zoo read from PyTorch files (span.cpp, plksr.cpp): the
// graph with its architecture and variant, or std::nullopt when none matches.
struct ArchGraph {
  std::string architecture;
  std::string variant;
  engine::Graph graph;
};

std::optional<ArchGraph> community_arch(const models::WeightLookup& lookup,
                                        const std::string& source) {
  if (const auto c = models::detect_span(lookup, source)) {
    return ArchGraph{"span", models::span_variant(*c), models::build_span(*c, lookup, source)};
  }
  if (const auto c = models::detect_plksr(lookup, source)) {
    return ArchGraph{c->real ? "realplksr" : "plksr", models::plksr_variant(*c),
                     models::build_plksr(*c, lookup, source)};
  }
  if (const auto c = models::detect_swinir(lookup, source)) {
    return ArchGraph{"swinir", models::swinir_variant(*c),
                     models::build_swinir(*c, lookup, source)};
  }
  if (const auto c = models::detect_hat(lookup, source)) {
    return ArchGraph{"hat", models::hat_variant(*c), models::build_hat(*c, lookup, source)};
  }
  if (const auto c = models::detect_dat(lookup, source)) {
    return ArchGraph{"dat", models::dat_variant(*c), models::build_dat(*c, lookup, source)};
  }
  if (const auto c = models::detect_omnisr(lookup, source)) {
    return ArchGraph{"omnisr", models::omnisr_variant(*c),
                     models::build_omnisr(*c, lookup, source)};
  }
  if (const auto c = models::detect_srformer(lookup, source)) {
    return ArchGraph{"srformer", models::srformer_variant(*c),
                     models::build_srformer(*c, lookup, source)};
  }
  if (const auto c = models::detect_rgt(lookup, source)) {
    return ArchGraph{"rgt", models::rgt_variant(*c), models::build_rgt(*c, lookup, source)};
  }
  if (const auto c = models::detect_mosr(lookup, source)) {
    return ArchGraph{"mosr", models::mosr_variant(*c), models::build_mosr(*c, lookup, source)};
  }
  if (const auto c = models::detect_drct(lookup, source)) {
    return ArchGraph{"drct", models::drct_variant(*c), models::build_drct(*c, lookup, source)};
  }
  if (const auto c = models::detect_rcan(lookup, source)) {
    return ArchGraph{"rcan", models::rcan_variant(*c), models::build_rcan(*c, lookup, source)};
  }
  if (const auto c = models::detect_realcugan(lookup, source)) {
    return ArchGraph{"realcugan", models::realcugan_variant(*c),
                     models::build_realcugan(*c, lookup, source)};
  }
  return std::nullopt;
}

models::WeightLookup tensor_lookup(const std::map<std::string, models::TensorData>& tensors) {
  return [&tensors](const std::string& name) -> std::optional<models::WeightView> {
    auto it = tensors.find(name);
    if (it == tensors.end()) return std::nullopt;
    return models::WeightView{it->second.shape, &it->second.values};
  };
}

// "a, b, c, d, ..." for messages about files whose tensors match no architecture.
std::string some_tensor_names(const std::map<std::string, models::TensorData>& tensors) {
  std::string found;
  int shown = 0;
  for (const auto& [name, t] : tensors) {
    if (shown++ == 4) return found + ", ...";
    found += (found.empty() ? "" : ", ") + name;
  }
  return found;
}

std::shared_ptr<Model> make_model(ModelInfo info, engine::Graph g) {
  info.scale = g.scale;
  info.parameters = count_parameters(g);
  return std::make_shared<Model>(std::move(info), std::move(g));
}

std::shared_ptr<Model> safetensors_model(const models::SafeTensors& st) {
  const fs::path& path = st.path;
  models::WeightLookup lookup = [&](const std::string& name) -> std::optional<models::WeightView> {
    auto it = st.tensors.find(name);
    if (it == st.tensors.end()) return std::nullopt;
    return models::WeightView{it->second.shape, &it->second.values};
  };
  auto meta = [&](const std::string& key) {
    auto it = st.metadata.find(key);
    return it == st.metadata.end() ? std::string() : it->second;
  };
  std::string arch = meta("architecture");
  if (arch == "span" || arch == "plksr" || arch == "realplksr" || arch == "swinir" ||
      arch == "hat" || arch == "dat" || arch == "omnisr" || arch == "drct" || arch == "srformer" ||
      arch.empty()) {
    if (auto found = community_arch(lookup, path.filename().string())) {
      ModelInfo info;
      info.name = meta("name").empty() ? path.stem().string() : meta("name");
      info.architecture = found->architecture;
      info.variant = found->variant;
      info.format = "safetensors";
      info.source = path;
      info.license = meta("license");
      return make_model(std::move(info), std::move(found->graph));
    }
  }
  if (arch == "rrdbnet" || arch.empty()) {
    if (const auto rc = models::detect_rrdbnet(lookup, path.filename().string())) {
      ModelInfo info;
      info.name = meta("name").empty() ? path.stem().string() : meta("name");
      info.architecture = "rrdbnet";
      info.format = "safetensors";
      info.source = path;
      info.license = meta("license");
      return make_model(std::move(info),
                        models::build_rrdbnet(*rc, lookup, path.filename().string()));
    }
  }
  std::optional<models::SrvggConfig> cfg;
  if (arch.empty() || arch == "srvgg") cfg = models::detect_srvgg(lookup, path.filename().string());
  if (arch.empty() && cfg) arch = "srvgg";
  if (arch != "srvgg" || !cfg) {
    std::string found;
    int shown = 0;
    for (const auto& [name, t] : st.tensors) {
      if (shown++ == 4) {
        found += ", ...";
        break;
      }
      found += (found.empty() ? "" : ", ") + name;
    }
    throw Error(ErrorKind::input, path.string(),
                arch.empty()
                    ? fmt::format("no supported architecture matches its tensors ({})", found)
                    : fmt::format("architecture '{}' is not supported", arch),
                kSupportedArchitectures);
  }
  models::SrvggConfig c = *cfg;
  c.num_feat = meta_int(st, "num_feat", c.num_feat);
  c.num_conv = meta_int(st, "num_conv", c.num_conv);
  c.upscale = meta_int(st, "upscale", c.upscale);
  c.in_ch = meta_int(st, "num_in_ch", c.in_ch);
  c.out_ch = meta_int(st, "num_out_ch", c.out_ch);
  if (!meta("act_type").empty()) c.act = meta("act_type");
  engine::Graph g = models::build_srvgg(c, lookup, path.filename().string());
  ModelInfo info;
  info.name = meta("name").empty() ? path.stem().string() : meta("name");
  info.architecture = "srvgg";
  info.format = "safetensors";
  info.scale = g.scale;
  info.parameters = count_parameters(g);
  info.source = path;
  info.license = meta("license");
  return std::make_shared<Model>(std::move(info), std::move(g));
}

std::shared_ptr<Model> load_pth_model(const fs::path& path) {
  const models::PthCheckpoint ck = models::load_pth(path);
  const models::WeightLookup lookup = tensor_lookup(ck.tensors);
  const std::string source = path.filename().string();
  ModelInfo info;
  info.name = path.stem().string();
  info.format = "pth";
  info.source = path;
  if (auto found = community_arch(lookup, source)) {
    info.architecture = found->architecture;
    info.variant = found->variant;
    return make_model(std::move(info), std::move(found->graph));
  }
  if (const auto rc = models::detect_rrdbnet(lookup, source)) {
    info.architecture = "rrdbnet";
    return make_model(std::move(info), models::build_rrdbnet(*rc, lookup, source));
  }
  if (const auto sc = models::detect_srvgg(lookup, source)) {
    info.architecture = "srvgg";
    return make_model(std::move(info), models::build_srvgg(*sc, lookup, source));
  }
  throw Error(ErrorKind::input, path.string(),
              fmt::format("no supported architecture matches its tensors ({})",
                          some_tensor_names(ck.tensors)),
              kSupportedArchitectures);
}

// "noise2" from a waifu2x file name like "noise2_scale2.0x_model", or "" without a noise level.
std::string noise_part(const std::string& stem) {
  const auto at = stem.find("noise");
  if (at == std::string::npos || at + 5 >= stem.size()) return {};
  const char d = stem[at + 5];
  if (d < '0' || d > '9') return {};
  return std::string("noise") + d;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

// Descriptive names for the waifu2x and Real-CUGAN nets, whose file names
// ("noise1_scale2.0x_model", "up2x-conservative") say little or are shared between folders. The
// structure comes from the reader; the family (Real-CUGAN or waifu2x cunet, which are the same
// U-Net) from the path.
void name_ncnn_model(ModelInfo& info, const models::NcnnInfo& ncnn, const fs::path& param) {
  const std::string stem = param.stem().string();
  const std::string where = lower(fs::absolute(param).lexically_normal().string());
  const std::string noise = noise_part(lower(stem));
  const std::string x = fmt::format("x{}", info.scale);
  if (ncnn.structure == models::NcnnStructure::upconv7) {
    info.architecture = "waifu2x-upconv7";
    std::string name = "waifu2x-upconv7";
    if (where.find("photo") != std::string::npos) name += "-photo";
    if (!noise.empty()) name += "-" + noise;
    info.name = name + "-" + x;
  } else if (ncnn.structure == models::NcnnStructure::cunet) {
    const bool cugan = where.find("cugan") != std::string::npos ||
                       (stem.size() > 3 && stem.compare(0, 2, "up") == 0 &&
                        std::isdigit(static_cast<unsigned char>(stem[2])) != 0);
    if (cugan) {
      info.architecture = "realcugan";
      const std::string l = lower(stem);
      info.name = l.rfind("realcugan", 0) == 0 ? l : "realcugan-" + l;
    } else {
      info.architecture = "waifu2x-cunet";
      info.name = "waifu2x-cunet" + (noise.empty() ? std::string() : "-" + noise) + "-" + x;
    }
  }
}

namespace {

std::shared_ptr<Model> load_ncnn_model(const fs::path& path) {
  fs::path param = path;
  fs::path bin = path;
  if (path.extension() == ".bin") {
    param.replace_extension(".param");
  } else {
    bin.replace_extension(".bin");
  }
  models::NcnnInfo ncnn;
  engine::Graph g = models::load_ncnn(param, bin, &ncnn);
  ModelInfo info;
  info.name = param.stem().string();
  info.architecture = "ncnn graph";
  info.format = "ncnn";
  info.scale = g.scale;
  info.parameters = count_parameters(g);
  info.source = param;
  name_ncnn_model(info, ncnn, param);
  g.name = info.name;
  return std::make_shared<Model>(std::move(info), std::move(g));
}

bool is_model_file(const fs::path& p) {
  return models::format_of(p) != nullptr;
}

}  // namespace

std::shared_ptr<Model> load_model_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw Error(ErrorKind::input, path.string(), "no such model file");
  const std::string e = path.extension().string();
  if (e == ".param" || e == ".bin") return load_ncnn_model(path);
  if (e == ".safetensors") return safetensors_model(models::load_safetensors(path));
  if (e == ".pth" || e == ".pt") return load_pth_model(path);
  throw Error(ErrorKind::input, path.string(), "not a model file hires reads",
              "expected an ncnn .param (with its .bin), a .safetensors or a PyTorch .pth/.pt file");
}

std::shared_ptr<Model> load_model(std::string_view spec, const std::vector<fs::path>& dirs) {
  const fs::path as_path(spec);
  std::error_code ec;
  if (fs::is_regular_file(as_path, ec)) return load_model_file(as_path);
  if (auto builtin = load_builtin_model(spec)) return builtin;
  for (const fs::path& dir : dirs) {
    for (const models::ModelFormat& format : models::model_formats()) {
      for (const std::string_view ext : format.extensions) {
        const fs::path candidate = dir / (std::string(spec) + std::string(ext));
        if (fs::is_regular_file(candidate, ec)) return load_model_file(candidate);
      }
    }
  }
  // A name given in a file's metadata rather than its file name.
  for (const ModelInfo& info : list_models(dirs)) {
    if (info.name == spec) return load_model_file(info.source);
  }
  throw Error(ErrorKind::usage, "method", fmt::format("'{}' is not a method or a model", spec),
              "expected nearest, bilinear, bicubic, lanczos, a model file, or a model name that "
              "'hires models' lists");
}

std::shared_ptr<Model> load_builtin_model(std::string_view name) {
  for (const models::BuiltinBlob& b : models::builtin_blobs()) {
    if (b.name != name) continue;
    const auto m =
        safetensors_model(models::parse_safetensors(b.bytes, "builtin:" + std::string(name)));
    ModelInfo info = m->info();
    info.name = std::string(name);  // a built-in model is known by its file name
    info.builtin = true;
    return std::make_shared<Model>(std::move(info), m->graph());
  }
  return nullptr;
}

namespace {

const models::BuiltinBlob* find_blob(std::string_view name) {
  for (const models::BuiltinBlob& b : models::builtin_blobs()) {
    if (b.name == name) return &b;
  }
  return nullptr;
}

}  // namespace

std::shared_ptr<Model> load_builtin_blend(std::string_view from, std::string_view to, double t) {
  if (!(t >= 0.0 && t <= 1.0)) {
    throw Error(ErrorKind::usage, "restore", fmt::format("{} is not a strength from 0 to 1", t));
  }
  const models::BuiltinBlob* a = find_blob(from);
  const models::BuiltinBlob* b = find_blob(to);
  if (a == nullptr || b == nullptr) {
    throw Error(ErrorKind::usage, std::string(a == nullptr ? from : to),
                "is not a built-in model of this build");
  }
  if (t == 0.0) return load_builtin_model(from);
  if (t == 1.0) return load_builtin_model(to);
  models::SafeTensors sa = models::parse_safetensors(a->bytes, "builtin:" + std::string(from));
  const models::SafeTensors sb = models::parse_safetensors(b->bytes, "builtin:" + std::string(to));
  // Network interpolation: every weight (1 - t) a + t b. Only sound for two nets of one
  // architecture where one was fine-tuned from the other, as restore-xN from photo-xN.
  for (auto& [name, ta] : sa.tensors) {
    auto it = sb.tensors.find(name);
    if (it == sb.tensors.end() || it->second.shape != ta.shape) {
      throw Error(ErrorKind::internal, std::string(to),
                  fmt::format("tensor '{}' does not match {}'s", name, from));
    }
    const auto tf = static_cast<float>(t);
    for (std::size_t i = 0; i < ta.values.size(); ++i) {
      ta.values[i] = (1.0F - tf) * ta.values[i] + tf * it->second.values[i];
    }
  }
  const auto m = safetensors_model(sa);
  ModelInfo info = m->info();
  info.name = fmt::format("{}@{:.2f}", to, t);
  info.builtin = true;
  return std::make_shared<Model>(std::move(info), m->graph());
}

std::vector<ModelInfo> builtin_models() {
  std::vector<ModelInfo> out;
  for (const models::BuiltinBlob& b : models::builtin_blobs()) {
    out.push_back(load_builtin_model(b.name)->info());
  }
  return out;
}

const ModelInfo& model_info(const Model& model) {
  return model.info();
}

std::vector<ModelInfo> list_models(const std::vector<fs::path>& dirs) {
  std::vector<ModelInfo> out;
  for (const fs::path& dir : dirs) {
    std::error_code ec;
    std::vector<fs::path> files;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->is_regular_file(ec) && is_model_file(it->path())) files.push_back(it->path());
    }
    if (ec == std::errc::permission_denied) {
      // A folder that exists but cannot be listed: say so rather than list nothing from it.
      throw Error(ErrorKind::input, dir.string(),
                  "cannot read the models folder: permission denied",
                  "check the folder's permissions");
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& f : files) {
      try {
        out.push_back(model_facts(f));  // from the header: no weights read
      } catch (const Error&) {
        // Not a model hires reads: `hires models` lists what can run.
      }
    }
  }
  return out;
}

std::vector<fs::path> default_model_dirs() {
  std::vector<fs::path> dirs;
  std::error_code ec;
  if (const char* env = std::getenv("HIRES_MODELS_DIR"); env != nullptr) {
    std::string s = env;
    std::size_t start = 0;
    while (start <= s.size()) {
      const std::size_t end = std::min(s.find(':', start), s.size());
      if (end > start) dirs.emplace_back(s.substr(start, end - start));
      start = end + 1;
    }
  }
  fs::path data;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && *xdg != '\0') {
    data = xdg;
  } else if (const char* home = std::getenv("HOME"); home != nullptr) {
    data = fs::path(home) / ".local" / "share";
  }
  if (!data.empty()) dirs.push_back(data / "hires" / "models");
  dirs.erase(std::remove_if(dirs.begin(), dirs.end(),
                            [&](const fs::path& d) { return !fs::is_directory(d, ec); }),
             dirs.end());
  return dirs;
}

}  // namespace hires
