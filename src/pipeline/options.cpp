// The request the option table's values ask for (hires/options.hpp): the one translation from
// values to UpscaleOptions, used by the CLI, `hires run`'s stored options and the web app.
#include <fmt/format.h>

#include "hires/error.hpp"
#include "hires/options.hpp"
#include "hires/pipeline.hpp"

namespace hires {

UpscaleOptions upscale_options_from(const OptionValues& values,
                                    const std::vector<std::filesystem::path>& model_dirs) {
  UpscaleOptions o;
  auto get = [&](std::string_view key) -> const OptionValue* {
    const auto it = values.find(key);
    return it == values.end() ? nullptr : &it->second;
  };
  for (const auto& [key, value] : values) {
    if (find_option(key) == nullptr) {
      throw Error(ErrorKind::usage, key, "unknown option");
    }
  }
  std::optional<double> restore;
  if (const OptionValue* r = get("restore")) restore = std::get<double>(*r);
  const OptionValue* method = get("method");
  set_method(o, method != nullptr ? std::get<std::string>(*method) : std::string(), model_dirs,
             restore);
  o.size =
      requested_size(size_request_from(values, "conflict: choose one sizing option",
                                       "`scale`, `width`, `height`, `fit`, `long_edge` or `print`"),
                     o);
  // Validate the size before any file is touched (1000x1000 stands for any image).
  if (o.size.mode != SizeMode::scale || o.size.scale > 0) (void)plan_size({1000, 1000}, o.size);
  if (const OptionValue* dpi = get("dpi")) {
    if (get("print") != nullptr) {
      throw Error(ErrorKind::usage, "dpi and print", "conflict: `print` already sets the DPI");
    }
    o.encode.dpi = std::get<double>(*dpi);
  }
  for (const OptionSpec& spec : option_specs()) {
    const OptionValue* v = get(spec.key);
    if (v != nullptr && spec.set != nullptr) spec.set(o, *v);
  }
  return o;
}

}  // namespace hires
