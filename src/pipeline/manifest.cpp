// Manifests: planning a batch once into JSON Lines, reading it back, and splitting it into
// cost-balanced shards that every worker computes alike.
#include "hires/manifest.hpp"

#include <fmt/format.h>
#include <unistd.h>
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "hires/error.hpp"
#include "hires/models.hpp"
#include "pipeline/utc_time.hpp"

namespace hires {
namespace fs = std::filesystem;
using nlohmann::json;
using ordered = nlohmann::ordered_json;

namespace {

// Fitted to bench/shard_throughput.sh on the 2-core machine of docs/SCALE.md (2026-12-03): a
// fixed part per image, decode + resize + encode per output megapixel (Lanczos: 0.73 s for
// 512x512 -> 2048x2048, 2.75 s for 1600x1200 -> 6400x4800, process start included), and a model
// pass per input megapixel and parameter (photo-x4, 89k parameters: 15.4 s per input megapixel).
constexpr double kSecondsPerImage = 0.05;
constexpr double kSecondsPerOutputMegapixel = 0.08;
constexpr double kSecondsPerInputMegapixelParameter = 1.7e-4;

std::uint64_t plan_parameters(const UpscalePlan& plan, const std::vector<ModelInfo>& builtins) {
  if (plan.model_scale == 0 || plan.passes == 0) return 0;
  if (plan.given) return model_info(*plan.given).parameters;
  for (const ModelInfo& m : builtins) {
    if (m.name == plan.choice.model) return m.parameters;
  }
  return 0;
}

double rounded(double v) {
  return std::round(v * 1e4) / 1e4;
}

fs::path loaded_path(const std::string& text, const fs::path& dir) {
  const fs::path p(text);
  return p.is_absolute() || dir.empty() ? p : (dir / p).lexically_normal();
}

ordered item_json(const ManifestItem& it, const fs::path& base) {
  ordered j{{"input", manifest_path_text(it.input, base)},
            {"output", manifest_path_text(it.output, base)},
            {"width", it.in.width},
            {"height", it.in.height},
            {"out_width", it.out.width},
            {"out_height", it.out.height},
            {"model", it.model},
            {"passes", it.passes},
            {"cost", rounded(it.cost)}};
  if (!it.skip.empty()) j["skip"] = it.skip;
  if (!it.problem.empty()) j["problem"] = it.problem;
  return j;
}

// Reading: each check names the line.
class LineReader {
 public:
  LineReader(const fs::path& file, std::size_t line)
      : where_(fmt::format("{}:{}", file.string(), line)) {}

  [[noreturn]] void fail(const std::string& problem, const std::string& hint = {}) const {
    throw Error(ErrorKind::input, where_, problem, hint);
  }

  std::string text(const json& j, const char* key, bool required) const {
    if (!j.contains(key)) {
      if (required) fail(fmt::format("\"{}\" is missing", key));
      return {};
    }
    if (!j[key].is_string()) fail(fmt::format("\"{}\" is not a string", key));
    return j[key].get<std::string>();
  }

  int count(const json& j, const char* key) const {
    if (!j.contains(key)) fail(fmt::format("\"{}\" is missing", key));
    const json& v = j[key];
    if (!v.is_number_integer() || v.get<std::int64_t>() < 0 ||
        v.get<std::int64_t>() > std::numeric_limits<int>::max()) {
      fail(fmt::format("\"{}\" is not a whole number from 0", key));
    }
    return v.get<int>();
  }

  double number(const json& j, const char* key) const {
    if (!j.contains(key)) fail(fmt::format("\"{}\" is missing", key));
    const json& v = j[key];
    if (!v.is_number() || !(v.get<double>() >= 0) || !std::isfinite(v.get<double>())) {
      fail(fmt::format("\"{}\" is not a number from 0", key));
    }
    return v.get<double>();
  }

 private:
  std::string where_;
};

std::optional<int> parse_int(std::string_view text) {
  int v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return v;
}

int env_int(const std::function<const char*(const char*)>& getenv, const char* name,
            const char* what) {
  const char* v = getenv(name);
  const auto n = v != nullptr ? parse_int(v) : std::nullopt;
  if (!n || *n < 0) {
    throw Error(ErrorKind::usage, "shard",
                fmt::format("{}='{}' is not {}", name, v != nullptr ? v : "", what));
  }
  return *n;
}

}  // namespace

std::string manifest_path_text(const fs::path& p, const fs::path& base) {
  if (p.empty() || p.is_absolute()) return p.string();
  const fs::path rel = fs::absolute(p).lexically_normal().lexically_relative(base);
  return rel.empty() ? fs::absolute(p).lexically_normal().string() : rel.string();
}

double estimate_cost(const UpscalePlan& plan, std::uint64_t model_parameters) {
  const double out_mp = static_cast<double>(plan.out.width) * plan.out.height / 1e6;
  double cost = kSecondsPerImage + out_mp * kSecondsPerOutputMegapixel;
  double pass_mp = static_cast<double>(plan.in.width) * plan.in.height / 1e6;
  for (int i = 0; i < plan.passes && model_parameters > 0; ++i) {
    cost += pass_mp * static_cast<double>(model_parameters) * kSecondsPerInputMegapixelParameter;
    pass_mp *= static_cast<double>(plan.model_scale) * plan.model_scale;
  }
  return cost;
}

Manifest plan_manifest(const BatchRequest& request, const UpscaleOptions& options,
                       std::vector<std::string> option_args,
                       const std::function<void(std::size_t, std::size_t)>& on_item) {
  Manifest m;
  m.options = std::move(option_args);
  m.created = pipeline::utc_time();
  const std::vector<Job> jobs = plan_jobs(request);
  check_jobs(jobs, options.encode);
  std::vector<ModelInfo> builtins;
  if (options.auto_model) builtins = builtin_models();
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const Job& job = jobs[i];
    ManifestItem it;
    it.input = job.input;
    it.output = job.output;
    it.skip = job.skip;
    if (it.skip.empty()) {
      try {
        const ImageFacts facts = read_facts(job.input, options.limits, options.auto_model);
        it.in = facts.size;
        const UpscalePlan plan =
            plan_upscale(facts, options, output_format(job.output, options.encode.format));
        it.out = plan.out;
        it.model = plan.model;
        it.passes = plan.passes;
        it.cost = estimate_cost(plan, plan_parameters(plan, builtins));
      } catch (const Error& e) {
        if (e.kind() == ErrorKind::usage || e.kind() == ErrorKind::internal) throw;
        it.problem = e.what();
        std::error_code ec;  // a guess from the file's size, so that it still weighs something
        const auto bytes = fs::file_size(job.input, ec);
        it.cost = ec ? 0.0 : static_cast<double>(bytes) / 1e6 * kSecondsPerOutputMegapixel;
      }
    }
    m.items.push_back(std::move(it));
    if (on_item) on_item(i + 1, jobs.size());
  }
  return m;
}

void write_manifest(const fs::path& path, const Manifest& manifest) {
  std::string text;
  try {
    const fs::path base = fs::absolute(path).parent_path().lexically_normal();
    text = ordered{{"hires_manifest", kManifestVersion},
                   {"options", manifest.options},
                   {"created", manifest.created},
                   {"items", manifest.items.size()}}
               .dump() +
           '\n';
    for (const ManifestItem& it : manifest.items) text += item_json(it, base).dump() + '\n';
  } catch (const json::exception& e) {
    throw Error(ErrorKind::input, path.string(), "cannot write a path: " + std::string(e.what()),
                "manifests hold UTF-8 file names");
  }
  const fs::path tmp =
      path.parent_path() / fmt::format(".{}.hires-{}.tmp", path.filename().string(), getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
      std::error_code ec;
      fs::remove(tmp, ec);
      throw Error(ErrorKind::output, path.string(), "cannot write the manifest");
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw Error(ErrorKind::output, path.string(), "cannot move the manifest in place");
  }
}

Manifest read_manifest(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error(ErrorKind::input, path.string(), "cannot open the manifest",
                "make one with hires plan INPUTS... --manifest FILE");
  }
  Manifest m;
  std::string line;
  std::size_t number = 0;
  bool header = false;
  int expected = 0;
  while (std::getline(in, line)) {
    ++number;
    const LineReader r(path, number);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception&) {
      r.fail("not a JSON line");
    }
    if (!j.is_object()) r.fail("not a JSON object");
    if (!header) {
      if (!j.contains("hires_manifest")) {
        r.fail("no manifest header",
               "the first line is {\"hires_manifest\":1, ...}: make the "
               "manifest with hires plan");
      }
      if (j["hires_manifest"] != kManifestVersion) {
        r.fail(fmt::format("manifest version {} is not {}", j["hires_manifest"].dump(),
                           kManifestVersion),
               "plan it again with this hires");
      }
      if (!j.contains("options") || !j["options"].is_array()) r.fail("\"options\" is not a list");
      for (const json& o : j["options"]) {
        if (!o.is_string()) r.fail("\"options\" holds something other than strings");
        m.options.push_back(o.get<std::string>());
      }
      m.created = r.text(j, "created", false);
      expected = r.count(j, "items");
      header = true;
      continue;
    }
    ManifestItem it;
    const std::string input = r.text(j, "input", true);
    const std::string output = r.text(j, "output", true);
    if (input.empty()) r.fail("\"input\" is empty");
    if (output.empty()) r.fail("\"output\" is empty");
    it.input = loaded_path(input, path.parent_path());
    it.output = loaded_path(output, path.parent_path());
    it.in = {r.count(j, "width"), r.count(j, "height")};
    it.out = {r.count(j, "out_width"), r.count(j, "out_height")};
    it.model = r.text(j, "model", true);
    it.passes = r.count(j, "passes");
    it.cost = r.number(j, "cost");
    it.skip = r.text(j, "skip", false);
    it.problem = r.text(j, "problem", false);
    m.items.push_back(std::move(it));
  }
  if (!header) {
    throw Error(ErrorKind::input, path.string(), "is empty, not a manifest",
                "make one with hires plan INPUTS... --manifest FILE");
  }
  if (m.items.size() != static_cast<std::size_t>(expected)) {
    throw Error(ErrorKind::input, fmt::format("{}:{}", path.string(), number),
                fmt::format("the header says {} items but {} follow", expected, m.items.size()),
                "the manifest was cut off or edited: plan it again");
  }
  return m;
}

ShardId parse_shard(std::string_view option, std::string_view text) {
  const auto slash = text.find('/');
  const auto k = slash == std::string_view::npos ? std::nullopt : parse_int(text.substr(0, slash));
  const auto n = slash == std::string_view::npos ? std::nullopt : parse_int(text.substr(slash + 1));
  if (!k || !n || *k < 0 || *n < 1) {
    throw Error(ErrorKind::usage, std::string(option), fmt::format("'{}' is not K/N", text),
                "e.g. 0/4 for the first of 4 shards (numbered from 0), or auto");
  }
  if (*k >= *n) {
    throw Error(ErrorKind::usage, std::string(option),
                fmt::format("shard {} of {} does not exist", *k, *n),
                fmt::format("shards are numbered from 0: 0/{} .. {}/{}", *n, *n - 1, *n));
  }
  return {*k, *n};
}

ShardId shard_from_environment(const std::function<const char*(const char*)>& getenv,
                               std::optional<int> count) {
  ShardId id;
  if (getenv("JOB_COMPLETION_INDEX") != nullptr) {
    id.index = env_int(getenv, "JOB_COMPLETION_INDEX", "a shard number from 0");
    if (count) {
      id.count = *count;
    } else if (getenv("HIRES_SHARD_COUNT") != nullptr) {
      id.count = env_int(getenv, "HIRES_SHARD_COUNT", "a number of shards");
    } else if (getenv("JOB_COMPLETIONS") != nullptr) {
      id.count = env_int(getenv, "JOB_COMPLETIONS", "a number of shards");
    } else {
      throw Error(ErrorKind::usage, "shard",
                  "JOB_COMPLETION_INDEX is set but not the number of shards",
                  "set HIRES_SHARD_COUNT to the Job's completions, or pass `shard_count` N");
    }
  } else if (getenv("SLURM_ARRAY_TASK_ID") != nullptr) {
    const int task = env_int(getenv, "SLURM_ARRAY_TASK_ID", "an array task number");
    const int min = getenv("SLURM_ARRAY_TASK_MIN") != nullptr
                        ? env_int(getenv, "SLURM_ARRAY_TASK_MIN", "an array task number")
                        : 0;
    if (count) {
      id.count = *count;
    } else if (getenv("SLURM_ARRAY_TASK_COUNT") != nullptr) {
      id.count = env_int(getenv, "SLURM_ARRAY_TASK_COUNT", "a number of array tasks");
    } else {
      throw Error(ErrorKind::usage, "shard",
                  "SLURM_ARRAY_TASK_ID is set but not SLURM_ARRAY_TASK_COUNT",
                  "pass `shard_count` N");
    }
    id.index = task - min;
  } else {
    throw Error(ErrorKind::usage, "shard",
                "neither JOB_COMPLETION_INDEX (Kubernetes Indexed Job) nor SLURM_ARRAY_TASK_ID "
                "(Slurm array) is set",
                "pass `shard` K/N");
  }
  if (id.count < 1 || id.index < 0 || id.index >= id.count) {
    throw Error(ErrorKind::usage, "shard",
                fmt::format("shard {} of {} does not exist", id.index, id.count),
                "shards are numbered from 0; a Slurm array must have no gaps, e.g. --array=0-7 "
                "for 8 shards");
  }
  return id;
}

std::vector<std::size_t> shard_items(const std::vector<ManifestItem>& items, ShardId id) {
  if (id.count < 1 || id.index < 0 || id.index >= id.count) {
    throw Error(ErrorKind::usage, "shard", fmt::format("{}/{} does not exist", id.index, id.count));
  }
  std::vector<std::size_t> order(items.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (items[a].cost != items[b].cost) return items[a].cost > items[b].cost;
    if (items[a].input != items[b].input) return items[a].input < items[b].input;
    return a < b;
  });
  // Longest processing time first: each item to the least loaded shard (the lowest on ties).
  std::vector<double> load(static_cast<std::size_t>(id.count), 0.0);
  std::vector<std::size_t> mine;
  for (const std::size_t i : order) {
    const auto least =
        static_cast<std::size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    // Items of no cost still count a little, so that they spread too.
    load[least] += std::max(items[i].cost, 1e-6);
    if (least == static_cast<std::size_t>(id.index)) mine.push_back(i);
  }
  std::sort(mine.begin(), mine.end());
  return mine;
}

fs::path shard_log_path(const fs::path& manifest, ShardId id) {
  return manifest.parent_path() /
         fmt::format("{}.shard-{}-of-{}.log", manifest.filename().string(), id.index, id.count);
}

}  // namespace hires
