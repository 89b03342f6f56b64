// Batches over many machines: `hires plan` writes a manifest, `hires run --shard K/N` runs one
// shard of it (Kubernetes Indexed Jobs, Slurm arrays, xargs), `hires report` merges the logs.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "commands.hpp"
#include "hires/error.hpp"
#include "hires/manifest.hpp"
#include "option_table.hpp"
#include "progress.hpp"
#include "upscale_args.hpp"

namespace hires::cli {
namespace {

using nlohmann::json;

void emit(const json& j) {
  std::cout << j.dump() << '\n' << std::flush;
}

struct PlanArgs {
  UpscaleArgs up;
  std::string manifest;
};

int run_plan(const PlanArgs& a) {
  const UpscaleOptions options = upscale_options(a.up);
  BatchRequest req;
  for (const auto& in : a.up.inputs) req.inputs.emplace_back(in);
  if (a.up.options.given("output")) req.output = a.up.options.text("output");
  req.recursive = a.up.options.flag("recursive");
  req.format = options.encode.format;
  ProgressBar bar(!a.up.options.flag("json") && !a.up.options.flag("quiet") &&
                  isatty(STDERR_FILENO) != 0);
  bar.start("planning");
  const Manifest m = plan_manifest(
      req, options, stored_upscale_args(a.up),
      [&](std::size_t done, std::size_t total) { bar.update(static_cast<double>(done) / total); });
  bar.clear();
  write_manifest(a.manifest, m);
  std::size_t skipped = 0, unreadable = 0;
  double cost = 0;
  for (const ManifestItem& it : m.items) {
    skipped += it.skip.empty() ? 0 : 1;
    unreadable += it.problem.empty() ? 0 : 1;
    cost += it.cost;
  }
  if (a.up.options.flag("json")) {
    emit({{"event", "planned"},
          {"manifest", a.manifest},
          {"items", m.items.size()},
          {"skipped", skipped},
          {"unreadable", unreadable},
          {"cost", cost},
          {"options", m.options}});
  } else if (!a.up.options.flag("quiet")) {
    fmt::print(stderr,
               "hires: planned {} images into {} ({} skipped, {} unreadable); estimated work: {}\n",
               m.items.size(), a.manifest, skipped, unreadable,
               cost >= 3600 ? fmt::format("{:.1f} worker-hours", cost / 3600)
                            : fmt::format("{:.0f} worker-seconds", cost));
  }
  for (const ManifestItem& it : m.items) {
    if (!it.problem.empty() && !a.up.options.flag("quiet") && !a.up.options.flag("json")) {
      fmt::print(stderr, "hires: warning: {}\n", it.problem);
    }
  }
  return 0;
}

struct RunArgs {
  std::string manifest;
  std::string shard;
  int shard_count = 0;
  int threads = -1;
  bool retry_failed = false;
  bool json = false;
  bool quiet = false;
};

ShardId shard_of(const RunArgs& a) {
  if (a.shard == "auto") {
    return shard_from_environment(
        [](const char* name) { return std::getenv(name); },
        a.shard_count > 0 ? std::optional<int>(a.shard_count) : std::nullopt);
  }
  if (a.shard_count > 0) {
    throw Error(ErrorKind::usage, "--shard-count", "goes with --shard auto",
                "--shard K/N already says how many shards there are");
  }
  return parse_shard("--shard", a.shard);
}

// Only for tests: HIRES_TEST_ITEM_DELAY_MS makes a worker wait after claiming each item, so
// that a test can kill it while it holds a claim.
std::function<void(const ManifestItem&)> test_delay() {
  const char* v = std::getenv("HIRES_TEST_ITEM_DELAY_MS");
  if (v == nullptr) return {};
  const int ms = std::atoi(v);
  if (ms <= 0) return {};
  return [ms](const ManifestItem&) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); };
}

int run_shard_command(const RunArgs& a) {
  const ShardId id = shard_of(a);
  const Manifest m = read_manifest(a.manifest);
  UpscaleOptions options = upscale_options_from_args(m.options, a.manifest);
  if (a.threads >= 0) options.threads = a.threads;
  ShardRunOptions run;
  run.retry_failed = a.retry_failed;
  run.after_claim = test_delay();
  const std::string shard = fmt::format("{}/{}", id.index, id.count);
  const ShardSummary s = run_shard(a.manifest, m, id, options, run, [&](const ShardEvent& e) {
    const std::string in = e.item->input.string();
    const std::string out = e.item->output.string();
    using T = ShardEvent::Type;
    if (a.json) {
      static const char* names[] = {"start", "done", "skipped", "failed", "busy"};
      json j{{"event", names[static_cast<int>(e.type)]},
             {"shard", shard},
             {"input", in},
             {"output", out},
             {"index", e.position + 1},
             {"total", e.total}};
      if (e.type != T::start) j["seconds"] = e.seconds;
      if (!e.message.empty()) j[e.type == T::busy ? "holder" : "reason"] = cli_text(e.message);
      if (e.type == T::start) j.erase("seconds");
      emit(j);
      return;
    }
    switch (e.type) {
      case T::start:
        break;
      case T::done:
        if (!a.quiet) {
          const FileResult& r = *e.result;
          fmt::print(stderr, "[{}/{}] {} -> {} ({}x{} -> {}x{}, {}, {:.1f}s)\n", e.position + 1,
                     e.total, printable(in), printable(out), r.in_size.width, r.in_size.height,
                     r.out_size.width, r.out_size.height, r.model, e.seconds);
        }
        break;
      case T::skipped:
        if (!a.quiet) fmt::print(stderr, "hires: skipped: {}: {}\n", in, cli_text(e.message));
        break;
      case T::failed:
        fmt::print(stderr, "hires: error: {}\n", error_for_cli(e.message));
        break;
      case T::busy:
        if (!a.quiet) fmt::print(stderr, "hires: busy: {}: claimed by {}\n", in, e.message);
        break;
    }
  });
  if (a.json) {
    emit({{"event", "summary"},
          {"shard", shard},
          {"items", s.items},
          {"done", s.done},
          {"skipped", s.skipped},
          {"failed", s.failed},
          {"resumed", s.resumed},
          {"busy", s.busy},
          {"taken_over", s.taken_over}});
  } else if (!a.quiet || s.failed > 0) {
    fmt::print(stderr,
               "hires: shard {}: {} items: {} done, {} skipped, {} failed by this run; {} recorded "
               "by earlier or other runs; {} left to another worker\n",
               shard, s.items, s.done, s.skipped, s.failed, s.resumed, s.busy);
  }
  // Failed items are results, recorded in the log: the shard is complete (a scheduler that
  // restarts failed workers would only fail them again). `hires report` says what failed.
  return 0;
}

struct ReportArgs {
  std::string manifest;
  bool json = false;
};

int run_report(const ReportArgs& a) {
  const Manifest m = read_manifest(a.manifest);
  const ManifestReport r = report_manifest(a.manifest, m);
  auto entries = [&](const std::vector<ManifestReport::Entry>& list) {
    json out = json::array();
    for (const auto& e : list) {
      json j{{"input", m.items[e.item].input.string()},
             {"output", m.items[e.item].output.string()}};
      if (!e.reason.empty()) j["reason"] = e.reason;
      out.push_back(j);
    }
    return out;
  };
  if (a.json) {
    json logs = json::array();
    for (const auto& l : r.logs) logs.push_back(l.string());
    json dup = json::array();
    for (std::size_t i : r.duplicates) dup.push_back(m.items[i].input.string());
    emit({{"manifest", a.manifest},
          {"items", m.items.size()},
          {"logs", logs},
          {"counts",
           {{"done", r.done.size()},
            {"skipped", r.skipped.size()},
            {"failed", r.failed.size()},
            {"missing", r.missing.size()}}},
          {"skipped", entries(r.skipped)},
          {"failed", entries(r.failed)},
          {"missing", entries(r.missing)},
          {"duplicates", dup},
          {"damaged_lines", r.damaged_lines}});
  } else {
    fmt::print("{}: {} items, {} logs: {} done, {} skipped, {} failed, {} missing\n", a.manifest,
               m.items.size(), r.logs.size(), r.done.size(), r.skipped.size(), r.failed.size(),
               r.missing.size());
    for (const auto& e : r.failed) {
      fmt::print("  failed: {}: {}\n", m.items[e.item].input.string(), e.reason);
    }
    for (const auto& e : r.skipped) {
      fmt::print("  skipped: {}: {}\n", m.items[e.item].input.string(), e.reason);
    }
    for (const auto& e : r.missing) fmt::print("  missing: {}\n", m.items[e.item].input.string());
    for (std::size_t i : r.duplicates) {
      fmt::print("  done more than once: {}\n", m.items[i].input.string());
    }
    if (r.damaged_lines > 0) fmt::print("  {} log lines cut off or unreadable\n", r.damaged_lines);
  }
  return r.failed.empty() && r.missing.empty() ? 0 : 1;
}

}  // namespace

Command add_plan_command(CLI::App& app) {
  auto args = std::make_shared<PlanArgs>();
  CLI::App* cmd = app.add_subcommand(
      "plan", "List a batch once into a manifest, for hires run --shard on many machines");
  add_upscale_options(*cmd, args->up);
  cmd->add_option("--manifest", args->manifest, "The manifest to write (JSON Lines)")->required();
  return {cmd, [args] { return run_plan(*args); }};
}

Command add_run_command(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* cmd = app.add_subcommand(
      "run", "Run one shard of a manifest; restart it to resume (see docs/SCALE.md)");
  cmd->add_option("--manifest", args->manifest, "The manifest made by hires plan")->required();
  cmd->add_option("--shard", args->shard,
                  "K/N: shard K of N, numbered from 0 (0/4 .. 3/4); auto: from "
                  "JOB_COMPLETION_INDEX and HIRES_SHARD_COUNT (Kubernetes Indexed Job) or "
                  "SLURM_ARRAY_TASK_ID, _MIN and _COUNT (Slurm array)")
      ->required();
  cmd->add_option("--shard-count", args->shard_count,
                  "With --shard auto: the number of shards (instead of the environment's)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--threads", args->threads,
                  "Worker threads on this machine (0 = all cores; default: the manifest's)")
      ->check(CLI::Range(0, 1024));
  cmd->add_flag("--retry-failed", args->retry_failed,
                "Run again the items a log records as failed");
  cmd->add_flag("--json", args->json, "One JSON object per event on stdout");
  cmd->add_flag("--quiet", args->quiet, "Print errors only");
  return {cmd, [args] { return run_shard_command(*args); }};
}

Command add_report_command(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  CLI::App* cmd = app.add_subcommand(
      "report",
      "Merge a manifest's shard logs: done, skipped, failed with reasons, missing "
      "(exit 1 when anything failed or is missing)");
  cmd->add_option("--manifest", args->manifest, "The manifest made by hires plan")->required();
  cmd->add_flag("--json", args->json, "As one JSON object on stdout");
  return {cmd, [args] { return run_report(*args); }};
}

}  // namespace hires::cli
