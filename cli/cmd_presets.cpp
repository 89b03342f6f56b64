// `hires presets` and the expansion of `--preset NAME` on upscale.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "commands.hpp"
#include "hires/error.hpp"
#include "hires/guide.hpp"
#include "hires/hires.hpp"

namespace hires::cli {
namespace {

using nlohmann::json;

// The long name of an option as the user typed it ("-q" -> "--quality", "--width=9" -> "--width").
std::string long_name(const std::string& arg) {
  static const std::vector<std::pair<std::string, std::string>> kShort{{"-s", "--scale"},
                                                                       {"-f", "--format"},
                                                                       {"-q", "--quality"},
                                                                       {"-o", "--output"},
                                                                       {"-m", "--method"}};
  for (const auto& [s, l] : kShort) {
    if (arg == s || (arg.rfind(s, 0) == 0 && arg.size() > 2 && arg[1] != '-')) return l;
  }
  if (arg.rfind("--", 0) != 0) return {};
  return arg.substr(0, arg.find('='));
}

const std::set<std::string> kSizing{"--scale", "--width",     "--height",
                                    "--fit",   "--long-edge", "--print"};

// True when what the user gave already decides `option` (the same option, or one it conflicts
// with), so that the preset's value is left out.
bool decided(const std::string& option, const std::set<std::string>& given,
             const std::string& output) {
  if (given.count(option) != 0) return true;
  if (kSizing.count(option) != 0) {
    return std::any_of(kSizing.begin(), kSizing.end(),
                       [&](const std::string& s) { return given.count(s) != 0; });
  }
  if (option == "--dpi") return given.count("--print") != 0;
  if (option == "--srgb") return given.count("--no-srgb") != 0;
  if (option == "--format") return !output.empty() && format_from_path(output).has_value();
  return false;
}

int run_presets(bool as_json) {
  if (as_json) {
    json list = json::array();
    for (const auto& p : presets()) {
      json options = json::object();
      for (const auto& [k, v] : p.options) options[k] = v;
      list.push_back({{"name", p.name}, {"description", p.description}, {"options", options}});
    }
    std::cout << list.dump(2) << '\n';
    return 0;
  }
  for (const auto& p : presets()) {
    std::string opts;
    for (const auto& [k, v] : p.options)
      opts += (opts.empty() ? "" : " ") + k + (v.empty() ? "" : " " + v);
    fmt::print("{:<16} {}\n{:<16} = {}\n", p.name, p.description, "", opts);
  }
  fmt::print("\nUse: hires upscale IMAGE --preset NAME; options you give yourself win.\n");
  return 0;
}

}  // namespace

std::vector<std::string> expand_preset(std::vector<std::string> args) {
  std::reverse(args.begin(), args.end());  // CLI11 hands the arguments reversed
  if (args.empty() || (args.front() != "upscale" && args.front() != "plan")) {
    std::reverse(args.begin(), args.end());
    return args;
  }
  std::string name;
  std::size_t at = 0;
  std::size_t count = 0;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--preset" && i + 1 < args.size()) {
      name = args[i + 1], at = i, count = 2;
    } else if (args[i].rfind("--preset=", 0) == 0) {
      name = args[i].substr(9), at = i, count = 1;
    }
  }
  const auto& all = presets();
  const auto found =
      std::find_if(all.begin(), all.end(), [&](const Preset& p) { return p.name == name; });
  if (count == 0 || found == all.end()) {  // unknown names reach --preset, which reports them
    std::reverse(args.begin(), args.end());
    return args;
  }
  args.erase(args.begin() + static_cast<std::ptrdiff_t>(at),
             args.begin() + static_cast<std::ptrdiff_t>(at + count));
  std::set<std::string> given;
  std::string output;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string n = long_name(args[i]);
    if (n.empty()) continue;
    given.insert(n);
    if (n == "--output") {
      if (args[i].find('=') != std::string::npos)
        output = args[i].substr(args[i].find('=') + 1);
      else if (args[i] == "-o" || args[i] == "--output")
        output = i + 1 < args.size() ? args[i + 1] : "";
      else
        output = args[i].substr(2);  // -oFILE
    }
  }
  std::vector<std::string> added;
  for (const auto& [option, value] : found->options) {
    if (decided(option, given, output)) continue;
    added.push_back(option);
    if (!value.empty()) added.push_back(value);
  }
  args.insert(args.begin() + 1, added.begin(), added.end());
  std::reverse(args.begin(), args.end());
  return args;
}

Command add_presets_command(CLI::App& app) {
  auto as_json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("presets", "List the presets for --preset");
  cmd->add_flag("--json", *as_json, "As JSON");
  return {cmd, [as_json] { return run_presets(*as_json); }};
}

}  // namespace hires::cli
