// The options of an upscale (`hires upscale`, `hires plan`, and `hires run` through a manifest's
// stored arguments): declared once, parsed by the library so that messages are the same
// everywhere.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "hires/hires.hpp"
#include "sizing.hpp"

namespace hires::cli {

// Raw option text, parsed by the library so that messages are the same everywhere.
struct UpscaleArgs {
  std::vector<std::string> inputs;
  std::string output;
  std::string method;  // empty: the built-in photo model (see default_model), else lanczos
  hires::cli::SizingArgs sizing;
  std::string dpi;
  std::string format, max_bytes, background = "white";
  int min_quality = hires::kDefaultMinQuality;
  int quality = 0;
  bool strip = false, srgb = false, recursive = false, overwrite = false, json = false,
       quiet = false;
  bool verbose = false;
  std::string max_pixels_mp = "268.435456";
  bool accept_damaged = false;
  std::string max_output_pixels_mp = "1073.741824";
  int threads = 0;
  std::vector<std::string> models_dirs;
  int tile = 0;
  std::string memory_budget = "1G";
  std::string backend = "auto";
  int gpu = -1;  // --gpu: the Vulkan device; -1 = the best one
  bool color_fix = false, review = false;
  int denoise = 0;
  std::string sharpen = "0";
  std::string preset;
  std::string restore;
};

// Adds the upscale options to `cmd` (the inputs positional among them).
void add_upscale_options(CLI::App& cmd, UpscaleArgs& a);
// The models folders: those given, then the default ones.
std::vector<std::filesystem::path> model_dirs(const std::vector<std::string>& given);
// The request the options ask for. Throws Error(usage) for a bad value.
UpscaleOptions upscale_options(const UpscaleArgs& a);

// The upscale options given on `cmd`'s command line, as arguments that parse back to the same
// request ("--method", "lanczos", "--strip=true", ...), leaving out the inputs, the output,
// --recursive and what only changes how progress is shown (--json, --quiet, -v, --review).
std::vector<std::string> given_upscale_args(const CLI::App& cmd);
// Parses arguments made by given_upscale_args with the same options as `hires upscale`.
// `source` names where they come from, for messages. Throws Error(usage).
UpscaleOptions upscale_options_from_args(const std::vector<std::string>& args,
                                         const std::string& source);

}  // namespace hires::cli
