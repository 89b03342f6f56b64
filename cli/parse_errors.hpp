// CLI11's parse errors reworded for people: one line naming the option, the value given and what
// was expected ("--denoise 9: expected a whole number from 0 to 3"), never CLI11's raw text
// ("Value 9 not in range 0.000000 to 5.000000", "inputs is required").
#pragma once

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdlib>
#include <string>

namespace hires::cli {

namespace detail {

// "0.000000" -> "0", "5.500000" -> "5.5"; huge bounds (CLI11's "any positive") -> empty.
inline std::string plain_number(const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || std::abs(v) > 1e300) return {};
  return fmt::format("{:g}", v);
}

inline bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

// "NAME: Value X not in range A to B" (CLI::Range): "NAME X: expected ... from A to B".
inline std::string reword_range(const std::string& msg) {
  const auto value_at = msg.find(": Value ");
  const auto range_at = msg.find(" not in range ");
  const auto to_at = msg.rfind(" to ");
  if (value_at == std::string::npos || range_at == std::string::npos || to_at < range_at) {
    return {};
  }
  const std::string name = msg.substr(0, value_at);
  const std::string value = msg.substr(value_at + 8, range_at - value_at - 8);
  const std::string lo_text = msg.substr(range_at + 14, to_at - range_at - 14);
  const std::string hi_text = msg.substr(to_at + 4);
  const bool whole = lo_text.find('.') == std::string::npos;
  const std::string kind = whole ? "a whole number" : "a number";
  const std::string lo = plain_number(lo_text), hi = plain_number(hi_text);
  const double lo_value = std::strtod(lo_text.c_str(), nullptr);
  std::string expected;
  // CLI::PositiveNumber prints its bound (the smallest double) as 0.000000.
  if (hi.empty() && lo_value >= 0 && lo_value < 1e-300) {
    expected = kind + " above 0";
  } else if (hi.empty()) {
    expected = fmt::format("{} of at least {}", kind, lo);
  } else {
    expected = fmt::format("{} from {} to {}", kind, lo, hi);
  }
  return fmt::format("{} {}: expected {}", name, value, expected);
}

}  // namespace detail

// The one-line message (without the "hires: error: " prefix) for a CLI11 parse error.
inline std::string reword_parse_error(const CLI::ParseError& e) {
  using detail::starts_with;
  std::string msg = e.what();
  if (dynamic_cast<const CLI::ValidationError*>(&e) != nullptr) {
    std::string range = detail::reword_range(msg);
    return range.empty() ? msg : range;
  }
  if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr) {
    if (starts_with(msg, "inputs is required") || starts_with(msg, "input is required")) {
      return "no input given: name one or more images or folders, e.g. hires photo.jpg";
    }
    if (starts_with(msg, "A subcommand")) {
      return "no command given: name an image, or a command such as check (hires --help lists "
             "them)";
    }
    return msg;
  }
  if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
    const auto colon = msg.find(": ");
    const std::string extra = colon == std::string::npos ? msg : msg.substr(colon + 2);
    if (starts_with(extra, "-")) {
      return fmt::format("{}: unknown option (hires --help lists the options)", extra);
    }
    return fmt::format("{}: unexpected argument (hires --help shows the usage)", extra);
  }
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) != nullptr) {
    const auto colon = msg.find(": ");
    if (colon != std::string::npos && msg.find(" missing") != std::string::npos) {
      return fmt::format("{}: expects a value after it", msg.substr(0, colon));
    }
    return msg;
  }
  if (dynamic_cast<const CLI::ConversionError*>(&e) != nullptr) {
    // "Could not convert: --tile = abc"
    const std::string prefix = "Could not convert: ";
    const auto eq = msg.find(" = ");
    if (starts_with(msg, prefix) && eq != std::string::npos) {
      return fmt::format("{} {}: not a valid value", msg.substr(prefix.size(), eq - prefix.size()),
                         msg.substr(eq + 3));
    }
    return msg;
  }
  return msg;
}

}  // namespace hires::cli
