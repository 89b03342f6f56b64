// Presets: the seeds' workflows as named bundles of upscale options.
#include <fmt/format.h>

#include "hires/error.hpp"
#include "hires/guide.hpp"

namespace hires {

const std::vector<Preset>& presets() {
  static const std::vector<Preset> kPresets{
      {"print",
       "for printing: lossless PNG with 300 DPI written (--print sets its own DPI)",
       {{"--format", "png"}, {"--dpi", "300"}}},
      {"web",
       "for the web: JPEG at quality 80, colours converted to sRGB",
       {{"--format", "jpg"}, {"--quality", "80"}, {"--srgb", ""}}},
      {"instagram-print",
       "an Instagram photo (1080 px) printed at 8x10 in, 300 DPI, lossless",
       {{"--print", "8x10in@300"}, {"--format", "png"}}},
      {"product-web",
       "a supplier's product photo for a shop: 2400 px wide, JPEG of at most 150 KB, sRGB",
       {{"--width", "2400"}, {"--format", "jpg"}, {"--max-bytes", "150K"}, {"--srgb", ""}}},
      {"ai-art-4k",
       "a generated image (about 1024 px) made production-ready: 4096 px long edge, PNG",
       {{"--long-edge", "4096"}, {"--format", "png"}}},
  };
  return kPresets;
}

const Preset& find_preset(std::string_view name) {
  std::string names;
  for (const auto& p : presets()) {
    if (p.name == name) return p;
    names += names.empty() ? p.name : ", " + p.name;
  }
  throw Error(ErrorKind::usage, "--preset", fmt::format("no preset named '{}'", name),
              "one of " + names + " (hires presets lists them)");
}

}  // namespace hires
