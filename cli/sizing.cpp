// The sizing options shared by `hires upscale` and `hires check`.
#include "sizing.hpp"

#include <fmt/format.h>

#include <utility>
#include <vector>

#include "hires/error.hpp"

namespace hires::cli {

void add_sizing_options(CLI::Option_group& group, SizingArgs& args, SizingFor purpose) {
  const bool up = purpose == SizingFor::upscale;
  group.add_option("-s,--scale", args.scale, up ? "Scale factor, e.g. 2 or 3.5" : "Scale factor");
  group.add_option("--width", args.width,
                   up ? "Output width in pixels (aspect kept)" : "Output width in pixels");
  group.add_option("--height", args.height,
                   up ? "Output height in pixels (aspect kept)" : "Output height in pixels");
  group.add_option("--fit", args.fit, "Largest size inside WxH pixels");
  group.add_option("--long-edge", args.long_edge, "Long edge in pixels");
  group.add_option("--print", args.print,
                   up ? "Pixels to print WxH{in|cm}@DPI, e.g. 8x10in@300 (DPI written to the file)"
                      : "Print size WxH{in|cm}@DPI, e.g. 8x10in@300");
}

std::optional<SizeRequest> parse_sizing(const SizingArgs& a, std::string_view conflict,
                                        std::string_view hint) {
  std::vector<std::string> given;
  for (const auto& [name, value] : {std::pair{"--scale", &a.scale},
                                    {"--width", &a.width},
                                    {"--height", &a.height},
                                    {"--fit", &a.fit},
                                    {"--long-edge", &a.long_edge},
                                    {"--print", &a.print}}) {
    if (!value->empty()) given.emplace_back(name);
  }
  if (given.size() > 1) {
    throw Error(ErrorKind::usage, fmt::format("{}", fmt::join(given, " and ")),
                std::string(conflict), std::string(hint));
  }
  if (!a.width.empty()) return SizeRequest::by_width(parse_pixels("--width", a.width));
  if (!a.height.empty()) return SizeRequest::by_height(parse_pixels("--height", a.height));
  if (!a.long_edge.empty()) {
    return SizeRequest::by_long_edge(parse_pixels("--long-edge", a.long_edge));
  }
  if (!a.fit.empty()) {
    const Size box = parse_box("--fit", a.fit);
    return SizeRequest::fit_box(box.width, box.height);
  }
  if (!a.print.empty()) return SizeRequest::for_print(parse_print("--print", a.print));
  if (!a.scale.empty()) return SizeRequest::by_scale(parse_scale("--scale", a.scale));
  return std::nullopt;
}

std::uint64_t megapixels(std::string_view option, std::string_view text) {
  return static_cast<std::uint64_t>(parse_number(option, text, 0, 1e9, true) * 1e6);
}

}  // namespace hires::cli
