// The options of an upscale (`hires upscale`, `hires plan`, and `hires run` through a manifest's
// stored arguments): registered from the option table (hires/options.hpp), parsed by the library
// so that messages are the same everywhere.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "hires/hires.hpp"
#include "option_table.hpp"

namespace hires::cli {

struct UpscaleArgs {
  std::vector<std::string> inputs;
  TableArgs options;  // every option of the table, by key
};

// Adds the upscale options to `cmd` (the inputs positional among them).
void add_upscale_options(CLI::App& cmd, UpscaleArgs& a);
// The models folders: those given, then the default ones.
std::vector<std::filesystem::path> model_dirs(const std::vector<std::string>& given);
// The request the options ask for, with the --preset's values the user did not decide. Throws
// Error(usage) naming the option's key (main() spells it as a flag).
UpscaleOptions upscale_options(const UpscaleArgs& a);
// --backend vulkan and --gpu N checked before any file is touched: a usage error when there is no
// Vulkan device or no device N. Every command with these options calls it.
void check_gpu_choice(const UpscaleOptions& o);

// The upscale options given (and the --preset's values), as arguments that parse back to the
// same request ("--method", "lanczos", "--strip=true", ...), leaving out the inputs, the output,
// --recursive and what only changes how progress is shown (--json, --quiet, -v, --review).
std::vector<std::string> stored_upscale_args(const UpscaleArgs& a);
// Parses arguments made by stored_upscale_args with the same options as `hires upscale`.
// `source` names where they come from, for messages. Throws Error(usage).
UpscaleOptions upscale_options_from_args(const std::vector<std::string>& args,
                                         const std::string& source);

}  // namespace hires::cli
