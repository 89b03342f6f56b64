// The option table and the presets as JSON.
#include "options_json.hpp"

#include <variant>

#include "hires/error.hpp"

namespace hires::server {

using nlohmann::json;

json option_value_json(const OptionValue& value) {
  return std::visit([](const auto& v) { return json(v); }, value);
}

OptionValue option_value_from_json(const OptionSpec& spec, const json& value) {
  if (value.is_boolean()) return check_option(spec, value.get<bool>());
  if (value.is_number_integer()) return check_option(spec, value.get<std::int64_t>());
  if (value.is_number()) return check_option(spec, value.get<double>());
  if (value.is_string()) {
    const auto text = value.get<std::string>();
    return parse_option(spec, text);
  }
  throw Error(ErrorKind::usage, std::string(spec.key), "expected a number, text or true/false");
}

std::string field_text(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c != '`') out += c;
  }
  return out;
}

std::vector<std::string> field_texts(const std::vector<std::string>& texts) {
  std::vector<std::string> out;
  out.reserve(texts.size());
  for (const std::string& t : texts) out.push_back(field_text(t));
  return out;
}

json options_json() {
  json options = json::array();
  for (const OptionSpec& s : option_specs()) {
    json o{{"key", s.key},
           {"type", option_type_name(s.type)},
           {"group", option_group_name(s.group)},
           {"help", field_text(s.help)},
           {"web", s.web}};
    if (!s.default_text.empty()) o["default"] = option_value_json(parse_option(s, s.default_text));
    if ((s.type == OptionType::integer || s.type == OptionType::number) && s.min < s.max) {
      o["min"] = s.min;
      o["max"] = s.max;
      if (s.above_min) o["above_min"] = true;
    }
    if (!s.choices.empty()) {
      json choices = json::array();
      for (std::string_view c : s.choices) choices.push_back(c);
      o["choices"] = choices;
    }
    if (!s.example.empty()) o["example"] = s.example;
    if (!s.value_name.empty()) o["value_name"] = s.value_name;
    if (s.negatable) o["negatable"] = true;
    if (s.repeatable) o["repeatable"] = true;
    options.push_back(o);
  }
  json presets = json::array();
  for (const Preset& p : hires::presets()) {
    json values = json::object();
    for (const auto& [key, value] : p.values) values[key] = option_value_json(value);
    presets.push_back({{"name", p.name}, {"description", p.description}, {"values", values}});
  }
  return {{"options", options}, {"presets", presets}};
}

}  // namespace hires::server
