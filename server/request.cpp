// The page's form, read into the library's request with the library's own parsers.
#include <fmt/format.h>

#include "api.hpp"
#include "hires/batch.hpp"
#include "hires/error.hpp"
#include "hires/pipeline.hpp"

namespace hires::server {
namespace {

using nlohmann::json;

// A field as text whether the page sent a string or a number; empty when absent or null.
std::string text(const json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return {};
  const json& v = j[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number()) return v.dump();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  throw Error(ErrorKind::usage, key, "expected a number or text");
}

bool flag(const json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return false;
  if (!j[key].is_boolean()) throw Error(ErrorKind::usage, key, "expected true or false");
  return j[key].get<bool>();
}

double number(const json& j, const char* key, double lo, double hi, double fallback) {
  const std::string t = text(j, key);
  if (t.empty()) return fallback;
  char* end = nullptr;
  const double v = std::strtod(t.c_str(), &end);
  if (end == t.c_str() || *end != '\0' || !(v >= lo && v <= hi)) {
    throw Error(ErrorKind::usage, key,
                fmt::format("'{}' is not a number from {:g} to {:g}", t, lo, hi));
  }
  return v;
}

std::optional<SizeRequest> size_request(const json& j) {
  if (!j.contains("size") || j["size"].is_null()) return std::nullopt;
  const json& s = j["size"];
  if (!s.is_object()) throw Error(ErrorKind::usage, "size", "expected {mode, value}");
  const std::string mode = text(s, "mode");
  const std::string value = text(s, "value");
  if (mode.empty() || mode == "default") return std::nullopt;
  if (mode == "scale") return SizeRequest::by_scale(parse_scale("scale", value));
  if (mode == "width") return SizeRequest::by_width(parse_pixels("width", value));
  if (mode == "height") return SizeRequest::by_height(parse_pixels("height", value));
  if (mode == "long_edge") return SizeRequest::by_long_edge(parse_pixels("long edge", value));
  if (mode == "fit") {
    const Size box = parse_box("fit", value);
    return SizeRequest::fit_box(box.width, box.height);
  }
  if (mode == "print") return SizeRequest::for_print(parse_print("print size", value));
  throw Error(ErrorKind::usage, "size", fmt::format("unknown mode '{}'", mode),
              "scale, width, height, long_edge, fit or print");
}

}  // namespace

ParsedOptions parse_options(const json& body, const StoredImage& image, const ServeOptions& serve) {
  static const json kEmpty = json::object();
  const json& j = body.contains("options") ? body["options"] : kEmpty;
  if (!j.is_object()) throw Error(ErrorKind::usage, "options", "expected an object");
  ParsedOptions parsed;
  UpscaleOptions& o = parsed.options;
  o.limits = serve.limits;
  o.threads = serve.threads;

  std::string model = text(j, "model");
  if (model == "auto") model.clear();
  std::optional<double> restore;
  if (!text(j, "restore").empty()) restore = number(j, "restore", 0, 1, 0);
  set_method(o, model, serve.model_dirs, restore);
  o.size = requested_size(size_request(j), o);
  (void)plan_size(image.facts.size, o.size);  // a bad size is said before any work

  o.polish.color_fix = flag(j, "color_fix");
  o.polish.sharpen = number(j, "sharpen", 0, 5, 0);
  o.polish.denoise = static_cast<int>(number(j, "denoise", 0, 3, 0));

  const std::string format = text(j, "format");
  if (!format.empty()) {
    parsed.format = parse_format(format);
  } else if (auto own = format_from_path(image.path)) {
    parsed.format = *own;
  }
  o.encode.format = parsed.format;
  o.encode.quality = static_cast<int>(number(j, "quality", 0, 100, 0));
  if (const std::string bytes = text(j, "max_bytes"); !bytes.empty()) {
    o.encode.max_bytes = parse_bytes("max bytes", bytes);
  }
  o.encode.min_quality = static_cast<int>(number(j, "min_quality", 1, 100, kDefaultMinQuality));
  o.encode.strip = flag(j, "strip");
  o.encode.srgb = flag(j, "srgb");
  if (const std::string dpi = text(j, "dpi"); !dpi.empty()) {
    o.encode.dpi = number(j, "dpi", 1, 65535, 0);
  }
  if (const std::string bg = text(j, "background"); !bg.empty()) {
    o.encode.background = parse_color(bg);
  }
  return parsed;
}

}  // namespace hires::server
