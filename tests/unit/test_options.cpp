// The option table (hires/options.hpp): defaults agree with the request's, values are checked
// with messages naming the key, presets are typed and valid, and the table builds the request.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "hires/error.hpp"
#include "hires/options.hpp"

namespace {

using namespace hires;

std::string message_of(const auto& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Options, KeysAreUniqueAndHelped) {
  std::set<std::string_view> keys;
  for (const OptionSpec& s : option_specs()) {
    EXPECT_TRUE(keys.insert(s.key).second) << s.key;
    EXPECT_FALSE(s.help.empty()) << s.key;
    EXPECT_EQ(s.help.find("--"), std::string_view::npos) << s.key << ": flag spelling in help";
    EXPECT_EQ(find_option(s.key), &s);
  }
  EXPECT_EQ(find_option("frobnicate"), nullptr);
}

// The default the table shows is the default the request has (UpscaleOptions{}).
TEST(Options, DefaultsAreTheRequestDefaults) {
  const UpscaleOptions defaults;
  int checked = 0;
  for (const OptionSpec& s : option_specs()) {
    if (s.default_text.empty() || s.get == nullptr) continue;
    const OptionValue shown = parse_option(s, s.default_text);
    EXPECT_EQ(format_option(s, s.get(defaults)), format_option(s, shown)) << s.key;
    UpscaleOptions set;
    if (s.set != nullptr) s.set(set, shown);
    EXPECT_EQ(format_option(s, s.get(set)), format_option(s, s.get(defaults))) << s.key;
    ++checked;
  }
  EXPECT_GE(checked, 8);
}

TEST(Options, ValuesAreCheckedNamingTheKey) {
  EXPECT_EQ(message_of([] { (void)parse_option(*find_option("denoise"), "9"); }),
            "denoise: '9' is not valid (expected a whole number from 0 to 3)");
  EXPECT_EQ(message_of([] { (void)parse_option(*find_option("sharpen"), "abc"); }),
            "sharpen: 'abc' is not valid (expected a number from 0 to 5)");
  EXPECT_EQ(message_of([] { (void)check_option(*find_option("sharpen"), 9.0); }),
            "sharpen: '9' is not valid (expected a number from 0 to 5)");
  EXPECT_EQ(message_of([] { (void)parse_option(*find_option("backend"), "gpu"); }),
            "backend: 'gpu' is not a backend (expected auto, cpu, vulkan or reference)");
  EXPECT_EQ(message_of([] { (void)parse_option(*find_option("restore"), "9"); }),
            "restore: '9' is not a strength from 0 to 1 (0 keeps the photo model's faithful look, "
            "1 cleans up fully, e.g. `restore` 0.5)");
  EXPECT_EQ(message_of([] { (void)parse_option(*find_option("max_pixels"), "0"); }),
            "max_pixels: '0' is not valid (expected a number above 0 and at most 1e+09)");
  EXPECT_EQ(message_of([] { (void)check_option(*find_option("quality"), 1.5); }),
            "quality: '1.5' is not valid (expected a whole number from 1 to 100)");
  // A JSON true/false where a number, size or text is expected (found by fuzz_request: it threw
  // std::bad_variant_access out of the request parser).
  EXPECT_EQ(message_of([] { (void)check_option(*find_option("restore"), true); }),
            "restore: 'true' is not valid (expected a number from 0 to 1)");
  EXPECT_EQ(message_of([] { (void)check_option(*find_option("max_bytes"), false); }),
            "max_bytes: 'false' is not valid (expected " +
                option_expects(*find_option("max_bytes")) + ")");
  EXPECT_EQ(
      message_of([] { (void)check_option(*find_option("format"), true); }),
      "format: 'true' is not valid (expected " + option_expects(*find_option("format")) + ")");
  EXPECT_EQ(std::get<std::int64_t>(parse_option(*find_option("max_bytes"), "150K")), 150000);
  EXPECT_EQ(std::get<std::string>(parse_option(*find_option("format"), "JPEG")), "jpg");
  EXPECT_EQ(std::get<double>(check_option(*find_option("sharpen"), std::int64_t{2})), 2.0);
  EXPECT_EQ(format_option(*find_option("max_bytes"), std::int64_t{150000}), "150K");
  EXPECT_EQ(format_option(*find_option("memory_budget"), std::int64_t{1} << 30), "1GiB");
}

TEST(Options, PresetsHoldValidTypedValues) {
  for (const Preset& p : presets()) {
    for (const auto& [key, value] : p.values) {
      const OptionSpec* s = find_option(key);
      ASSERT_NE(s, nullptr) << p.name << ": " << key;
      EXPECT_EQ(format_option(*s, check_option(*s, value)), format_option(*s, value))
          << p.name << ": " << key;
    }
  }
  EXPECT_EQ(message_of([] { (void)find_preset("poster"); }),
            "preset: no preset named 'poster' (one of print, web, instagram-print, product-web, "
            "ai-art-4k (hires presets lists them))");
}

TEST(Options, WhatTheUserGaveWinsOverAPreset) {
  OptionValues v{{"height", std::int64_t{900}}, {"quality", std::int64_t{95}}};
  apply_preset(v, find_preset("product-web"), true);
  EXPECT_EQ(v.count("width"), 0U);   // another size option was given
  EXPECT_EQ(v.count("format"), 0U);  // the output's extension decides
  EXPECT_EQ(std::get<std::int64_t>(v.at("quality")), 95);
  EXPECT_EQ(std::get<std::int64_t>(v.at("max_bytes")), 150000);
  EXPECT_TRUE(std::get<bool>(v.at("srgb")));

  OptionValues p{{"print", std::string("4x6in@300")}, {"srgb", false}};
  apply_preset(p, find_preset("print"), false);
  EXPECT_EQ(p.count("dpi"), 0U);  // print writes its own DPI
  EXPECT_EQ(std::get<std::string>(p.at("format")), "png");
}

TEST(Options, TheTableBuildsTheRequest) {
  OptionValues v;
  set_option_text(v, "method", "lanczos");
  set_option_text(v, "width", "2400");
  set_option_text(v, "max_bytes", "150K");
  set_option_text(v, "srgb", "true");
  set_option_text(v, "sharpen", "0.5");
  set_option_text(v, "max_pixels", "10");
  const UpscaleOptions o = upscale_options_from(v, {});
  EXPECT_EQ(o.method, Method::lanczos);
  EXPECT_EQ(o.size.mode, SizeMode::width);
  EXPECT_EQ(o.size.width, 2400);
  EXPECT_EQ(o.encode.max_bytes, 150000U);
  EXPECT_TRUE(o.encode.srgb);
  EXPECT_DOUBLE_EQ(o.polish.sharpen, 0.5);
  EXPECT_EQ(o.limits.max_input_pixels, 10'000'000U);
  EXPECT_EQ(o.memory_budget, kDefaultMemoryBudget);

  OptionValues two{{"scale", 2.0}, {"width", std::int64_t{9}}, {"method", std::string("nearest")}};
  EXPECT_EQ(message_of([&] { (void)upscale_options_from(two, {}); }),
            "scale and width: conflict: choose one sizing option (`scale`, `width`, `height`, "
            "`fit`, `long_edge` or `print`)");
  OptionValues dpi{{"dpi", 300.0}, {"print", std::string("4x6in@300")}};
  EXPECT_EQ(message_of([&] { (void)upscale_options_from(dpi, {}); }),
            "dpi and print: conflict: `print` already sets the DPI");
  OptionValues any;
  EXPECT_EQ(message_of([&] { set_option_text(any, "frobnicate", "1"); }),
            "frobnicate: unknown option");
}

}  // namespace
