// The upscale options, declared once: name, type, default, range or choices, help and group, and
// how each sets the request (UpscaleOptions). The CLI's flags and --help, the README's option
// table, the presets, the web form and the server's JSON are all made from this one table.
//
//   hires::OptionValues v;
//   hires::set_option_text(v, "width", "2400");       // parsed and checked by the table
//   v["format"] = std::string("jpg");                  // or typed, as presets hold them
//   hires::UpscaleOptions opt = hires::upscale_options_from(v, hires::default_model_dirs());
//
// Errors name the option's key ("width: '0' is not valid ..."); only the CLI knows flag spellings.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "hires/hires.hpp"

namespace hires {

// What an option holds: flag (bool), integer (int64), number (double), bytes (int64, written
// "150K", "2M"; K = 1000), choice (one of `choices`), text (anything its parser accepts).
enum class OptionType { flag, integer, number, bytes, choice, text };
std::string_view option_type_name(OptionType t);

// Where an option is listed, in this order (README, --help, the web form).
enum class OptionGroup { output, model, size, file, polish, limits, run };
std::string_view option_group_name(OptionGroup g);

// A value in the table's terms: flag -> bool, integer and bytes -> int64, number -> double,
// choice and text -> string.
using OptionValue = std::variant<bool, std::int64_t, double, std::string>;
// Values by key, as the user, a preset or the web form gave them.
using OptionValues = std::map<std::string, OptionValue, std::less<>>;

struct OptionSpec {
  std::string_view key;  // "memory_budget": the field in JSON, presets and error subjects
  OptionType type = OptionType::text;
  OptionGroup group = OptionGroup::run;
  std::string_view help;          // one line for --help, the README and the web form
  std::string_view value_name;    // "N", "WxH": how the value is written in usage lines
  std::string_view default_text;  // as a user would write it; empty: none (unset or automatic)
  // integer and number: the range (inclusive); `above_min` makes it (min, max].
  double min = 0;
  double max = 0;
  bool above_min = false;
  std::vector<std::string_view> choices;  // choice: the values accepted (the first ones shown)
  std::string_view example;               // a typical value, for hints: "0.5", "150K"
  bool web = false;           // the web form offers it (the server reads it from a request)
  bool negatable = false;     // flag: can be turned off explicitly, to override a preset
  std::string_view negation;  // with negatable: the key that turns it off ("keep_location"),
                              // else "no_" + key
  bool repeatable = false;
  // text and special cases: checks `text` and returns the value; nullptr: by `type`. Throws
  // Error(usage) naming `key`.
  OptionValue (*parse)(const OptionSpec& spec, std::string_view text) = nullptr;
  // Sets and reads the request's field; nullptr for options that upscale_options_from combines
  // (method, restore, the sizes, dpi) and for those only a surface reads (output, json, ...).
  void (*set)(UpscaleOptions& options, const OptionValue& value) = nullptr;
  OptionValue (*get)(const UpscaleOptions& options) = nullptr;
};

// Every option, in group order.
const std::vector<OptionSpec>& option_specs();
// The option with this key, or nullptr.
const OptionSpec* find_option(std::string_view key);

// Parses `text` as the option's value (its parser, range and choices). Throws Error(usage)
// naming the key: "denoise: '9' is not valid (expected a whole number from 0 to 3)".
OptionValue parse_option(const OptionSpec& spec, std::string_view text);
// Checks a typed value (a JSON number, a preset's value) against the option's type and range;
// converts an integer to a number where a number is expected. Throws Error(usage).
OptionValue check_option(const OptionSpec& spec, OptionValue value);
// As parse_option for the option named `key` (an unknown key is a usage error), stored in `values`.
void set_option_text(OptionValues& values, std::string_view key, std::string_view text);
// The value as a user would write it: "true", "4", "0.5", "150K" for bytes divisible by 1000.
std::string format_option(const OptionSpec& spec, const OptionValue& value);
// "a whole number from 0 to 3", "one of jpg, png, ...": what the option accepts.
std::string option_expects(const OptionSpec& spec);

// The keys of the size options, of which one at most may be given.
bool is_size_option(std::string_view key);
// The size the values ask for, nullopt when none. Throws Error(usage) naming the keys ("scale and
// width") when several are given, with this problem and hint.
std::optional<SizeRequest> size_request_from(const OptionValues& values,
                                             std::string_view conflict =
                                                 "conflict: choose one "
                                                 "size option",
                                             std::string_view hint = {});

// ---- presets: named bundles of values in the table's terms ----------------------------------

struct Preset {
  std::string name;
  std::string description;
  std::vector<std::pair<std::string, OptionValue>> values;  // {"format", "png"}, {"dpi", 300.0}
};
const std::vector<Preset>& presets();
// Throws Error(usage) naming the preset key when there is no such preset.
const Preset& find_preset(std::string_view name);

// Adds the preset's values that `values` does not decide already: the same key, another size
// option, print for dpi, or `format_decided` (an output path whose extension names the format).
void apply_preset(OptionValues& values, const Preset& preset, bool format_decided);

// ---- the request ------------------------------------------------------------------------------

// The request the values ask for (unset options keep UpscaleOptions' defaults): the method or
// model (looked up in `model_dirs`, see set_method), its restore strength, the size (at most one
// size option; else the model's own scale or 4x), dpi (not with print), then each option's own
// field. Checks the size against a 1000x1000 image. Throws Error(usage) naming the key.
UpscaleOptions upscale_options_from(const OptionValues& values,
                                    const std::vector<std::filesystem::path>& model_dirs);

}  // namespace hires
