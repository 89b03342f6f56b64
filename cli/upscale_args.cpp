// The upscale options, declared once: `hires upscale`, `hires plan` and, through a manifest's
// stored arguments, `hires run`.
#include "upscale_args.hpp"

#include <fmt/format.h>
#include <set>

#include "hires/devices.hpp"
#include "hires/error.hpp"
#include "hires/models.hpp"
#include "hires/options.hpp"
#include "hires/pipeline.hpp"

namespace hires::cli {

using hires::Error;
using hires::ErrorKind;

void add_upscale_options(CLI::App& cmd, UpscaleArgs& a) {
  cmd.add_option("inputs", a.inputs, "Image files and/or folders")->required();
  CLI::Option_group* sizing = cmd.add_option_group("sizing", "Choose one (default --scale 4)");
  for (const OptionSpec& spec : option_specs()) {
    if (spec.group == OptionGroup::size) {
      a.options.add(*sizing, spec);
    } else {
      a.options.add(cmd, spec);
    }
  }
}

std::vector<std::filesystem::path> model_dirs(const std::vector<std::string>& given) {
  std::vector<std::filesystem::path> dirs(given.begin(), given.end());
  for (auto& d : hires::default_model_dirs()) dirs.push_back(d);
  return dirs;
}

namespace {

// The given values with the --preset's that the user did not decide.
OptionValues resolved_values(const UpscaleArgs& a) {
  OptionValues values = a.options.values();
  if (const auto preset = values.find("preset"); preset != values.end()) {
    const std::string output = a.options.text("output");
    hires::apply_preset(values, hires::find_preset(std::get<std::string>(preset->second)),
                        !output.empty() && hires::format_from_path(output).has_value());
    values.erase(preset);
  }
  return values;
}

}  // namespace

// --backend vulkan and --gpu N are checked before any file is touched.
void check_gpu_choice(const UpscaleOptions& o) {
  if (o.gpu < 0 && o.backend != hires::BackendKind::vulkan) return;
  const hires::GpuList gpus = hires::list_gpus();
  if (o.backend == hires::BackendKind::vulkan && gpus.devices.empty()) {
    throw Error(ErrorKind::usage, "--backend vulkan", gpus.note,
                gpus.vulkan_built ? "install a GPU driver (or Mesa's lavapipe, "
                                    "mesa-vulkan-drivers), or use --backend cpu"
                                  : "rebuild with libvulkan-dev and glslc installed "
                                    "(scripts/setup.sh), or use --backend cpu");
  }
  if (o.gpu >= 0 && static_cast<std::size_t>(o.gpu) >= gpus.devices.size()) {
    throw Error(
        ErrorKind::usage, "--gpu",
        fmt::format("device {} does not exist ({} Vulkan device{}{})", o.gpu, gpus.devices.size(),
                    gpus.devices.size() == 1 ? "" : "s", gpus.note.empty() ? "" : ": " + gpus.note),
        "'hires devices' lists them");
  }
}

UpscaleOptions upscale_options(const UpscaleArgs& a) {
  UpscaleOptions o =
      hires::upscale_options_from(resolved_values(a), model_dirs(a.options.list("models_dir")));
  check_gpu_choice(o);
  return o;
}

std::vector<std::string> stored_upscale_args(const UpscaleArgs& a) {
  std::vector<std::string> args;
  const OptionValues values = resolved_values(a);
  for (const OptionSpec& spec : hires::option_specs()) {  // in table order
    const auto given = values.find(spec.key);
    if (given == values.end()) continue;
    const std::string_view key = spec.key;
    const OptionValue& value = given->second;
    if (spec.group == OptionGroup::run || key == "output" || key == "recursive") continue;
    if (spec.type == OptionType::flag) {
      args.push_back(long_flag(key) + "=" + hires::format_option(spec, value));
    } else {
      args.push_back(long_flag(key));
      args.push_back(hires::format_option(spec, value));
    }
  }
  for (const std::string& dir : a.options.list("models_dir")) {
    args.push_back(long_flag("models_dir"));
    args.push_back(dir);
  }
  return args;
}

UpscaleOptions upscale_options_from_args(const std::vector<std::string>& args,
                                         const std::string& source) {
  CLI::App app{"stored upscale options"};
  UpscaleArgs a;
  add_upscale_options(app, a);
  app.get_option("inputs")->required(false);
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    throw Error(ErrorKind::usage, source, fmt::format("stored options: {}", e.what()),
                "plan the manifest again with this hires");
  }
  if (!a.inputs.empty()) {
    throw Error(ErrorKind::usage, source,
                fmt::format("stored options hold a stray argument '{}'", a.inputs.front()));
  }
  try {
    return upscale_options(a);
  } catch (const Error& e) {
    const Error flags = for_cli(e);
    throw Error(e.kind(), fmt::format("{}: stored option {}", source, flags.subject()),
                flags.problem(), flags.hint());
  }
}

}  // namespace hires::cli
