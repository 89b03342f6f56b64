// Presets: the seeds' workflows as named bundles of option values, in the option table's terms
// (hires/options.hpp), and the one rule of what a user's own options leave a preset to decide.
// Presets that publish to the web drop the GPS location; print presets keep all metadata.
#include <fmt/format.h>

#include <algorithm>

#include "hires/error.hpp"
#include "hires/options.hpp"

namespace hires {

const std::vector<Preset>& presets() {
  using V = OptionValue;
  static const std::vector<Preset> kPresets{
      {"print",
       "for printing: lossless PNG with 300 DPI written (--print sets its own DPI)",
       {{"format", V{std::string("png")}}, {"dpi", V{300.0}}}},
      {"web",
       "for the web: JPEG at quality 80, colours converted to sRGB, GPS location removed",
       {{"format", V{std::string("jpg")}},
        {"quality", V{std::int64_t{80}}},
        {"srgb", V{true}},
        {"strip_location", V{true}}}},
      {"instagram-print",
       "an Instagram photo (1080 px) printed at 8x10 in, 300 DPI, lossless",
       {{"print", V{std::string("8x10in@300")}}, {"format", V{std::string("png")}}}},
      {"product-web",
       "a supplier's product photo for a shop: 2400 px wide, JPEG of at most 150 KB, sRGB, GPS "
       "location removed",
       {{"width", V{std::int64_t{2400}}},
        {"format", V{std::string("jpg")}},
        {"max_bytes", V{std::int64_t{150'000}}},
        {"srgb", V{true}},
        {"strip_location", V{true}}}},
      {"ai-art-4k",
       "a generated image (about 1024 px) made production-ready: 4096 px long edge, PNG",
       {{"long_edge", V{std::int64_t{4096}}}, {"format", V{std::string("png")}}}},
  };
  return kPresets;
}

const Preset& find_preset(std::string_view name) {
  std::string names;
  for (const auto& p : presets()) {
    if (p.name == name) return p;
    names += names.empty() ? p.name : ", " + p.name;
  }
  throw Error(ErrorKind::usage, "preset", fmt::format("no preset named '{}'", name),
              "one of " + names + " (hires presets lists them)");
}

bool is_size_option(std::string_view key) {
  const OptionSpec* s = find_option(key);
  return s != nullptr && s->group == OptionGroup::size;
}

void apply_preset(OptionValues& values, const Preset& preset, bool format_decided) {
  const bool size_given = std::any_of(values.begin(), values.end(),
                                      [](const auto& kv) { return is_size_option(kv.first); });
  for (const auto& [key, value] : preset.values) {
    if (values.count(key) != 0) continue;
    if (is_size_option(key) && size_given) continue;
    if (key == "dpi" && values.count("print") != 0) continue;
    if (key == "format" && format_decided) continue;
    values.emplace(key, value);
  }
}

std::optional<SizeRequest> size_request_from(const OptionValues& values, std::string_view conflict,
                                             std::string_view hint) {
  std::vector<std::string> given;
  for (const OptionSpec& s : option_specs()) {
    if (s.group == OptionGroup::size && values.count(s.key) != 0) given.emplace_back(s.key);
  }
  if (given.empty()) return std::nullopt;
  if (given.size() > 1) {
    throw Error(ErrorKind::usage, fmt::format("{}", fmt::join(given, " and ")),
                std::string(conflict), std::string(hint));
  }
  const std::string& key = given.front();
  const OptionValue& v = values.find(key)->second;
  auto pixels = [&] { return static_cast<int>(std::get<std::int64_t>(v)); };
  if (key == "scale") return SizeRequest::by_scale(std::get<double>(v));
  if (key == "width") return SizeRequest::by_width(pixels());
  if (key == "height") return SizeRequest::by_height(pixels());
  if (key == "long_edge") return SizeRequest::by_long_edge(pixels());
  if (key == "fit") {
    const Size box = parse_box(key, std::get<std::string>(v));
    return SizeRequest::fit_box(box.width, box.height);
  }
  return SizeRequest::for_print(parse_print(key, std::get<std::string>(v)));
}

}  // namespace hires
