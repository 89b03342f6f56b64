// The option table (include/hires/options.hpp): every upscale option once, with its type,
// default, range, help and the field it sets.
#include "hires/options.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "hires/error.hpp"

// The table names only the fields each option sets; the rest keep their defaults. GCC 12 warns
// about every designated initializer that leaves a member out, defaults or not.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace hires {
namespace {

using T = OptionType;
using G = OptionGroup;

std::int64_t as_int(const OptionValue& v) {
  return std::get<std::int64_t>(v);
}
double as_number(const OptionValue& v) {
  return std::get<double>(v);
}
bool as_flag(const OptionValue& v) {
  return std::get<bool>(v);
}
const std::string& as_text(const OptionValue& v) {
  return std::get<std::string>(v);
}

// Finite and inside the option's range (when it has one).
bool in_range(const OptionSpec& s, double v) {
  if (!std::isfinite(v)) return false;
  if (!(s.min < s.max)) return true;
  return (s.above_min ? v > s.min : v >= s.min) && v <= s.max;
}

[[noreturn]] void invalid(const OptionSpec& spec, std::string_view text) {
  throw Error(ErrorKind::usage, std::string(spec.key), fmt::format("'{}' is not valid", text),
              "expected " + option_expects(spec));
}

// Parsers of the options whose text has a form of its own (the library's parsers, naming the key).
OptionValue parse_scale_text(const OptionSpec& s, std::string_view t) {
  return parse_scale(s.key, t);
}
OptionValue parse_pixels_text(const OptionSpec& s, std::string_view t) {
  return static_cast<std::int64_t>(parse_pixels(s.key, t));
}
OptionValue parse_box_text(const OptionSpec& s, std::string_view t) {
  (void)parse_box(s.key, t);
  return std::string(t);
}
OptionValue parse_print_text(const OptionSpec& s, std::string_view t) {
  (void)parse_print(s.key, t);
  return std::string(t);
}
OptionValue parse_dpi_text(const OptionSpec& s, std::string_view t) {
  return parse_dpi(s.key, t);
}
OptionValue parse_color_text(const OptionSpec&, std::string_view t) {
  (void)parse_color(t);
  return std::string(t);
}
OptionValue parse_format_text(const OptionSpec&, std::string_view t) {
  return std::string(format_name(parse_format(t)));
}
OptionValue parse_backend_text(const OptionSpec& s, std::string_view t) {
  return std::string(backend_name(parse_backend(s.key, t)));
}
OptionValue parse_restore_text(const OptionSpec& s, std::string_view t) {
  const std::string text(t);
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !(v >= 0.0 && v <= 1.0)) {
    throw Error(
        ErrorKind::usage, std::string(s.key), fmt::format("'{}' is not a strength from 0 to 1", t),
        fmt::format("0 keeps the photo model's faithful look, 1 cleans up fully, e.g. `{}` {}",
                    s.key, s.example));
  }
  return v;
}
OptionValue parse_any_text(const OptionSpec&, std::string_view t) {
  return std::string(t);
}

std::uint64_t megapixels(double mp) {
  return static_cast<std::uint64_t>(mp * 1e6);
}

// Help texts are one line each; the README, --help and the web form's hints all show them.
std::vector<OptionSpec> make_specs() {
  std::vector<OptionSpec> s;
  // ---- output
  s.push_back({.key = "output",
               .group = G::output,
               .help = "Output file, or folder for several inputs (it mirrors the input tree); "
                       "default: NAME-hires.EXT beside each input",
               .value_name = "PATH"});
  s.push_back(
      {.key = "recursive", .type = T::flag, .group = G::output, .help = "Look inside sub-folders"});
  s.push_back({.key = "overwrite",
               .type = T::flag,
               .group = G::output,
               .help = "Replace existing outputs (never inputs)",
               .set = [](UpscaleOptions& o, const OptionValue& v) { o.overwrite = as_flag(v); },
               .get = [](const UpscaleOptions& o) -> OptionValue { return o.overwrite; }});
  s.push_back({.key = "preset",
               .group = G::output,
               .help = "Named option bundle (hires presets lists them); your own options win",
               .value_name = "NAME",
               .example = "web",
               .parse = [](const OptionSpec&, std::string_view t) -> OptionValue {
                 return find_preset(t).name;
               }});
  // ---- model
  s.push_back(
      {.key = "method",
       .group = G::model,
       .help = "nearest | bilinear | bicubic | lanczos, or an AI model: built in (photo-x4, "
               "photo-x2, restore-x4, restore-x2), a file (.param, .safetensors, .pth) or a name "
               "found in `models_dir` (default: chosen per image from what it shows — the photo "
               "model, the restore model at a strength, nearest for pixel art; x2 models up to "
               "2x). A model named without a size runs at its own scale",
       .value_name = "NAME",
       .example = "photo-x4",
       .web = true,
       .parse = parse_any_text});
  s.push_back({.key = "restore",
               .type = T::number,
               .group = G::model,
               .help = "Clean-up strength 0..1 (0: faithful photo model, 1: JPEG blocks, noise "
                       "and blur removed; between: the two models blended); default: measured "
                       "per image. With `method` restore-x4 or restore-x2 it sets theirs",
               .value_name = "S",
               .min = 0,
               .max = 1,
               .example = "0.5",
               .web = true,
               .parse = parse_restore_text});
  s.push_back({.key = "models_dir",
               .group = G::model,
               .help = "Folder with model files (repeatable; also $HIRES_MODELS_DIR and "
                       "~/.local/share/hires/models)",
               .value_name = "DIR",
               .repeatable = true,
               .parse = parse_any_text});
  s.push_back(
      {.key = "tile",
       .type = T::integer,
       .group = G::model,
       .help = "Model tile size in pixels (0 = from `memory_budget`)",
       .value_name = "N",
       .default_text = "0",
       .min = 0,
       .max = 8192,
       .set = [](UpscaleOptions& o, const OptionValue& v) { o.tile = static_cast<int>(as_int(v)); },
       .get = [](const UpscaleOptions& o) -> OptionValue { return std::int64_t{o.tile}; }});
  s.push_back(
      {.key = "memory_budget",
       .type = T::bytes,
       .group = G::model,
       .help = "Memory for a model tile and its bands, e.g. 512M, 2G",
       .value_name = "B",
       .default_text = "1GiB",
       .example = "512M",
       .set = [](UpscaleOptions& o,
                 const OptionValue& v) { o.memory_budget = static_cast<std::uint64_t>(as_int(v)); },
       .get = [](const UpscaleOptions& o) -> OptionValue {
         return static_cast<std::int64_t>(o.memory_budget);
       }});
  s.push_back(
      {.key = "backend",
       .type = T::choice,
       .group = G::model,
       .help = "Which implementation runs a model: auto (a GPU through Vulkan when there is "
               "one, else oneDNN; HIRES_BACKEND=reference forces the plain loops), cpu (oneDNN), "
               "vulkan (any Vulkan device, Mesa's lavapipe included; hires devices lists them), "
               "reference (plain loops, slow)",
       .default_text = "auto",
       .choices = {"auto", "cpu", "vulkan", "reference"},
       .parse = parse_backend_text,
       .set = [](UpscaleOptions& o,
                 const OptionValue& v) { o.backend = parse_backend("backend", as_text(v)); },
       .get = [](const UpscaleOptions& o) -> OptionValue {
         return std::string(backend_name(o.backend));
       }});
  // ---- size (one at most)
  s.push_back({.key = "scale",
               .type = T::number,
               .group = G::size,
               .help = "Scale factor, e.g. 2 or 3.5 (default 4, or a named model's own scale)",
               .value_name = "F",
               .example = "2",
               .web = true,
               .parse = parse_scale_text});
  s.push_back({.key = "width",
               .type = T::integer,
               .group = G::size,
               .help = "Output width in pixels (aspect kept)",
               .value_name = "W",
               .example = "1920",
               .web = true,
               .parse = parse_pixels_text});
  s.push_back({.key = "height",
               .type = T::integer,
               .group = G::size,
               .help = "Output height in pixels (aspect kept)",
               .value_name = "H",
               .example = "1080",
               .web = true,
               .parse = parse_pixels_text});
  s.push_back({.key = "fit",
               .group = G::size,
               .help = "Largest size inside WxH pixels",
               .value_name = "WxH",
               .example = "1920x1080",
               .web = true,
               .parse = parse_box_text});
  s.push_back({.key = "long_edge",
               .type = T::integer,
               .group = G::size,
               .help = "Long edge in pixels",
               .value_name = "N",
               .example = "4096",
               .web = true,
               .parse = parse_pixels_text});
  s.push_back({.key = "print",
               .group = G::size,
               .help = "Pixels to print WxH{in|cm}@DPI, fitted inside, orientation-aware, e.g. "
                       "8x10in@300 (DPI written to the file)",
               .value_name = "SIZE",
               .example = "8x10in@300",
               .web = true,
               .parse = parse_print_text});
  // ---- file
  s.push_back({.key = "format",
               .type = T::choice,
               .group = G::file,
               .help = "Output format (default: from the output's extension, else the input's)",
               .choices = {"jpg", "png", "webp", "tiff", "avif"},
               .web = true,
               .parse = parse_format_text,
               .set = [](UpscaleOptions& o,
                         const OptionValue& v) { o.encode.format = parse_format(as_text(v)); },
               .get = [](const UpscaleOptions& o) -> OptionValue {
                 return std::string(format_name(o.encode.format));
               }});
  s.push_back({.key = "quality",
               .type = T::integer,
               .group = G::file,
               .help = "Quality 1-100 (default: JPEG/WebP 90, AVIF 60)",
               .value_name = "Q",
               .min = 1,
               .max = 100,
               .example = "80",
               .web = true,
               .set = [](UpscaleOptions& o, const OptionValue& v) {
                 o.encode.quality = static_cast<int>(as_int(v));
               }});
  s.push_back({.key = "max_bytes",
               .type = T::bytes,
               .group = G::file,
               .help = "Highest quality whose file fits, e.g. 150K, 2M (K = 1000 bytes), never "
                       "below `min_quality`",
               .value_name = "N",
               .example = "150K",
               .web = true,
               .set = [](UpscaleOptions& o, const OptionValue& v) {
                 o.encode.max_bytes = static_cast<std::uint64_t>(as_int(v));
               }});
  s.push_back(
      {.key = "min_quality",
       .type = T::integer,
       .group = G::file,
       .help = "With `max_bytes`: the lowest quality allowed (below it JPEG blocks show; "
               "1 allows any); a size that cannot be met above it fails",
       .value_name = "Q",
       .default_text = "60",
       .min = 1,
       .max = 100,
       .web = true,
       .set = [](UpscaleOptions& o,
                 const OptionValue& v) { o.encode.min_quality = static_cast<int>(as_int(v)); },
       .get = [](const UpscaleOptions& o) -> OptionValue {
         return std::int64_t{o.encode.min_quality};
       }});
  s.push_back({.key = "dpi",
               .type = T::number,
               .group = G::file,
               .help = "Write this DPI into the output (no resizing)",
               .value_name = "N",
               .min = 1,
               .max = kMaxDpi,
               .example = "300",
               .web = true,
               .parse = parse_dpi_text});
  s.push_back({.key = "strip",
               .type = T::flag,
               .group = G::file,
               .help = "Drop EXIF/XMP/IPTC (the colour profile is kept)",
               .web = true,
               .set = [](UpscaleOptions& o, const OptionValue& v) { o.encode.strip = as_flag(v); },
               .get = [](const UpscaleOptions& o) -> OptionValue { return o.encode.strip; }});
  s.push_back({.key = "srgb",
               .type = T::flag,
               .group = G::file,
               .help =
                   "Convert colours to sRGB through the embedded profile (Display P3, Adobe "
                   "RGB, ...); turned off explicitly, it keeps the profile when a preset asks for "
                   "sRGB",
               .web = true,
               .negatable = true,
               .set = [](UpscaleOptions& o, const OptionValue& v) { o.encode.srgb = as_flag(v); },
               .get = [](const UpscaleOptions& o) -> OptionValue { return o.encode.srgb; }});
  s.push_back(
      {.key = "strip_location",
       .type = T::flag,
       .group = G::file,
       .help = "Drop where the photo was taken (EXIF GPS; XMP and IPTC when they carry a "
               "location), keep the rest; the web presets turn it on, `keep_location` "
               "keeps it",
       .web = true,
       .negatable = true,
       .negation = "keep_location",
       .set = [](UpscaleOptions& o, const OptionValue& v) { o.encode.strip_location = as_flag(v); },
       .get = [](const UpscaleOptions& o) -> OptionValue { return o.encode.strip_location; }});
  s.push_back({.key = "background",
               .group = G::file,
               .help = "Colour under transparency for formats without alpha: white, black, "
                       "#rrggbb or r,g,b",
               .value_name = "C",
               .default_text = "white",
               .web = true,
               .parse = parse_color_text,
               .set = [](UpscaleOptions& o, const OptionValue& v) {
                 o.encode.background = parse_color(as_text(v));
               }});
  // ---- polish
  s.push_back(
      {.key = "color_fix",
       .type = T::flag,
       .group = G::polish,
       .help = "Match the output's low-frequency colour to the input's (models can "
               "shift it)",
       .web = true,
       .set = [](UpscaleOptions& o, const OptionValue& v) { o.polish.color_fix = as_flag(v); },
       .get = [](const UpscaleOptions& o) -> OptionValue { return o.polish.color_fix; }});
  s.push_back({.key = "denoise",
               .type = T::integer,
               .group = G::polish,
               .help = "Classical edge-preserving filter before upscaling, 0 (off) to 3 "
                       "(`restore` is the recommended clean-up)",
               .value_name = "N",
               .default_text = "0",
               .min = 0,
               .max = 3,
               .web = true,
               .set = [](UpscaleOptions& o,
                         const OptionValue& v) { o.polish.denoise = static_cast<int>(as_int(v)); },
               .get = [](const UpscaleOptions& o) -> OptionValue {
                 return std::int64_t{o.polish.denoise};
               }});
  s.push_back(
      {.key = "sharpen",
       .type = T::number,
       .group = G::polish,
       .help = "Unsharp mask after upscaling (linear light), 0 to 5, e.g. 0.5",
       .value_name = "A",
       .default_text = "0",
       .min = 0,
       .max = 5,
       .example = "0.5",
       .web = true,
       .set = [](UpscaleOptions& o, const OptionValue& v) { o.polish.sharpen = as_number(v); },
       .get = [](const UpscaleOptions& o) -> OptionValue { return o.polish.sharpen; }});
  // ---- limits
  s.push_back(
      {.key = "max_pixels",
       .type = T::number,
       .group = G::limits,
       .help = "Largest input in megapixels",
       .value_name = "MP",
       .default_text = "268.435456",
       .min = 0,
       .max = 1e9,
       .above_min = true,
       .set = [](UpscaleOptions& o,
                 const OptionValue& v) { o.limits.max_input_pixels = megapixels(as_number(v)); },
       .get = [](const UpscaleOptions& o) -> OptionValue {
         return static_cast<double>(o.limits.max_input_pixels) / 1e6;
       }});
  s.push_back(
      {.key = "max_output_pixels",
       .type = T::number,
       .group = G::limits,
       .help = "Largest output in megapixels",
       .value_name = "MP",
       .default_text = "1073.741824",
       .min = 0,
       .max = 1e9,
       .above_min = true,
       .set = [](UpscaleOptions& o,
                 const OptionValue& v) { o.limits.max_output_pixels = megapixels(as_number(v)); },
       .get = [](const UpscaleOptions& o) -> OptionValue {
         return static_cast<double>(o.limits.max_output_pixels) / 1e6;
       }});
  s.push_back(
      {.key = "gpu",
       .type = T::integer,
       .group = G::model,
       .help = "With `backend` vulkan or auto: the Vulkan device to use (hires devices "
               "lists them); default: the first GPU",
       .value_name = "N",
       .min = 0,
       .max = 63,
       .set = [](UpscaleOptions& o, const OptionValue& v) { o.gpu = static_cast<int>(as_int(v)); },
       .get = [](const UpscaleOptions& o) -> OptionValue { return std::int64_t{o.gpu}; }});
  s.push_back(
      {.key = "accept_damaged",
       .type = T::flag,
       .group = G::limits,
       .help = "Decode files with corrupt data instead of failing them (damaged parts may "
               "be grey; the result says so)",
       .set = [](UpscaleOptions& o, const OptionValue& v) { o.limits.accept_damaged = as_flag(v); },
       .get = [](const UpscaleOptions& o) -> OptionValue { return o.limits.accept_damaged; }});
  s.push_back(
      {.key = "threads",
       .type = T::integer,
       .group = G::limits,
       .help = "Worker threads (0 = all cores)",
       .value_name = "N",
       .default_text = "0",
       .min = 0,
       .max = 1024,
       .set = [](UpscaleOptions& o,
                 const OptionValue& v) { o.threads = static_cast<int>(as_int(v)); },
       .get = [](const UpscaleOptions& o) -> OptionValue { return std::int64_t{o.threads}; }});
  // ---- run: how a surface reports (read by the CLI itself)
  s.push_back({.key = "json",
               .type = T::flag,
               .group = G::run,
               .help = "One JSON object per event on stdout: start, progress, done, skipped, "
                       "error, summary"});
  s.push_back({.key = "quiet", .type = T::flag, .group = G::run, .help = "Print errors only"});
  s.push_back({.key = "verbose",
               .type = T::flag,
               .group = G::run,
               .help = "Also say which model and engine implementation ran, and why (and the "
                       "OpenMP wait policy: passive unless OMP_WAIT_POLICY is set)"});
  s.push_back({.key = "review",
               .type = T::flag,
               .group = G::run,
               .help = "Review each result against its input (see hires review)"});
  return s;
}

}  // namespace

std::string_view option_type_name(OptionType t) {
  switch (t) {
    case T::flag:
      return "flag";
    case T::integer:
      return "integer";
    case T::number:
      return "number";
    case T::bytes:
      return "bytes";
    case T::choice:
      return "choice";
    case T::text:
      return "text";
  }
  return "?";
}

std::string_view option_group_name(OptionGroup g) {
  switch (g) {
    case G::output:
      return "output";
    case G::model:
      return "model";
    case G::size:
      return "size";
    case G::file:
      return "file";
    case G::polish:
      return "polish";
    case G::limits:
      return "limits";
    case G::run:
      return "run";
  }
  return "?";
}

const std::vector<OptionSpec>& option_specs() {
  static const std::vector<OptionSpec> kSpecs = make_specs();
  return kSpecs;
}

const OptionSpec* find_option(std::string_view key) {
  for (const OptionSpec& s : option_specs()) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

std::string option_expects(const OptionSpec& s) {
  switch (s.type) {
    case T::flag:
      return "true or false";
    case T::integer:
      if (s.min < s.max) return fmt::format("a whole number from {:g} to {:g}", s.min, s.max);
      return "a whole number";
    case T::number:
      if (s.above_min) return fmt::format("a number above {:g} and at most {:g}", s.min, s.max);
      if (s.min < s.max) return fmt::format("a number from {:g} to {:g}", s.min, s.max);
      return "a number";
    case T::bytes:
      return "a size like 150K, 2M or 500000 (K = 1000 bytes)";
    case T::choice: {
      std::string list;
      for (std::size_t i = 0; i < s.choices.size(); ++i) {
        list += i == 0 ? "" : (i + 1 == s.choices.size() ? " or " : ", ");
        list += s.choices[i];
      }
      return list;
    }
    case T::text:
      return s.example.empty() ? "text" : fmt::format("text like {}", s.example);
  }
  return "?";
}

OptionValue parse_option(const OptionSpec& s, std::string_view text) {
  if (s.parse != nullptr) return s.parse(s, text);
  switch (s.type) {
    case T::flag:
      if (text == "true" || text == "1" || text == "on" || text == "yes") return true;
      if (text == "false" || text == "0" || text == "off" || text == "no") return false;
      invalid(s, text);
    case T::integer: {
      std::int64_t v = 0;
      const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() ||
          !in_range(s, static_cast<double>(v))) {
        invalid(s, text);
      }
      return v;
    }
    case T::number: {
      char* end = nullptr;
      const std::string t(text);
      const double v = std::strtod(t.c_str(), &end);
      if (t.empty() || end != t.c_str() + t.size() || !in_range(s, v)) invalid(s, text);
      return v;
    }
    case T::bytes:
      return static_cast<std::int64_t>(parse_bytes(s.key, text));
    case T::choice:
      for (std::string_view c : s.choices) {
        if (c == text) return std::string(c);
      }
      invalid(s, text);
    case T::text:
      return std::string(text);
  }
  invalid(s, text);
}

OptionValue check_option(const OptionSpec& s, OptionValue v) {
  auto wrong = [&](std::string_view shown) { invalid(s, shown); };
  // true/false where a number, size or text is expected (a JSON request's "restore": true).
  if (s.type != T::flag && std::holds_alternative<bool>(v)) wrong(as_flag(v) ? "true" : "false");
  switch (s.type) {
    case T::flag:
      if (!std::holds_alternative<bool>(v)) wrong("(not true or false)");
      return v;
    case T::integer:
    case T::bytes: {
      if (std::holds_alternative<double>(v)) {
        const double d = std::get<double>(v);
        if (d != std::floor(d) || std::abs(d) > 9e15) wrong(fmt::format("{:g}", d));
        v = static_cast<std::int64_t>(d);
      }
      if (!std::holds_alternative<std::int64_t>(v)) return parse_option(s, as_text(v));
      const std::int64_t i = as_int(v);
      if (s.type == T::bytes && i <= 0) wrong(std::to_string(i));
      if (!in_range(s, static_cast<double>(i))) wrong(std::to_string(i));
      if (s.parse != nullptr) return s.parse(s, std::to_string(i));
      return v;
    }
    case T::number: {
      if (std::holds_alternative<std::int64_t>(v)) v = static_cast<double>(as_int(v));
      if (!std::holds_alternative<double>(v)) return parse_option(s, as_text(v));
      const double d = as_number(v);
      if (!in_range(s, d)) wrong(fmt::format("{:g}", d));
      if (s.parse != nullptr) return s.parse(s, fmt::format("{}", d));
      return v;
    }
    case T::choice:
    case T::text:
      if (!std::holds_alternative<std::string>(v)) wrong("(not text)");
      return parse_option(s, as_text(v));
  }
  return v;
}

void set_option_text(OptionValues& values, std::string_view key, std::string_view text) {
  const OptionSpec* s = find_option(key);
  if (s == nullptr) {
    throw Error(ErrorKind::usage, std::string(key), "unknown option");
  }
  values.insert_or_assign(std::string(key), parse_option(*s, text));
}

std::string format_option(const OptionSpec& s, const OptionValue& v) {
  if (const bool* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (const std::string* t = std::get_if<std::string>(&v)) return *t;
  if (const double* d = std::get_if<double>(&v)) return fmt::format("{}", *d);
  const std::int64_t i = as_int(v);
  if (s.type == T::bytes && i > 0) {
    constexpr std::int64_t kGiB = 1LL << 30;
    if (i % kGiB == 0) return fmt::format("{}GiB", i / kGiB);
    if (i % 1'000'000 == 0) return fmt::format("{}M", i / 1'000'000);
    if (i % 1000 == 0) return fmt::format("{}K", i / 1000);
  }
  return std::to_string(i);
}

}  // namespace hires
