// Sub-commands other than upscale and models register here: each adds its options to its own
// CLI::App and returns the function that runs it (returning the exit code). Errors are thrown as
// hires::Error; main() turns them into messages and exit codes (usage -> 2, others -> 1).
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "hires/guide.hpp"

namespace hires::cli {

using RunFn = std::function<int()>;

struct Command {
  CLI::App* app = nullptr;
  RunFn run;
};

// The names of every sub-command (so that `hires IMAGE` can default to `upscale`).
const std::vector<const char*>& command_names();

// Each registers one sub-command on `app`. Add new ones to the list in main.cpp.
// (Declared here as they are written, e.g. Command add_check_command(CLI::App& app);)
Command add_check_command(CLI::App& app);   // cli/cmd_check.cpp
Command add_review_command(CLI::App& app);  // cli/cmd_review.cpp
// Prints a review (text or one JSON line) on stdout; `report` is the page written, if any.
int print_review(const std::string& original, const std::string& upscaled, const ReviewResult& r,
                 bool as_json, const std::string& report);
// `upscale --review`: reviews one result, on stderr (or as a JSON "review" event on stdout).
void review_after_upscale(const std::filesystem::path& input, const std::filesystem::path& output,
                          bool as_json);
Command add_presets_command(CLI::App& app);  // cli/cmd_presets.cpp
// `hires options [--markdown]`: the option table as JSON or as the README's table (hidden).
Command add_options_command(CLI::App& app);
Command add_eval_command(CLI::App& app);     // cli/cmd_eval.cpp
Command add_serve_command(CLI::App& app);    // cli/cmd_serve.cpp
Command add_plan_command(CLI::App& app);     // cli/cmd_shards.cpp
Command add_run_command(CLI::App& app);      // cli/cmd_shards.cpp
Command add_report_command(CLI::App& app);   // cli/cmd_shards.cpp
Command add_video_command(CLI::App& app);    // cli/cmd_video.cpp
Command add_devices_command(CLI::App& app);  // cli/cmd_devices.cpp

}  // namespace hires::cli
