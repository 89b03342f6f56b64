// The CLI's side of the option table: flag spellings, CLI11 registration, errors in flag terms.
#include "option_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <utility>

namespace hires::cli {
namespace {

// Keys of options that one command declares outside the table (hires video, run, review); the
// library names them in errors as it names the table's keys.
bool command_key(std::string_view word) {
  static const std::set<std::string_view> kKeys{"codec",  "crf",    "start",   "duration",
                                                "shard",  "report", "preview", "shard_count",
                                                "resume", "segment"};
  return kKeys.contains(word);
}

// The short spellings; every other option has only its long one ("--" + key with dashes).
const std::map<std::string_view, std::string_view>& short_flags() {
  static const std::map<std::string_view, std::string_view> kShort{
      {"output", "-o"}, {"method", "-m"},  {"tile", "-t"},      {"scale", "-s"},
      {"format", "-f"}, {"quality", "-q"}, {"recursive", "-r"}, {"verbose", "-v"}};
  return kShort;
}

std::string map_subject(const std::string& subject) {
  std::string out;
  std::size_t at = 0;
  for (;;) {
    const std::size_t next = subject.find(" and ", at);
    const std::string part = subject.substr(at, next == std::string::npos ? next : next - at);
    out += find_option(part) != nullptr || command_key(part) ? long_flag(part) : part;
    if (next == std::string::npos) break;
    out += " and ";
    at = next + 5;
  }
  return out;
}

}  // namespace

std::string long_flag(std::string_view key) {
  std::string flag = "--" + std::string(key);
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

// "--no-srgb", "--keep-location": the flag that turns a negatable option off.
std::string negation_flag(const OptionSpec& spec) {
  return spec.negation.empty() ? "--no-" + long_flag(spec.key).substr(2) : long_flag(spec.negation);
}

// The option whose key or negation is `word`.
const OptionSpec* spelled(std::string_view word) {
  if (const OptionSpec* s = find_option(word)) return s;
  for (const OptionSpec& s : option_specs()) {
    if (!s.negation.empty() && s.negation == word) return &s;
  }
  return nullptr;
}

std::string flag_names(const OptionSpec& spec) {
  const auto s = short_flags().find(spec.key);
  std::string names = s == short_flags().end() ? "" : std::string(s->second) + ",";
  names += long_flag(spec.key);
  if (spec.negatable) names += ",!" + negation_flag(spec);
  return names;
}

std::string cli_text(std::string_view text) {
  std::string out;
  std::size_t at = 0;
  for (;;) {
    const std::size_t open = text.find('`', at);
    const std::size_t close = open == std::string_view::npos ? open : text.find('`', open + 1);
    if (close == std::string_view::npos) break;
    const std::string_view key = text.substr(open + 1, close - open - 1);
    out.append(text.substr(at, open - at));
    out += spelled(key) != nullptr || command_key(key)
               ? long_flag(key)
               : std::string(text.substr(open, close - open + 1));
    at = close + 1;
  }
  out.append(text.substr(at));
  return out;
}

std::vector<std::string> cli_texts(const std::vector<std::string>& texts) {
  std::vector<std::string> out;
  out.reserve(texts.size());
  for (const std::string& t : texts) out.push_back(cli_text(t));
  return out;
}

Error for_cli(const Error& e) {
  return Error(e.kind(), map_subject(e.subject()), cli_text(e.problem()), cli_text(e.hint()));
}

std::string error_for_cli(std::string_view message) {
  std::string text = cli_text(message);
  const std::size_t colon = text.find(": ");
  if (colon == std::string::npos) return text;
  const std::string subject = text.substr(0, colon);
  const std::string mapped = map_subject(subject);
  return mapped == subject ? text : mapped + text.substr(colon);
}

CLI::Option* TableArgs::add(CLI::App& cmd, const OptionSpec& spec, std::string_view help) {
  const std::string key(spec.key);
  const std::string names = flag_names(spec);
  const std::string text = cli_text(help.empty() ? spec.help : help);
  CLI::Option* o = nullptr;
  if (spec.type == OptionType::flag) {
    o = cmd.add_flag(names, flags_[key], text);
  } else if (spec.repeatable) {
    o = cmd.add_option(names, lists_[key], text);
  } else if (spec.type == OptionType::integer && spec.parse == nullptr) {
    o = cmd.add_option(names, integers_[key], text);
    if (spec.min < spec.max) {
      o->check(
          CLI::Range(static_cast<std::int64_t>(spec.min), static_cast<std::int64_t>(spec.max)));
    }
  } else {
    o = cmd.add_option(names, text_[key], text);
  }
  if (!spec.default_text.empty()) o->default_str(std::string(spec.default_text));
  if (!spec.value_name.empty()) o->type_name(std::string(spec.value_name));
  if (spec.type == OptionType::choice) {
    std::string choices;
    for (std::string_view c : spec.choices)
      choices += (choices.empty() ? "" : "|") + std::string(c);
    o->type_name(choices);
  }
  options_[key] = o;
  return o;
}

void TableArgs::add_keys(CLI::App& cmd, std::initializer_list<std::string_view> keys,
                         const std::map<std::string_view, std::string_view>& help) {
  for (std::string_view key : keys) {
    const OptionSpec* spec = find_option(key);
    if (spec == nullptr) throw Error(ErrorKind::internal, std::string(key), "not in the table");
    const auto h = help.find(key);
    add(cmd, *spec, h == help.end() ? std::string_view{} : h->second);
  }
}

void TableArgs::apply(UpscaleOptions& options) const {
  for (const auto& [key, value] : values()) {
    const OptionSpec* spec = find_option(key);
    if (spec != nullptr && spec->set != nullptr) spec->set(options, value);
  }
}

bool TableArgs::given(std::string_view key) const {
  const auto it = options_.find(key);
  return it != options_.end() && it->second->count() > 0;
}

bool TableArgs::flag(std::string_view key) const {
  const auto it = flags_.find(key);
  return given(key) && it != flags_.end() && it->second;
}

std::string TableArgs::text(std::string_view key) const {
  const auto it = text_.find(key);
  return given(key) && it != text_.end() ? it->second : std::string();
}

std::vector<std::string> TableArgs::list(std::string_view key) const {
  const auto it = lists_.find(key);
  return given(key) && it != lists_.end() ? it->second : std::vector<std::string>();
}

OptionValues TableArgs::values() const {
  OptionValues v;
  for (const OptionSpec& spec : option_specs()) {
    if (!given(spec.key) || spec.repeatable) continue;
    const std::string key(spec.key);
    if (const auto f = flags_.find(key); f != flags_.end()) {
      v.emplace(key, f->second);
    } else if (const auto i = integers_.find(key); i != integers_.end()) {
      v.emplace(key, check_option(spec, i->second));
    } else {
      v.emplace(key, parse_option(spec, text_.at(key)));
    }
  }
  return v;
}

namespace {

std::string markdown_cell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

std::string default_and_range(const OptionSpec& s) {
  std::string out = s.default_text.empty() ? "" : fmt::format("`{}`", s.default_text);
  std::string range;
  if ((s.type == OptionType::integer || s.type == OptionType::number) && s.min < s.max) {
    range = s.above_min ? fmt::format("above {:g} to {:g}", s.min, s.max)
                        : fmt::format("{:g} to {:g}", s.min, s.max);
  } else if (s.type == OptionType::choice) {
    for (std::string_view c : s.choices)
      range += (range.empty() ? "" : ", ") + fmt::format("`{}`", c);
  }
  if (!range.empty()) out += out.empty() ? range : " (" + range + ")";
  return out;
}

}  // namespace

std::string options_markdown() {
  std::string out = "| option | meaning | default (range) |\n|---|---|---|\n";
  for (const OptionSpec& s : option_specs()) {
    const auto sf = short_flags().find(s.key);
    std::string flags = sf == short_flags().end() ? "" : std::string(sf->second) + ", ";
    flags += long_flag(s.key);
    if (s.negatable) flags += ", " + negation_flag(s);
    if (!s.value_name.empty()) flags += " " + std::string(s.value_name);
    out += fmt::format("| `{}` | {} | {} |\n", markdown_cell(flags),
                       markdown_cell(cli_text(s.help)), default_and_range(s));
  }
  return out;
}

}  // namespace hires::cli
