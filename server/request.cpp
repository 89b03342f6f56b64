// The page's form, read into the library's request through the option table (hires/options.hpp):
// each field is the option of that key, checked by the table; errors name the field.
#include <fmt/format.h>

#include "api.hpp"
#include "hires/batch.hpp"
#include "hires/error.hpp"
#include "hires/options.hpp"
#include "hires/pipeline.hpp"
#include "options_json.hpp"

namespace hires::server {
namespace {

using nlohmann::json;

const OptionSpec& web_option(const std::string& key) {
  const OptionSpec* spec = find_option(key);
  if (spec == nullptr || !spec->web) {
    throw Error(ErrorKind::usage, key, "is not a setting of the web app",
                "GET /api/options lists them");
  }
  return *spec;
}

// "size": {"mode": "width", "value": "2400"}: the size option named by mode; "default" or none:
// the model's own scale, or 4x.
void read_size(const json& s, OptionValues& values) {
  if (!s.is_object()) throw Error(ErrorKind::usage, "size", "expected {mode, value}");
  const std::string mode =
      s.contains("mode") && s["mode"].is_string() ? s["mode"].get<std::string>() : std::string();
  if (mode.empty() || mode == "default") return;
  if (!is_size_option(mode)) {
    throw Error(ErrorKind::usage, "size", fmt::format("unknown mode '{}'", mode),
                "scale, width, height, long_edge, fit or print");
  }
  values.insert_or_assign(
      mode,
      option_value_from_json(*find_option(mode), s.contains("value") ? s["value"] : json("")));
}

OptionValues read_values(const json& j) {
  OptionValues values;
  std::string preset;
  for (const auto& [field, value] : j.items()) {
    if (value.is_null()) continue;
    if (field == "size") {
      read_size(value, values);
    } else if (field == "preset") {
      if (!value.is_string()) throw Error(ErrorKind::usage, "preset", "expected a preset's name");
      preset = value.get<std::string>();
    } else {
      const std::string key = field == "model" ? "method" : field;  // the page's word for it
      values.insert_or_assign(key, option_value_from_json(web_option(key), value));
    }
  }
  if (!preset.empty()) apply_preset(values, find_preset(preset), false);
  return values;
}

}  // namespace

ParsedOptions parse_options(const json& body, const StoredImage& image, const ServeOptions& serve) {
  static const json kEmpty = json::object();
  const json& j = body.contains("options") ? body["options"] : kEmpty;
  if (!j.is_object()) throw Error(ErrorKind::usage, "options", "expected an object");
  try {
    const OptionValues values = read_values(j);
    ParsedOptions parsed;
    UpscaleOptions& o = parsed.options;
    o = upscale_options_from(values, serve.model_dirs);
    o.limits = serve.limits;
    o.threads = serve.threads;
    o.backend = serve.backend;
    o.gpu = serve.gpu;
    (void)plan_size(image.facts.size, o.size);  // a bad size is said before any work
    if (values.count("format") != 0) {
      parsed.format = o.encode.format;
    } else if (auto own = format_from_path(image.path)) {
      parsed.format = *own;
    }
    o.encode.format = parsed.format;
    return parsed;
  } catch (const Error& e) {
    throw Error(e.kind(), e.subject(), field_text(e.problem()), field_text(e.hint()));
  }
}

}  // namespace hires::server
