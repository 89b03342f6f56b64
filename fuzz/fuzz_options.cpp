// Fuzzes the parsers of option text (sizes, print sizes, byte sizes, colours, methods, formats,
// backends): every text is a value or one hires::Error line, never a crash or a NaN that
// switches a limit off.
#include <cmath>

#include "fuzz_support.hpp"
#include "hires/hires.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  using hires::fuzz::expect_answer_or_error;
  expect_answer_or_error([&] {
    const double s = hires::parse_scale("--scale", text);
    if (!std::isfinite(s) || s <= 0) std::abort();
  });
  expect_answer_or_error([&] {
    if (hires::parse_pixels("--width", text) <= 0) std::abort();
  });
  expect_answer_or_error([&] {
    const hires::Size b = hires::parse_box("--fit", text);
    if (b.width <= 0 || b.height <= 0) std::abort();
  });
  expect_answer_or_error([&] {
    const hires::PrintSpec p = hires::parse_print("--print", text);
    if (!(p.width > 0 && p.height > 0 && p.dpi > 0) || !std::isfinite(p.width * p.height * p.dpi)) {
      std::abort();
    }
    (void)hires::plan_size({640, 480}, hires::SizeRequest::for_print(p));
  });
  expect_answer_or_error([&] { (void)hires::parse_bytes("--max-bytes", text); });
  expect_answer_or_error([&] { (void)hires::parse_color(text); });
  expect_answer_or_error([&] { (void)hires::parse_method(text); });
  expect_answer_or_error([&] { (void)hires::parse_format(text); });
  expect_answer_or_error([&] { (void)hires::parse_backend("--backend", text); });
  return 0;
}
