#include "hires/error.hpp"

#include <cstdio>
#include <utility>

namespace hires {
namespace {

// Control characters shown as escapes: an error is one line, and text from files (names, tags,
// option values) must not move the cursor or colour the terminal (\x1b[...).
std::string escaped(std::string text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7f) {
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", u);
      out += hex;
    }
  }
  return out;
}

std::string compose(const std::string& subject, const std::string& problem,
                    const std::string& hint) {
  std::string text = subject.empty() ? problem : subject + ": " + problem;
  if (!hint.empty()) text += " (" + hint + ")";
  return text;
}

}  // namespace

Error::Error(ErrorKind kind, std::string subject, std::string problem, std::string hint)
    : std::runtime_error(compose(escaped(subject), escaped(problem), escaped(hint))),
      kind_(kind),
      subject_(escaped(std::move(subject))),
      problem_(escaped(std::move(problem))),
      hint_(escaped(std::move(hint))) {}

}  // namespace hires
