#include "hires/error.hpp"

#include <utility>

namespace hires {
namespace {

std::string printable_impl(std::string_view text, bool keep_controls);

// An error's parts as they are shown: one line, nothing that drives a terminal (see printable);
// the common whitespace controls read as \n, \r, \t.
std::string escaped(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out += c;
    }
  }
  return printable_impl(out, false);
}

std::string compose(const std::string& subject, const std::string& problem,
                    const std::string& hint) {
  std::string text = subject.empty() ? problem : subject + ": " + problem;
  if (!hint.empty()) text += " (" + hint + ")";
  return printable(text);
}

// The length of the valid UTF-8 sequence at s[i] (shortest form, no surrogates, at most
// U+10FFFF), or 0.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  std::size_t n = 0;
  unsigned lo = 0x80, hi = 0xBF;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
  }
  return n;
}

}  // namespace

std::string printable(std::string_view text, bool keep_controls) {
  return printable_impl(text, keep_controls);
}

namespace {
std::string printable_impl(std::string_view text, bool keep_controls) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const std::size_t n = utf8_length(text, i);
    if (n == 0 || (!keep_controls && n == 1 && (c < 0x20 || c == 0x7F))) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
      ++i;
      continue;
    }
    const auto c2 = n == 2 ? static_cast<unsigned char>(text[i + 1]) : 0;
    if (!keep_controls && c == 0xC2 && c2 >= 0x80 && c2 <= 0x9F) {  // C1 controls (CSI is 0x9b)
      out += "\\u00";
      out += kHex[c2 >> 4];
      out += kHex[c2 & 0xF];
    } else {
      out.append(text.substr(i, n));
    }
    i += n;
  }
  return out;
}
}  // namespace

Error::Error(ErrorKind kind, const std::string& subject, const std::string& problem,
             const std::string& hint)
    : std::runtime_error(compose(escaped(subject), escaped(problem), escaped(hint))),
      kind_(kind),
      subject_(escaped(subject)),
      problem_(escaped(problem)),
      hint_(escaped(hint)) {}

}  // namespace hires
