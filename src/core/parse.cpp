// Textual forms of options: "2.5", "1920x1080", "8x10in@300", "150K", "lanczos", "#ffffff".
#include <fmt/format.h>
#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <string>

#include "hires/error.hpp"
#include "hires/hires.hpp"
#include "hires/plan.hpp"

namespace hires {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Parses a whole string as a double; std::nullopt when anything is left over.
std::optional<double> to_double(std::string_view s) {
  if (s.empty()) return std::nullopt;
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<int> to_int(std::string_view s) {
  if (s.empty()) return std::nullopt;
  int v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

[[noreturn]] void bad(std::string_view option, std::string_view text, std::string_view expected) {
  throw Error(ErrorKind::usage, std::string(option), fmt::format("'{}' is not valid", text),
              fmt::format("expected {}", expected));
}

}  // namespace

double parse_scale(std::string_view option, std::string_view text) {
  std::string_view t = text;
  if (!t.empty() && (t.back() == 'x' || t.back() == 'X')) t.remove_suffix(1);
  auto v = to_double(t);
  if (!v || *v <= 0) bad(option, text, "a number greater than 0, like 2 or 3.5");
  return *v;
}

double parse_number(std::string_view option, std::string_view text, double min, double max,
                    bool above_min) {
  const auto v = to_double(text);
  if (!v || *v < min || *v > max || (above_min && *v == min)) {
    bad(option, text,
        above_min ? fmt::format("a number above {:g} and at most {:g}", min, max)
                  : fmt::format("a number from {:g} to {:g}", min, max));
  }
  return *v;
}

double parse_dpi(std::string_view option, std::string_view text) {
  const auto v = to_double(text);
  if (!v || *v < 1 || *v > kMaxDpi) {
    bad(option, text, fmt::format("a DPI from 1 to {:g}, like 300", kMaxDpi));
  }
  return *v;
}

int parse_pixels(std::string_view option, std::string_view text) {
  auto v = to_int(text);
  if (!v || *v <= 0) bad(option, text, "a whole number of pixels above 0, like 1920");
  return *v;
}

Size parse_box(std::string_view option, std::string_view text) {
  const std::string t = lower(text);
  const auto x = t.find('x');
  if (x == std::string::npos) bad(option, text, "WIDTHxHEIGHT in pixels, like 1920x1080");
  auto w = to_int(std::string_view(t).substr(0, x));
  auto h = to_int(std::string_view(t).substr(x + 1));
  if (!w || !h || *w <= 0 || *h <= 0) bad(option, text, "WIDTHxHEIGHT in pixels, like 1920x1080");
  return {*w, *h};
}

PrintSpec parse_print(std::string_view option, std::string_view text) {
  constexpr std::string_view expected = "WxH{in|cm}@DPI with values above 0, like 8x10in@300";
  const std::string t = lower(text);
  const auto at = t.find('@');
  if (at == std::string::npos) bad(option, text, expected);
  std::string_view dims = std::string_view(t).substr(0, at);
  PrintSpec p;
  if (dims.ends_with("in")) {
    p.unit = LengthUnit::inch;
    dims.remove_suffix(2);
  } else if (dims.ends_with("cm")) {
    p.unit = LengthUnit::cm;
    dims.remove_suffix(2);
  } else {
    bad(option, text, expected);
  }
  const auto x = dims.find('x');
  if (x == std::string_view::npos) bad(option, text, expected);
  auto w = to_double(dims.substr(0, x));
  auto h = to_double(dims.substr(x + 1));
  auto dpi = to_double(std::string_view(t).substr(at + 1));
  if (!w || !h || !dpi || *w <= 0 || *h <= 0 || *dpi <= 0) bad(option, text, expected);
  if (*dpi > kMaxDpi) bad(option, text, fmt::format("a DPI of at most {:g}", kMaxDpi));
  p.width = *w;
  p.height = *h;
  p.dpi = *dpi;
  return p;
}

std::uint64_t parse_bytes(std::string_view option, std::string_view text) {
  constexpr std::string_view expected = "a size like 150K, 2M or 500000 (K = 1000 bytes)";
  std::string t = lower(text);
  std::uint64_t mult = 1;
  struct Suffix {
    std::string_view s;
    std::uint64_t m;
  };
  constexpr std::array<Suffix, 11> suffixes{{{"gib", 1024ULL * 1024 * 1024},
                                             {"gb", 1000ULL * 1000 * 1000},
                                             {"g", 1000ULL * 1000 * 1000},
                                             {"kib", 1024},
                                             {"mib", 1024ULL * 1024},
                                             {"kb", 1000},
                                             {"mb", 1000ULL * 1000},
                                             {"k", 1000},
                                             {"m", 1000ULL * 1000},
                                             {"b", 1},
                                             {"", 1}}};
  for (const auto& s : suffixes) {
    if (t.ends_with(s.s)) {
      mult = s.m;
      t.resize(t.size() - s.s.size());
      break;
    }
  }
  auto v = to_double(t);
  if (!v || *v <= 0) bad(option, text, expected);
  const double bytes = std::floor(*v * static_cast<double>(mult));
  if (bytes < 1 || bytes > 1e15) bad(option, text, expected);
  return static_cast<std::uint64_t>(bytes);
}

std::string format_bytes(std::uint64_t bytes) {
  if (bytes >= 1000ULL * 1000) return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6);
  if (bytes >= 1000) return fmt::format("{:.1f} KB", static_cast<double>(bytes) / 1e3);
  return fmt::format("{} bytes", bytes);
}

std::string_view method_name(Method m) {
  switch (m) {
    case Method::nearest:
      return "nearest";
    case Method::bilinear:
      return "bilinear";
    case Method::bicubic:
      return "bicubic";
    case Method::lanczos:
      return "lanczos";
  }
  return "?";
}

std::optional<Method> find_method(std::string_view text) {
  const std::string t = lower(text);
  for (Method m : {Method::nearest, Method::bilinear, Method::bicubic, Method::lanczos}) {
    if (t == method_name(m)) return m;
  }
  if (t == "lanczos3") return Method::lanczos;
  if (t == "linear") return Method::bilinear;
  if (t == "cubic") return Method::bicubic;
  return std::nullopt;
}

Method parse_method(std::string_view text) {
  if (auto m = find_method(text)) return *m;
  throw Error(ErrorKind::usage, "method", fmt::format("'{}' is not a known method", text),
              "expected nearest, bilinear, bicubic or lanczos; 'hires models' lists them");
}

std::string_view backend_name(BackendKind b) {
  switch (b) {
    case BackendKind::automatic:
      return "auto";
    case BackendKind::cpu:
      return "cpu";
    case BackendKind::reference:
      return "reference";
    case BackendKind::vulkan:
      return "vulkan";
  }
  return "?";
}

BackendKind parse_backend(std::string_view option, std::string_view text) {
  const std::string t = lower(text);
  for (BackendKind b :
       {BackendKind::automatic, BackendKind::cpu, BackendKind::reference, BackendKind::vulkan}) {
    if (t == backend_name(b)) return b;
  }
  throw Error(ErrorKind::usage, std::string(option), fmt::format("'{}' is not a backend", text),
              "expected auto, cpu, vulkan or reference");
}

bool format_has_alpha(Format f) {
  return f != Format::jpeg;
}

bool format_has_16bit(Format f) {
  return f == Format::png || f == Format::tiff;
}

std::string_view format_name(Format f) {
  switch (f) {
    case Format::jpeg:
      return "jpg";
    case Format::png:
      return "png";
    case Format::webp:
      return "webp";
    case Format::tiff:
      return "tiff";
    case Format::avif:
      return "avif";
    case Format::from_extension:
      return "auto";
  }
  return "?";
}

std::string_view format_extension(Format f) {
  switch (f) {
    case Format::jpeg:
      return ".jpg";
    case Format::png:
      return ".png";
    case Format::webp:
      return ".webp";
    case Format::tiff:
      return ".tif";
    case Format::avif:
      return ".avif";
    case Format::from_extension:
      return "";
  }
  return "";
}

namespace {
std::optional<Format> format_from_name(std::string_view name) {
  const std::string t = lower(name);
  if (t == "jpg" || t == "jpeg" || t == "jpe") return Format::jpeg;
  if (t == "png") return Format::png;
  if (t == "webp") return Format::webp;
  if (t == "tif" || t == "tiff") return Format::tiff;
  if (t == "avif") return Format::avif;
  return std::nullopt;
}
}  // namespace

Format parse_format(std::string_view text) {
  if (auto f = format_from_name(text)) return *f;
  throw Error(ErrorKind::usage, "format", fmt::format("'{}' is not a format hires writes", text),
              "expected jpg, png, webp, tiff or avif");
}

std::optional<Format> format_from_path(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  if (ext.empty()) return std::nullopt;
  return format_from_name(std::string_view(ext).substr(1));
}

Rgb parse_color(std::string_view text) {
  const std::string t = lower(text);
  if (t == "white") return {255, 255, 255};
  if (t == "black") return {0, 0, 0};
  std::string_view hex = t;
  if (hex.starts_with('#')) hex.remove_prefix(1);
  if (hex.size() == 6 && hex.find_first_not_of("0123456789abcdef") == std::string_view::npos) {
    auto byte = [&](std::size_t i) {
      unsigned v = 0;
      std::from_chars(hex.data() + i, hex.data() + i + 2, v, 16);
      return static_cast<std::uint8_t>(v);
    };
    return {byte(0), byte(2), byte(4)};
  }
  const auto c1 = t.find(',');
  const auto c2 = c1 == std::string::npos ? c1 : t.find(',', c1 + 1);
  if (c2 != std::string::npos) {
    auto r = to_int(std::string_view(t).substr(0, c1));
    auto g = to_int(std::string_view(t).substr(c1 + 1, c2 - c1 - 1));
    auto b = to_int(std::string_view(t).substr(c2 + 1));
    auto ok = [](std::optional<int> v) { return v && *v >= 0 && *v <= 255; };
    if (ok(r) && ok(g) && ok(b)) {
      return {static_cast<std::uint8_t>(*r), static_cast<std::uint8_t>(*g),
              static_cast<std::uint8_t>(*b)};
    }
  }
  bad("background", text, "white, black, #rrggbb or r,g,b");
}

}  // namespace hires
