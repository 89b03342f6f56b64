// The size options shared by `hires upscale`, `hires check` and `hires video`.
#include "sizing.hpp"

#include "hires/options.hpp"

namespace hires::cli {

void add_sizing_options(CLI::Option_group& group, SizingArgs& args) {
  for (const OptionSpec& spec : option_specs()) {
    if (spec.group == OptionGroup::size) args.options.add(group, spec);
  }
}

std::optional<SizeRequest> parse_sizing(const SizingArgs& a, std::string_view conflict,
                                        std::string_view hint) {
  return size_request_from(a.options.values(), conflict, hint);
}

std::uint64_t megapixels(std::string_view option, std::string_view text) {
  return static_cast<std::uint64_t>(parse_number(option, text, 0, 1e9, true) * 1e6);
}

}  // namespace hires::cli
