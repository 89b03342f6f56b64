#include <gtest/gtest.h>

#include "hires/error.hpp"
#include "hires/hires.hpp"
#include "hires/plan.hpp"

namespace hires {
namespace {

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    return e.what();
  }
  return "no error";
}

TEST(Parse, Scale) {
  EXPECT_DOUBLE_EQ(parse_scale("--scale", "2"), 2.0);
  EXPECT_DOUBLE_EQ(parse_scale("--scale", "3.5"), 3.5);
  EXPECT_DOUBLE_EQ(parse_scale("--scale", "4x"), 4.0);
  EXPECT_EQ(message_of([] { parse_scale("--scale", "0"); }),
            "--scale: '0' is not valid (expected a number greater than 0, like 2 or 3.5)");
  EXPECT_EQ(message_of([] { parse_scale("--scale", "abc"); }),
            "--scale: 'abc' is not valid (expected a number greater than 0, like 2 or 3.5)");
}

TEST(Parse, Print) {
  PrintSpec p = parse_print("--print", "8x10in@300");
  EXPECT_DOUBLE_EQ(p.width, 8);
  EXPECT_DOUBLE_EQ(p.height, 10);
  EXPECT_EQ(p.unit, LengthUnit::inch);
  EXPECT_DOUBLE_EQ(p.dpi, 300);
  p = parse_print("--print", "20x30cm@150");
  EXPECT_EQ(p.unit, LengthUnit::cm);
  EXPECT_DOUBLE_EQ(p.width, 20);
  EXPECT_EQ(message_of([] { parse_print("--print", "8x10in@0"); }),
            "--print: '8x10in@0' is not valid (expected WxH{in|cm}@DPI with values above 0, like "
            "8x10in@300)");
  EXPECT_NE(message_of([] { parse_print("--print", "8x10@300"); }), "no error");
  EXPECT_NE(message_of([] { parse_print("--print", "8in@300"); }), "no error");
}

TEST(Parse, BoxAndBytes) {
  EXPECT_EQ(parse_box("--fit", "1920x1080"), (Size{1920, 1080}));
  EXPECT_NE(message_of([] { parse_box("--fit", "1920"); }), "no error");
  EXPECT_EQ(parse_bytes("--max-bytes", "150K"), 150000U);
  EXPECT_EQ(parse_bytes("--max-bytes", "2M"), 2000000U);
  EXPECT_EQ(parse_bytes("--max-bytes", "1KiB"), 1024U);
  EXPECT_EQ(parse_bytes("--max-bytes", "5000"), 5000U);
  EXPECT_NE(message_of([] { parse_bytes("--max-bytes", "-3K"); }), "no error");
  EXPECT_EQ(format_bytes(150000), "150.0 KB");
}

TEST(Parse, MethodFormatColour) {
  EXPECT_EQ(parse_method("lanczos"), Method::lanczos);
  EXPECT_EQ(parse_method("NEAREST"), Method::nearest);
  EXPECT_EQ(message_of([] { parse_method("magic"); }),
            "method: 'magic' is not a known method (expected nearest, bilinear, bicubic or "
            "lanczos; 'hires models' lists them)");
  EXPECT_EQ(parse_format("jpeg"), Format::jpeg);
  EXPECT_EQ(parse_format("TIF"), Format::tiff);
  EXPECT_EQ(format_from_path("a/b.WebP"), Format::webp);
  EXPECT_FALSE(format_from_path("a/b.bmp").has_value());
  const Rgb c = parse_color("#ff8000");
  EXPECT_EQ(c.r, 255);
  EXPECT_EQ(c.g, 128);
  EXPECT_EQ(c.b, 0);
  EXPECT_EQ(parse_color("0,0,255").b, 255);
  EXPECT_NE(message_of([] { parse_color("purple-ish"); }), "no error");
}

}  // namespace
}  // namespace hires

// Found by fuzz/fuzz_options: an option value with a newline made a two-line error, and text
// from files could carry terminal escapes. Every error is one line with control characters shown.
TEST(Errors, AreOneLineWithControlCharactersEscaped) {
  try {
    (void)hires::parse_scale("--scale", "8x1=in\n\x1b[31mred");
    FAIL() << "no error";
  } catch (const hires::Error& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("8x1=in\\n\\x1b[31mred"), std::string::npos) << e.what();
  }
  const hires::Error e(hires::ErrorKind::input, "a\tb.png", "bad\rline", "try\x7f");
  EXPECT_STREQ(e.what(), "a\\tb.png: bad\\rline (try\\x7f)");
  EXPECT_EQ(e.subject(), "a\\tb.png");
  EXPECT_EQ(e.problem(), "bad\\rline");
}
