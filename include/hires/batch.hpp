// Batches: many inputs (files and folders) to outputs, going on past bad files.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "hires/hires.hpp"

namespace hires {

struct Job {
  std::filesystem::path input;
  std::filesystem::path output;
  // Not run, reported as skipped with this reason: an input that is another job's output under
  // hires' own naming (NAME-hires.EXT from an earlier `hires *.png` in the same folder).
  std::string skip;
};

struct BatchRequest {
  std::vector<std::filesystem::path> inputs;    // files and/or folders
  std::optional<std::filesystem::path> output;  // file (one input) or folder
  bool recursive = false;
  Format format = Format::from_extension;
};

// Expands folders (recursively with `recursive`) into the image files they hold, and gives each
// its output path: one file input and a non-folder `output` -> that path; otherwise `output` is a
// folder that mirrors the input tree. Without `output`, each result goes beside its input as
// NAME-hires.EXT. Throws Error(usage) for requests that cannot be planned (missing inputs are
// kept as jobs and fail when run, so that a batch reports them and goes on). An input that is no
// file but holds wildcards (a quoted "*.png") is expanded; one that matches nothing throws.
std::vector<Job> plan_jobs(const BatchRequest& request);

// Checks what can be checked before any work starts: every output has a format we write, and a
// size target (--max-bytes) is only asked of lossy formats. Throws Error(usage).
void check_jobs(const std::vector<Job>& jobs, const EncodeOptions& encode);

// The format a job's output is written in.
Format output_format(const std::filesystem::path& output, Format requested);

// True for the file extensions hires reads.
bool is_image_path(const std::filesystem::path& path);

enum class JobStatus { done, skipped, failed };

struct JobEvent {
  enum class Type { start, progress, done, skipped, error } type = Type::start;
  std::size_t index = 0;  // 0-based position in the batch
  std::size_t total = 0;
  const Job* job = nullptr;
  double fraction = 0;                 // progress
  const FileResult* result = nullptr;  // done
  std::string message;                 // skipped / error: one line
  double seconds = 0;                  // done / error
};
using JobEventFn = std::function<void(const JobEvent&)>;

struct BatchSummary {
  std::size_t done = 0;
  std::size_t skipped = 0;
  std::size_t failed = 0;
  std::vector<std::pair<std::filesystem::path, std::string>> failures;  // input, message
};

// Runs every job; a failing job is reported through `on_event` and the batch goes on.
BatchSummary run_jobs(const std::vector<Job>& jobs, const UpscaleOptions& options,
                      const JobEventFn& on_event);

}  // namespace hires
