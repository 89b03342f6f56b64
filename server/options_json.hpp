// The option table and the presets as JSON (GET /api/options, `hires options --json`): what the
// web page builds its controls, limits, hints and preset buttons from.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "hires/options.hpp"

namespace hires::server {

nlohmann::json option_value_json(const OptionValue& value);
// Reads a JSON value (a string, number or boolean) as the option's value, checked by the table.
// Throws Error(usage) naming the key.
OptionValue option_value_from_json(const OptionSpec& spec, const nlohmann::json& value);
// A library text with its `key` marks as plain field names.
std::string field_text(std::string_view text);
std::vector<std::string> field_texts(const std::vector<std::string>& texts);
// {"options": [{key, type, group, help, default, min, max, choices, web, ...}], "presets":
// [{name, description, values: {key: value}}]}.
nlohmann::json options_json();

}  // namespace hires::server
