// Sizing: from what the user asked (scale, width, box, print size...) to output pixels.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hires {

// Bytes a model's activations may use per tile, unless the user says otherwise.
inline constexpr std::uint64_t kDefaultMemoryBudget = 1ULL << 30;

struct Size {
  int width = 0;
  int height = 0;
  friend bool operator==(const Size&, const Size&) = default;
};

// A rectangle of an image, in its pixels.
struct Rect {
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;
  friend bool operator==(const Rect&, const Rect&) = default;
};

enum class LengthUnit { inch, cm };

// "8x10in@300": the pixels needed to print 8 x 10 inches at 300 DPI.
struct PrintSpec {
  double width = 0;
  double height = 0;
  LengthUnit unit = LengthUnit::inch;
  double dpi = 0;
};

enum class SizeMode { scale, width, height, fit, long_edge, print };

struct SizeRequest {
  SizeMode mode = SizeMode::scale;
  double scale = 4.0;
  int width = 0;
  int height = 0;
  int long_edge = 0;
  PrintSpec print;

  static SizeRequest by_scale(double s);
  static SizeRequest by_width(int w);
  static SizeRequest by_height(int h);
  static SizeRequest fit_box(int w, int h);
  static SizeRequest by_long_edge(int n);
  static SizeRequest for_print(PrintSpec p);
};

struct SizePlan {
  Size out;
  std::optional<double> dpi;  // set by print requests
};

// Validates the request (throws Error(usage) naming the option) and computes the output size.
SizePlan plan_size(Size in, const SizeRequest& request);

// How many passes of a model of scale `model_scale` to run for an overall `scale` (the rest is an
// exact resize in linear light): none at or below 1x, else the nearest whole number of passes,
// at least one (so -s 2 with a 4x model runs it once and shrinks, -s 8 runs it twice), at most 3.
int model_passes(double scale, int model_scale);

// Parsers for the textual forms used by the CLI and, later, the web app. All throw Error(usage)
// naming `option` and the offending text.
double parse_scale(std::string_view option, std::string_view text);
// A DPI value (resolution metadata): finite, from 1 to 65535 (what TIFF and JPEG can store).
double parse_dpi(std::string_view option, std::string_view text);
int parse_pixels(std::string_view option, std::string_view text);           // "1920"
Size parse_box(std::string_view option, std::string_view text);             // "1920x1080"
PrintSpec parse_print(std::string_view option, std::string_view text);      // "8x10in@300"
std::uint64_t parse_bytes(std::string_view option, std::string_view text);  // "150K", "2M"
// A finite number in [min, max] ((min, max] when `above_min`); nan, inf and out-of-range values
// are refused with the range in the hint.
double parse_number(std::string_view option, std::string_view text, double min, double max,
                    bool above_min = false);
inline constexpr double kMaxDpi = 65535;  // JPEG's density field is 16 bits
double parse_dpi(std::string_view option, std::string_view text);  // "300": above 0, at most 1e5
std::string format_bytes(std::uint64_t bytes);                     // "150 KB"

}  // namespace hires
