// JSON output that never throws on file names that are not valid UTF-8 (nlohmann's dump() does).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "hires/error.hpp"

namespace hires::cli {

// `j` with every string passed through printable() (invalid UTF-8 bytes as "\xNN"; control
// characters are left to JSON's own escapes).
inline void make_utf8(nlohmann::json& j) {
  if (j.is_string()) {
    j = printable(j.get_ref<const std::string&>(), true);
  } else if (j.is_structured()) {
    for (auto& v : j) make_utf8(v);
  }
}

// One line of JSON for `j`.
inline std::string json_line(nlohmann::json j) {
  make_utf8(j);
  return j.dump();
}

}  // namespace hires::cli
