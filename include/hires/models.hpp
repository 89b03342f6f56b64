// AI models: loading by path or name, listing what is available.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hires {

struct ModelInfo {
  std::string name;          // e.g. "realesr-general-x4v3"
  std::string architecture;  // e.g. "srvgg", "ncnn graph"
  std::string format;        // "ncnn", "safetensors"
  std::string variant;       // hyper-parameters read from the file, e.g. "48nf, 6 blocks, norm"
  int scale = 1;
  std::uint64_t parameters = 0;
  std::filesystem::path source;  // the file it comes from
  std::string license;           // from the file's metadata when it says
  bool builtin = false;          // built into hires (source is "builtin:NAME")
};

// A loaded model: its graph and the backend that runs it. Not thread-safe: one run at a time.
class Model;

// Loads a model from a file (.param with its .bin beside it, or .safetensors), or finds one by
// name in `dirs`. Throws Error(usage) when nothing matches, Error(input) for a bad file.
std::shared_ptr<Model> load_model(std::string_view name_or_path,
                                  const std::vector<std::filesystem::path>& dirs);
const ModelInfo& model_info(const Model& model);

// The models built into hires (photo-x4, photo-x2, ...); load_model finds them by name, before
// any models folder.
std::vector<ModelInfo> builtin_models();
// The built-in model called `name`, or nullptr.
std::shared_ptr<Model> load_builtin_model(std::string_view name);

// The built-in model `to` interpolated with `from` (both built in, one architecture, `to`
// fine-tuned from `from`): weights (1 - t) from + t to, t in 0..1 (network interpolation, as
// Real-ESRGAN's denoise strength). Named "TO@T". Throws Error(usage) for t outside 0..1 or an
// unknown name.
std::shared_ptr<Model> load_builtin_blend(std::string_view from, std::string_view to, double t);

// Every model file in `dirs` (not descending into sub-folders), by name. Files that fail to
// load are left out.
std::vector<ModelInfo> list_models(const std::vector<std::filesystem::path>& dirs);

// Where models are looked for besides --models-dir: $HIRES_MODELS_DIR (':'-separated) and
// $XDG_DATA_HOME/hires/models (default ~/.local/share/hires/models), when they exist.
std::vector<std::filesystem::path> default_model_dirs();

}  // namespace hires
