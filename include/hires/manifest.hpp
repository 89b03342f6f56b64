// Batches over many machines: a manifest lists every image once, workers take cost-balanced
// shards of it, each keeps an append-only log, and a report merges the logs.
//
//   hires::Manifest m = hires::plan_manifest(request, options, {"-m", "lanczos"});
//   hires::write_manifest("jobs.jsonl", m);
//   // on worker K of N (0-based), sharing the folders:
//   hires::run_shard("jobs.jsonl", hires::read_manifest("jobs.jsonl"), {K, N}, options, {}, {});
//   hires::ManifestReport r = hires::report_manifest("jobs.jsonl", m);  // done/failed/missing
//
// The manifest is JSON Lines: a header {"hires_manifest":1, "options":[...], "created":...}, then
// one line per image {input, output, width, height, out_width, out_height, model, passes, cost}.
// A shard's log is `<manifest>.shard-K-of-N.log`: one JSON line per finished item (done, skipped
// or failed), each fsync'd before the next item starts, so a restarted worker resumes. While an
// item runs, a claim file `.NAME.hires-claim` beside its output (holding pid and host, locked
// with flock) keeps a second worker given the same shard off it; outputs are written atomically.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hires/batch.hpp"
#include "hires/hires.hpp"
#include "hires/pipeline.hpp"

namespace hires {

inline constexpr int kManifestVersion = 1;

struct ManifestItem {
  std::filesystem::path input;
  std::filesystem::path output;
  Size in;              // 0x0 when the input could not be read while planning (see `problem`)
  Size out;             // the planned output size
  std::string model;    // what plan_upscale chose: "photo-x4", "lanczos", a model file's name
  int passes = 0;       // model passes
  double cost = 0;      // estimated seconds of work, for balancing shards (estimate_cost)
  std::string skip;     // planned as skipped (hires' own result in the inputs): the reason
  std::string problem;  // why the input could not be planned; `run` tries it and reports it
};

struct Manifest {
  // The upscale options as command-line arguments ("-m", "lanczos", "--scale", "2"): `hires run`
  // parses them with the same code as `hires upscale`, so a manifest runs as it was planned.
  std::vector<std::string> options;
  std::string created;  // UTC time of planning, ISO 8601
  std::vector<ManifestItem> items;
};

// Plans every job of `request` (plan_jobs) and reads each input's header once (with the
// measures the content-aware default needs) to plan its output size, model and passes.
// Unreadable inputs are kept, with `problem` set, so that the run reports them. `on_item` is
// called after each input with (done, total).
Manifest plan_manifest(const BatchRequest& request, const UpscaleOptions& options,
                       std::vector<std::string> option_args,
                       const std::function<void(std::size_t, std::size_t)>& on_item = {});

// The work an image with this plan costs, in seconds of a 2-core x86-64 (docs/SCALE.md): decode
// and resize by output pixels, model passes by their input pixels times the model's parameters
// (`model_parameters`, 0 when no model runs).
double estimate_cost(const UpscalePlan& plan, std::uint64_t model_parameters);

// How a manifest and its logs write a path: relative paths relative to `base` (the manifest's
// folder, absolute), so that workers find the images whatever their working folder and a
// manifest moves with its tree; absolute paths stay as they are. read_manifest resolves them.
std::string manifest_path_text(const std::filesystem::path& p, const std::filesystem::path& base);

// Writes the manifest atomically (temp file + rename). Throws Error(output).
void write_manifest(const std::filesystem::path& path, const Manifest& manifest);
// Reads a manifest. Throws Error(input) naming "FILE:LINE" and what is wrong there.
Manifest read_manifest(const std::filesystem::path& path);

// A shard: `index` from 0 to count - 1 (as Kubernetes' JOB_COMPLETION_INDEX and a Slurm array
// --array=0-(N-1) number them).
struct ShardId {
  int index = 0;
  int count = 1;
};

// Parses "K/N" (0 <= K < N). Throws Error(usage) naming `option`.
ShardId parse_shard(std::string_view option, std::string_view text);

// Reads the shard from the environment through `getenv`: Kubernetes Indexed Jobs
// (JOB_COMPLETION_INDEX, with the count from HIRES_SHARD_COUNT or JOB_COMPLETIONS, or `count`),
// else Slurm arrays (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN of SLURM_ARRAY_TASK_COUNT).
// `count` (--shard-count) wins over the environment's count. Throws Error(usage) naming the
// variables that are missing or wrong.
ShardId shard_from_environment(const std::function<const char*(const char*)>& getenv,
                               std::optional<int> count);

// The manifest's items (indices into manifest.items, in manifest order) that shard `id` runs:
// longest-processing-time-first over the costs, ties broken by input path, so every worker
// computes the same split without talking to the others.
std::vector<std::size_t> shard_items(const std::vector<ManifestItem>& items, ShardId id);

// `<manifest>.shard-K-of-N.log`.
std::filesystem::path shard_log_path(const std::filesystem::path& manifest, ShardId id);

struct ShardRunOptions {
  bool retry_failed = false;  // run items a log records as failed again (default: they stay)
  // Called after an item is claimed, before it runs (tests use it to slow a worker down).
  std::function<void(const ManifestItem&)> after_claim;
};

struct ShardEvent {
  enum class Type { start, done, skipped, failed, busy } type = Type::start;
  std::size_t position = 0;  // 0-based within the shard
  std::size_t total = 0;     // the shard's items
  const ManifestItem* item = nullptr;
  const FileResult* result = nullptr;  // done
  std::string message;                 // skipped / failed: the reason; busy: who holds the claim
  double seconds = 0;
};
using ShardEventFn = std::function<void(const ShardEvent&)>;

struct ShardSummary {
  std::size_t items = 0;       // in the shard
  std::size_t resumed = 0;     // already recorded in a log when this run started (or met later)
  std::size_t done = 0;        // by this run
  std::size_t skipped = 0;     // by this run
  std::size_t failed = 0;      // by this run
  std::size_t busy = 0;        // claimed by another live worker, left to it
  std::size_t taken_over = 0;  // claims of a dead worker taken over
};

// Runs shard `id` of the manifest at `manifest_path`: items already recorded in any of the
// manifest's shard logs are passed over; each other item is claimed, run (upscale_file) and
// recorded in the shard's log. A failing item is recorded and the shard goes on. Throws Error
// when the log or a claim cannot be written.
ShardSummary run_shard(const std::filesystem::path& manifest_path, const Manifest& manifest,
                       ShardId id, const UpscaleOptions& options, const ShardRunOptions& run,
                       const ShardEventFn& on_event);

struct ManifestReport {
  struct Entry {
    std::size_t item = 0;  // index into the manifest's items
    std::string reason;    // skipped / failed
  };
  std::vector<std::filesystem::path> logs;  // the shard logs merged
  std::vector<Entry> done, skipped, failed, missing;
  std::vector<std::size_t> duplicates;  // items recorded done more than once
  std::size_t damaged_lines = 0;        // log lines that were cut off or unreadable
};

// Merges every `<manifest>.shard-*-of-*.log` beside the manifest: an item is done when any log
// says so, else skipped, else failed (the last reason), else missing. Throws Error(input)
// naming "LOG:LINE" when a log names an item the manifest does not have.
ManifestReport report_manifest(const std::filesystem::path& manifest_path,
                               const Manifest& manifest);

}  // namespace hires
