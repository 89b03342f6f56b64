// The sizing options shared by `hires upscale` and `hires check` (--scale, --width, --height,
// --fit, --long-edge, --print): registered and parsed in one place.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "hires/plan.hpp"

namespace hires::cli {

// Raw option text, parsed by the library so that messages are the same everywhere.
struct SizingArgs {
  std::string scale, width, height, fit, long_edge, print;
};

// Whose help texts: upscale sizes an output (and writes --print's DPI); check names a target.
enum class SizingFor { upscale, check };

// Adds -s/--scale, --width, --height, --fit, --long-edge and --print to `group`.
void add_sizing_options(CLI::Option_group& group, SizingArgs& args, SizingFor purpose);

// What the options ask for, or nullopt when none was given. Throws Error(usage) naming the options
// when more than one was given (`conflict` and `hint` are its problem and hint), and the library's
// parse errors for a bad value.
std::optional<SizeRequest> parse_sizing(const SizingArgs& args, std::string_view conflict,
                                        std::string_view hint = {});

// --max-pixels / --max-output-pixels: megapixels above 0 and at most 1e9, as pixels.
std::uint64_t megapixels(std::string_view option, std::string_view text);

}  // namespace hires::cli
