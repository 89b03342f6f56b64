// The upscale options, declared once: `hires upscale`, `hires plan` and, through a manifest's
// stored arguments, `hires run`.
#include "upscale_args.hpp"

#include <fmt/format.h>
#include <cstdlib>
#include <optional>
#include <set>

#include "hires/devices.hpp"
#include "hires/error.hpp"
#include "hires/guide.hpp"
#include "hires/models.hpp"
#include "hires/pipeline.hpp"

namespace hires::cli {

using hires::Error;
using hires::ErrorKind;

namespace {
// The sizing option given, if any (one at most).
std::optional<hires::SizeRequest> size_request(const UpscaleArgs& a) {
  return parse_sizing(a.sizing, "conflict: choose one sizing option",
                      "--scale, --width, --height, --fit, --long-edge or --print");
}

// --restore S: a strength from 0 to 1.
std::optional<double> parse_restore(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0' || !(v >= 0.0 && v <= 1.0)) {
    throw Error(ErrorKind::usage, "--restore",
                fmt::format("'{}' is not a strength from 0 to 1", text),
                "0 keeps the photo model's faithful look, 1 cleans up fully, e.g. --restore 0.5");
  }
  return v;
}

}  // namespace

void add_upscale_options(CLI::App& cmd, UpscaleArgs& a) {
  cmd.add_option("inputs", a.inputs, "Image files and/or folders")->required();
  cmd.add_option("-o,--output", a.output,
                 "Output file, or folder for several inputs (default: NAME-hires.EXT beside each)");
  cmd.add_option("-m,--method", a.method,
                 "nearest | bilinear | bicubic | lanczos, or an AI model: built in (photo-x4, "
                 "photo-x2, restore-x4, restore-x2), a file (.param, .safetensors, .pth) or a name "
                 "found in --models-dir (default: chosen per image from what it shows — the photo "
                 "model, the restore model at a strength, nearest for pixel art; x2 models up to "
                 "2x). A model named without a size runs at its own scale");
  cmd.add_option("--models-dir", a.models_dirs, "Folder with model files (repeatable)");
  cmd.add_option("-t,--tile", a.tile, "Model tile size in pixels (0 = from --memory-budget)")
      ->check(CLI::Range(0, 8192))
      ->capture_default_str();
  cmd.add_option("--memory-budget", a.memory_budget, "Memory for a model tile, e.g. 512M, 2G")
      ->capture_default_str();
  cmd.add_option("--backend", a.backend,
                 "auto | cpu | vulkan (a GPU; 'hires devices' lists them) | reference (plain "
                 "loops, slow)")
      ->capture_default_str();
  cmd.add_option("--gpu", a.gpu, "With --backend vulkan or auto: the GPU to use (hires devices)")
      ->check(CLI::Range(0, 63));
  add_sizing_options(*cmd.add_option_group("sizing", "Choose one (default --scale 4)"), a.sizing,
                     SizingFor::upscale);
  cmd.add_option("--dpi", a.dpi, "Write this DPI into the output (no resizing)");
  cmd.add_option("-f,--format", a.format, "jpg | png | webp | tiff | avif (default: from -o)");
  cmd.add_option("-q,--quality", a.quality, "Quality 1-100 (JPEG/WebP 90, AVIF 60)")
      ->check(CLI::Range(1, 100));
  cmd.add_option("--min-quality", a.min_quality,
                 "With --max-bytes: the lowest quality allowed (below it JPEG blocks show; 1 "
                 "allows any)")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  cmd.add_option("--max-bytes", a.max_bytes,
                 "Highest quality whose file fits, e.g. 150K, 2M (K = 1000 bytes)");
  cmd.add_flag("--strip", a.strip, "Drop EXIF/XMP/IPTC (the colour profile is kept)");
  cmd.add_flag("--srgb,!--no-srgb", a.srgb,
               "Convert colours to sRGB through the embedded profile (Display P3, Adobe RGB, ...); "
               "--no-srgb keeps the profile when a preset asks for sRGB");
  cmd.add_option("--background", a.background,
                 "Colour under transparency for formats without alpha")
      ->capture_default_str();
  cmd.add_flag("-r,--recursive", a.recursive, "Look inside sub-folders");
  cmd.add_flag("--overwrite", a.overwrite, "Replace existing outputs (never inputs)");
  cmd.add_flag("--json", a.json, "One JSON object per event on stdout");
  cmd.add_flag("--quiet", a.quiet, "Print errors only");
  cmd.add_flag("-v,--verbose", a.verbose, "Also say which engine implementation ran");
  cmd.add_option("--max-pixels", a.max_pixels_mp, "Largest input in megapixels")
      ->capture_default_str();
  cmd.add_option("--max-output-pixels", a.max_output_pixels_mp, "Largest output in megapixels")
      ->capture_default_str();
  cmd.add_flag(
      "--accept-damaged", a.accept_damaged,
      "Decode files with corrupt data instead of failing them (damaged parts may be grey)");
  cmd.add_option("--threads", a.threads, "Worker threads (0 = all cores)")
      ->check(CLI::Range(0, 1024));
  cmd.add_flag("--color-fix", a.color_fix,
               "Match the output's low-frequency colour to the input's (models can shift it)");
  cmd.add_option("--restore", a.restore,
                 "Clean-up strength 0..1 (0: faithful photo model, 1: JPEG blocks, noise and blur "
                 "removed); default: from what the image shows");
  cmd.add_option("--denoise", a.denoise,
                 "Classical edge-preserving filter before upscaling, 0 (off) to 3 (--restore is "
                 "the recommended clean-up)")
      ->check(CLI::Range(0, 3));
  cmd.add_option("--sharpen", a.sharpen,
                 "Unsharp mask after upscaling (linear light), 0 to 5, e.g. 0.5");
  cmd.add_option("--preset", a.preset,
                 "Named option bundle (hires presets lists them); your own options win");
  cmd.add_flag("--review", a.review, "Review each result against its input (see hires review)");
}

std::vector<std::filesystem::path> model_dirs(const std::vector<std::string>& given) {
  std::vector<std::filesystem::path> dirs(given.begin(), given.end());
  for (auto& d : hires::default_model_dirs()) dirs.push_back(d);
  return dirs;
}

UpscaleOptions upscale_options(const UpscaleArgs& a) {
  hires::UpscaleOptions o;
  hires::set_method(o, a.method, model_dirs(a.models_dirs), parse_restore(a.restore));
  o.tile = a.tile;
  o.memory_budget = hires::parse_bytes("--memory-budget", a.memory_budget);
  o.backend = hires::parse_backend("--backend", a.backend);
  o.gpu = a.gpu;
  if (a.gpu >= 0 || o.backend == hires::BackendKind::vulkan) {  // before any file is touched
    const hires::GpuList gpus = hires::list_gpus();
    if (o.backend == hires::BackendKind::vulkan && gpus.devices.empty()) {
      throw Error(ErrorKind::usage, "--backend vulkan", gpus.note,
                  gpus.vulkan_built ? "install a GPU driver (or Mesa's lavapipe, "
                                      "mesa-vulkan-drivers), or use --backend cpu"
                                    : "rebuild with libvulkan-dev and glslc installed "
                                      "(scripts/setup.sh), or use --backend cpu");
    }
    if (a.gpu >= 0 && static_cast<std::size_t>(a.gpu) >= gpus.devices.size()) {
      throw Error(ErrorKind::usage, "--gpu",
                  fmt::format("device {} does not exist ({} Vulkan device{}{})", a.gpu,
                              gpus.devices.size(), gpus.devices.size() == 1 ? "" : "s",
                              gpus.note.empty() ? "" : ": " + gpus.note),
                  "'hires devices' lists them");
    }
  }
  o.size = hires::requested_size(size_request(a), o);
  // Validate the request's values before any file is touched (1x1 stands for any image).
  if (o.size.mode != hires::SizeMode::scale || o.size.scale > 0) {
    (void)hires::plan_size({1000, 1000}, o.size);
  }
  if (!a.format.empty()) o.encode.format = hires::parse_format(a.format);
  o.encode.quality = a.quality;
  if (!a.max_bytes.empty()) o.encode.max_bytes = hires::parse_bytes("--max-bytes", a.max_bytes);
  o.encode.min_quality = a.min_quality;
  o.encode.strip = a.strip;
  o.encode.srgb = a.srgb;
  if (!a.dpi.empty()) {
    const double dpi = hires::parse_dpi("--dpi", a.dpi);
    if (!a.sizing.print.empty()) {
      throw Error(ErrorKind::usage, "--dpi and --print", "conflict: --print already sets the DPI");
    }
    o.encode.dpi = dpi;
  }
  o.encode.background = hires::parse_color(a.background);
  o.limits.max_input_pixels = hires::cli::megapixels("--max-pixels", a.max_pixels_mp);
  o.limits.accept_damaged = a.accept_damaged;
  o.limits.max_output_pixels =
      hires::cli::megapixels("--max-output-pixels", a.max_output_pixels_mp);
  o.overwrite = a.overwrite;
  o.threads = a.threads;
  if (!a.preset.empty()) (void)hires::find_preset(a.preset);  // known ones were expanded
  o.polish.color_fix = a.color_fix;
  o.polish.denoise = a.denoise;
  o.polish.sharpen = hires::parse_number("--sharpen", a.sharpen, 0, 5);
  return o;
}

namespace {

// Given only to `plan` and `upscale` themselves, not to the request a manifest stores.
const std::set<std::string>& not_stored() {
  static const std::set<std::string> names{"inputs",   "--output",   "--recursive",
                                           "--json",   "--quiet",    "--verbose",
                                           "--review", "--manifest", "--help"};
  return names;
}

void collect_args(const CLI::App& app, std::vector<std::string>& args) {
  for (const CLI::Option* o : app.get_options()) {
    if (o->count() == 0 || not_stored().count(o->get_name()) != 0) continue;
    if (o->get_lnames().empty()) continue;  // positionals and short-only options
    const std::string name = "--" + o->get_lnames().front();
    for (const std::string& r : o->results()) {
      if (o->get_expected_max() == 0) {
        args.push_back(name + "=" + r);  // flags: --strip=true, --srgb=false
      } else {
        args.push_back(name);
        args.push_back(r);
      }
    }
  }
  for (const CLI::App* group : app.get_subcommands([](const CLI::App* a) {
         return a->get_name().empty();  // option groups
       })) {
    collect_args(*group, args);
  }
}

}  // namespace

std::vector<std::string> given_upscale_args(const CLI::App& cmd) {
  std::vector<std::string> args;
  collect_args(cmd, args);
  return args;
}

UpscaleOptions upscale_options_from_args(const std::vector<std::string>& args,
                                         const std::string& source) {
  CLI::App app{"stored upscale options"};
  UpscaleArgs a;
  add_upscale_options(app, a);
  app.get_option("inputs")->required(false);
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    throw Error(ErrorKind::usage, source, fmt::format("stored options: {}", e.what()),
                "plan the manifest again with this hires");
  }
  if (!a.inputs.empty()) {
    throw Error(ErrorKind::usage, source,
                fmt::format("stored options hold a stray argument '{}'", a.inputs.front()));
  }
  try {
    return upscale_options(a);
  } catch (const Error& e) {
    throw Error(e.kind(), fmt::format("{}: stored option {}", source, e.subject()), e.problem(),
                e.hint());
  }
}

}  // namespace hires::cli
