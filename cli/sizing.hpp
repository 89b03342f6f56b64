// The size options shared by `hires upscale`, `hires check` and `hires video` (--scale, --width,
// --height, --fit, --long-edge, --print): registered from the option table's size group.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string_view>

#include "hires/plan.hpp"
#include "option_table.hpp"

namespace hires::cli {

struct SizingArgs {
  TableArgs options;
};

// Adds -s/--scale, --width, --height, --fit, --long-edge and --print to `group`.
void add_sizing_options(CLI::Option_group& group, SizingArgs& args);

// What the options ask for, or nullopt when none was given. Throws Error(usage) naming the options
// when more than one was given (`conflict` and `hint` are its problem and hint), and the library's
// parse errors for a bad value.
std::optional<SizeRequest> parse_sizing(const SizingArgs& args, std::string_view conflict,
                                        std::string_view hint = {});

// --max-pixels / --max-output-pixels: megapixels above 0 and at most 1e9, as pixels.
std::uint64_t megapixels(std::string_view option, std::string_view text);

}  // namespace hires::cli
