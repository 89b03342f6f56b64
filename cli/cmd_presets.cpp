// `hires presets` (the presets in flag terms) and `hires options` (the option table as the
// README's markdown or as JSON; not listed in --help).
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.hpp"
#include "hires/options.hpp"
#include "option_table.hpp"
#include "options_json.hpp"

namespace hires::cli {
namespace {

using nlohmann::json;

// "--format png --dpi 300 --srgb": what a preset's values are on the command line.
std::string as_flags(const Preset& p) {
  std::string out;
  for (const auto& [key, value] : p.values) {
    const OptionSpec& spec = *find_option(key);
    out += out.empty() ? "" : " ";
    if (spec.type == OptionType::flag) {
      out += std::get<bool>(value) ? long_flag(key) : negation_flag(spec);
    } else {
      out += long_flag(key) + " " + format_option(spec, value);
    }
  }
  return out;
}

int run_presets(bool as_json) {
  if (as_json) {
    json list = json::array();
    for (const auto& p : presets()) {
      json values = json::object();
      for (const auto& [k, v] : p.values) values[k] = server::option_value_json(v);
      list.push_back({{"name", p.name},
                      {"description", p.description},
                      {"values", values},
                      {"arguments", as_flags(p)}});
    }
    std::cout << list.dump(2) << '\n';
    return 0;
  }
  for (const auto& p : presets()) {
    fmt::print("{:<16} {}\n{:<16} = {}\n", p.name, p.description, "", as_flags(p));
  }
  fmt::print("\nUse: hires upscale IMAGE --preset NAME; options you give yourself win.\n");
  return 0;
}

}  // namespace

Command add_presets_command(CLI::App& app) {
  auto as_json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("presets", "List the presets for --preset");
  cmd->add_flag("--json", *as_json, "As JSON");
  return {cmd, [as_json] { return run_presets(*as_json); }};
}

Command add_options_command(CLI::App& app) {
  auto markdown = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("options", "The option table (README, web app)");
  cmd->group("");  // hidden from --help
  cmd->add_flag("--markdown", *markdown, "As the README's markdown table (default: JSON)");
  return {cmd, [markdown] {
            if (*markdown) {
              std::cout << options_markdown();
            } else {
              std::cout << server::options_json().dump(2) << '\n';
            }
            return 0;
          }};
}

}  // namespace hires::cli
