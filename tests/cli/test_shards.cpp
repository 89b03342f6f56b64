// Manifests and shards: `hires plan`, `hires run --shard` as separate worker processes (killed,
// restarted, started twice), `hires report`; and the library's sharding and parsing.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cli/cli_helpers.hpp"
#include "hires/error.hpp"
#include "hires/manifest.hpp"
#include "support/test_support.hpp"

namespace hires::test {
namespace {

using nlohmann::json;

// A `hires` process started in the background, stdout and stderr into files.
class Worker {
 public:
  Worker(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
         const fs::path& io_dir, const std::string& name)
      : out_(io_dir / (name + ".out")), err_(io_dir / (name + ".err")) {
    pid_ = fork();
    if (pid_ == 0) {
      const int o = open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      const int e = open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(o, 1);
      dup2(e, 2);
      for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
      std::vector<std::string> copy = args;
      std::string bin = HIRES_BINARY;
      std::vector<char*> argv{bin.data()};
      for (auto& a : copy) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
  }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker() {
    if (pid_ > 0 && !waited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  int wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    waited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  void kill9() {
    kill(pid_, SIGKILL);
    wait();
  }
  std::string out() const { return read_file(out_); }
  std::string err() const { return read_file(err_); }

 private:
  fs::path out_, err_;
  pid_t pid_ = -1;
  bool waited_ = false;
};

std::vector<json> json_lines(const fs::path& p) {
  std::vector<json> lines;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);) {
    if (json::accept(line)) lines.push_back(json::parse(line));
  }
  return lines;
}

std::vector<std::string> files_named(const fs::path& dir, const std::string& part) {
  std::vector<std::string> found;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.find(part) != std::string::npos) found.push_back(e.path().string());
  }
  return found;
}

// 24 small images of different sizes and one corrupt file, planned into a manifest.
class Shards : public ::testing::Test {
 protected:
  static constexpr int kImages = 24;

  void SetUp() override {
    fs::create_directories(in_);
    for (int i = 0; i < kImages; ++i) {
      vips::VImage im = pattern_image(16 + 3 * i, 12 + 2 * (i % 5), 3, false);
      im.write_to_file((in_ / fmt_name(i)).c_str());
    }
    std::ofstream(in_ / "zz-bad.png") << "not a png at all";
    const RunResult r = run_hires({"plan", in_.string(), "-o", out_.string(), "-m", "bicubic",
                                   "--scale", "2", "--strip", "--manifest", manifest_.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    manifest_lines_ = json_lines(manifest_);
    ASSERT_EQ(manifest_lines_.size(), kImages + 2u);
  }

  static std::string fmt_name(int i) { return "img" + std::to_string(100 + i) + ".png"; }

  std::vector<std::string> run_args(const std::string& shard) const {
    return {"run", "--manifest", manifest_.string(), "--shard", shard, "--json"};
  }

  fs::path log_of(int k, int n) const {
    return manifest_.string() + ".shard-" + std::to_string(k) + "-of-" + std::to_string(n) + ".log";
  }

  // Done records per item over every log; and the failures.
  std::map<std::size_t, int> done_counts() const {
    std::map<std::size_t, int> done;
    for (const auto& e : fs::directory_iterator(dir_.path())) {
      if (e.path().extension() != ".log") continue;
      for (const json& j : json_lines(e.path())) {
        if (j["status"] == "done") ++done[j["item"].get<std::size_t>()];
      }
    }
    return done;
  }

  json report() const {
    const RunResult r = run_hires({"report", "--manifest", manifest_.string(), "--json"});
    EXPECT_TRUE(json::accept(r.out)) << r.out << r.err;
    json j = json::parse(r.out);
    j["exit_code"] = r.exit_code;
    return j;
  }

  // Every item but the corrupt one done exactly once, its output there and decoding at 2x.
  void expect_complete() const {
    const json rep = report();
    EXPECT_EQ(rep["counts"]["done"], kImages) << rep.dump();
    EXPECT_EQ(rep["counts"]["failed"], 1) << rep.dump();
    EXPECT_EQ(rep["counts"]["missing"], 0) << rep.dump();
    EXPECT_TRUE(rep["duplicates"].empty()) << rep.dump();
    EXPECT_EQ(rep["exit_code"], 1);  // the corrupt input failed
    for (const auto& [item, count] : done_counts()) EXPECT_EQ(count, 1) << "item " << item;
    std::set<std::string> outputs;
    for (const auto& e : fs::directory_iterator(out_)) outputs.insert(e.path().filename().string());
    std::set<std::string> expected;
    for (int i = 0; i < kImages; ++i) expected.insert(fmt_name(i));
    EXPECT_EQ(outputs, expected);
    for (int i = 0; i < kImages; ++i) {
      const vips::VImage im = load_fresh(out_ / fmt_name(i));
      EXPECT_EQ(im.width(), 2 * (16 + 3 * i)) << fmt_name(i);
    }
    EXPECT_TRUE(files_named(out_, ".hires-claim").empty());
  }

  TempDir dir_;
  fs::path in_ = dir_ / "in";
  fs::path out_ = dir_ / "out";
  fs::path manifest_ = dir_ / "jobs.jsonl";
  std::vector<json> manifest_lines_;
};

TEST_F(Shards, ManifestHoldsTheOptionsAndOneLinePerImage) {
  const json& header = manifest_lines_[0];
  EXPECT_EQ(header["hires_manifest"], 1);
  EXPECT_EQ(header["options"], json({"--method", "bicubic", "--scale", "2", "--strip=true"}));
  const json& first = manifest_lines_[1];
  EXPECT_EQ(first["input"], (in_ / "img100.png").string());  // absolute as given
  EXPECT_EQ(first["output"], (out_ / "img100.png").string());
  EXPECT_EQ(first["out_width"], 32);
  EXPECT_EQ(first["model"], "bicubic");
  EXPECT_GT(first["cost"].get<double>(), 0);
  EXPECT_TRUE(manifest_lines_.back().contains("problem"));  // zz-bad.png, planned all the same
  // Nothing ran yet: all missing.
  const json rep = report();
  EXPECT_EQ(rep["counts"]["missing"], kImages + 1);
  EXPECT_EQ(rep["exit_code"], 1);
}

TEST_F(Shards, ThreeWorkersCoverTheManifestOnceAndReportTheCorruptInput) {
  std::vector<std::unique_ptr<Worker>> workers;
  for (int k = 0; k < 3; ++k) {
    workers.push_back(std::make_unique<Worker>(run_args(std::to_string(k) + "/3"),
                                               std::map<std::string, std::string>{}, dir_.path(),
                                               "w" + std::to_string(k)));
  }
  for (auto& w : workers) EXPECT_EQ(w->wait(), 0) << w->err();
  expect_complete();
  const RunResult text = run_hires({"report", "--manifest", manifest_.string()});
  EXPECT_EQ(text.exit_code, 1);
  EXPECT_TRUE(contains(text.out, "25 items, 3 logs: 24 done, 0 skipped, 1 failed, 0 missing"))
      << text.out;
  EXPECT_TRUE(contains(text.out, "failed: ")) << text.out;
  EXPECT_TRUE(contains(text.out, "zz-bad.png: ")) << text.out;
  EXPECT_TRUE(temp_leftovers(out_).empty());
  // The claim of a finished item that a worker killed at the wrong instant left behind is removed
  // by the next run of its shard.
  std::ofstream(out_ / ".img105.png.hires-claim") << R"({"pid":1,"host":"elsewhere"})";
  for (int k = 0; k < 3; ++k) EXPECT_EQ(run_hires(run_args(std::to_string(k) + "/3")).exit_code, 0);
  EXPECT_TRUE(files_named(out_, ".hires-claim").empty());
  // A second run of a finished shard does nothing.
  const RunResult again = run_hires(run_args("1/3"));
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_EQ(json_event(again.out, "summary")["done"], 0) << again.out;
}

TEST_F(Shards, AWorkerKilledMidItemIsRestartedAndLosesNothing) {
  {
    Worker slow(run_args("0/3"), {{"HIRES_TEST_ITEM_DELAY_MS", "600"}}, dir_.path(), "slow");
    // Wait until it finished an item and sleeps holding the claim of the next one, then kill it.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline && json_lines(log_of(0, 3)).empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    slow.kill9();
  }
  ASSERT_FALSE(json_lines(log_of(0, 3)).empty());
  ASSERT_EQ(files_named(out_, ".hires-claim").size(), 1u);  // left behind by the dead worker
  const std::size_t logged = json_lines(log_of(0, 3)).size();

  const RunResult restarted = run_hires(run_args("0/3"));
  EXPECT_EQ(restarted.exit_code, 0) << restarted.err;
  const json summary = json_event(restarted.out, "summary");
  EXPECT_EQ(summary["resumed"], logged) << summary.dump();
  EXPECT_EQ(summary["taken_over"], 1) << summary.dump();
  for (const std::string shard : {"1/3", "2/3"}) {
    EXPECT_EQ(run_hires(run_args(shard)).exit_code, 0);
  }
  expect_complete();
}

TEST_F(Shards, TheSameShardTwiceAtOnceRunsEachItemOnce) {
  Worker a(run_args("1/3"), {{"HIRES_TEST_ITEM_DELAY_MS", "40"}}, dir_.path(), "a");
  Worker b(run_args("1/3"), {{"HIRES_TEST_ITEM_DELAY_MS", "40"}}, dir_.path(), "b");
  EXPECT_EQ(a.wait(), 0) << a.err();
  EXPECT_EQ(b.wait(), 0) << b.err();
  const json sa = json_event(a.out(), "summary");
  const json sb = json_event(b.out(), "summary");
  const std::size_t items = sa["items"];
  EXPECT_EQ(sa["done"].get<std::size_t>() + sa["failed"].get<std::size_t>() +
                sb["done"].get<std::size_t>() + sb["failed"].get<std::size_t>(),
            items)
      << sa.dump() << sb.dump();
  std::size_t records = 0;
  std::set<std::size_t> seen;
  for (const json& j : json_lines(log_of(1, 3))) {
    ++records;
    EXPECT_TRUE(seen.insert(j["item"].get<std::size_t>()).second) << j.dump();
    if (j["status"] == "done") {
      EXPECT_NO_THROW(load_fresh(dir_ / j["output"].get<std::string>()));
    }
  }
  EXPECT_EQ(records, items);
  for (const std::string shard : {"0/3", "2/3"}) {
    EXPECT_EQ(run_hires(run_args(shard)).exit_code, 0);
  }
  expect_complete();
}

TEST_F(Shards, ShardAutoReadsKubernetesAndSlurm) {
  const std::vector<std::string> args = run_args("auto");
  Worker slurm(args,
               {{"SLURM_ARRAY_TASK_ID", "12"},
                {"SLURM_ARRAY_TASK_MIN", "10"},
                {"SLURM_ARRAY_TASK_COUNT", "3"}},
               dir_.path(), "slurm");
  EXPECT_EQ(slurm.wait(), 0) << slurm.err();
  EXPECT_EQ(json_event(slurm.out(), "summary")["shard"], "2/3") << slurm.out();
  EXPECT_TRUE(fs::exists(log_of(2, 3)));
  Worker k8s(args, {{"JOB_COMPLETION_INDEX", "1"}}, dir_.path(), "k8s");
  EXPECT_EQ(k8s.wait(), 2);
  EXPECT_TRUE(contains(k8s.err(), "JOB_COMPLETION_INDEX is set but not the number of shards"))
      << k8s.err();
  Worker counted(args, {{"JOB_COMPLETION_INDEX", "1"}, {"HIRES_SHARD_COUNT", "3"}}, dir_.path(),
                 "counted");
  EXPECT_EQ(counted.wait(), 0) << counted.err();
  EXPECT_EQ(json_event(counted.out(), "summary")["shard"], "1/3") << counted.out();
}

TEST_F(Shards, ClearErrorsForBadShardsAndManifests) {
  RunResult r = run_hires(run_args("3/3"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "shards are numbered from 0: 0/3 .. 2/3")) << r.err;
  r = run_hires(run_args("two"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "'two' is not K/N")) << r.err;
  std::string text = read_file(manifest_);
  text.insert(text.find('\n', text.find('\n', text.find('\n') + 1) + 1) + 1, "{\"input\": 3}\n");
  std::ofstream(dir_ / "bad.jsonl") << text;
  r = run_hires({"run", "--manifest", (dir_ / "bad.jsonl").string(), "--shard", "0/1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "bad.jsonl:4: \"input\" is not a string")) << r.err;
}

// ---- the library

std::vector<ManifestItem> random_items(std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::lognormal_distribution<double> cost(0.0, 1.0);
  std::vector<ManifestItem> items(n);
  for (std::size_t i = 0; i < n; ++i) {
    items[i].input = "in/" + std::to_string(i) + ".jpg";
    items[i].output = "out/" + std::to_string(i) + ".png";
    items[i].cost = i % 17 == 0 ? 0.0 : cost(gen);
  }
  return items;
}

TEST(Sharding, DeterministicDisjointAndBalanced) {
  const std::vector<ManifestItem> items = random_items(500, 7);
  for (const int n : {1, 3, 7, 16}) {
    std::vector<int> owner(items.size(), -1);
    double total = 0, largest = 0, heaviest = 0;
    for (const auto& it : items) {
      total += it.cost;
      largest = std::max(largest, it.cost);
    }
    for (int k = 0; k < n; ++k) {
      const std::vector<std::size_t> mine = shard_items(items, {k, n});
      EXPECT_EQ(mine, shard_items(items, {k, n}));
      double load = 0;
      for (const std::size_t i : mine) {
        EXPECT_EQ(owner[i], -1) << "item " << i << " in two shards";
        owner[i] = k;
        load += items[i].cost;
      }
      heaviest = std::max(heaviest, load);
    }
    for (std::size_t i = 0; i < items.size(); ++i) EXPECT_NE(owner[i], -1) << i;
    // LPT: no shard is over the mean by more than one item, and here well within 5 %.
    EXPECT_LE(heaviest, total / n + largest) << n;
    EXPECT_LE(heaviest, total / n * 1.05) << n;
  }
  // Manifest order does not matter: the split follows costs and names.
  std::vector<ManifestItem> reversed(items.rbegin(), items.rend());
  std::set<std::string> a, b;
  for (std::size_t i : shard_items(items, {2, 5})) a.insert(items[i].input.string());
  for (std::size_t i : shard_items(reversed, {2, 5})) b.insert(reversed[i].input.string());
  EXPECT_EQ(a, b);
}

TEST(Sharding, ShardTextAndEnvironment) {
  EXPECT_EQ(parse_shard("--shard", "2/5").index, 2);
  EXPECT_EQ(parse_shard("--shard", "2/5").count, 5);
  for (const char* bad : {"5/5", "-1/3", "1/0", "1", "a/b", "1/3x", ""}) {
    EXPECT_THROW(parse_shard("--shard", bad), Error) << bad;
  }
  auto env = [](std::map<std::string, std::string> vars) {
    return [vars](const char* name) -> const char* {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  };
  ShardId id = shard_from_environment(
      env({{"JOB_COMPLETION_INDEX", "3"}, {"HIRES_SHARD_COUNT", "8"}}), std::nullopt);
  EXPECT_EQ(id.index, 3);
  EXPECT_EQ(id.count, 8);
  id = shard_from_environment(env({{"JOB_COMPLETION_INDEX", "3"}}), 4);
  EXPECT_EQ(id.count, 4);
  id = shard_from_environment(env({{"SLURM_ARRAY_TASK_ID", "12"},
                                   {"SLURM_ARRAY_TASK_MIN", "10"},
                                   {"SLURM_ARRAY_TASK_COUNT", "4"}}),
                              std::nullopt);
  EXPECT_EQ(id.index, 2);
  EXPECT_EQ(id.count, 4);
  try {
    shard_from_environment(env({{"JOB_COMPLETION_INDEX", "3"}}), std::nullopt);
    ADD_FAILURE() << "no count";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "HIRES_SHARD_COUNT")) << e.what();
  }
  EXPECT_THROW(shard_from_environment(env({}), std::nullopt), Error);
  EXPECT_THROW(shard_from_environment(env({{"JOB_COMPLETION_INDEX", "x"}}), 2), Error);
  EXPECT_THROW(
      shard_from_environment(env({{"SLURM_ARRAY_TASK_ID", "5"}, {"SLURM_ARRAY_TASK_COUNT", "4"}}),
                             std::nullopt),
      Error);  // 5 of 4: a gap in the array
}

TEST(Sharding, ManifestRoundTripAndLineErrors) {
  TempDir dir;
  Manifest m;
  m.options = {"--method", "lanczos"};
  m.created = "2026-01-01T00:00:00Z";
  m.items = random_items(3, 1);
  m.items[1].problem = "in/1.jpg: not a supported image";
  write_manifest(dir / "m.jsonl", m);
  const Manifest back = read_manifest(dir / "m.jsonl");
  EXPECT_EQ(back.options, m.options);
  ASSERT_EQ(back.items.size(), 3u);
  EXPECT_EQ(back.items[1].problem, m.items[1].problem);
  // Relative paths are written relative to the manifest's folder and read back from there.
  EXPECT_EQ(back.items[0].input, fs::absolute(m.items[0].input).lexically_normal());
  EXPECT_EQ(json::parse(split_lines(read_file(dir / "m.jsonl"))[1])["input"],
            manifest_path_text(m.items[0].input, dir.path()));
  std::string text = read_file(dir / "m.jsonl");
  std::ofstream(dir / "cut.jsonl") << text.substr(0, text.rfind('\n', text.size() - 2) + 1);
  try {
    (void)read_manifest(dir / "cut.jsonl");
    ADD_FAILURE() << "a cut manifest was read";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "cut.jsonl:3: the header says 3 items but 2 follow"))
        << e.what();
  }
}

}  // namespace
}  // namespace hires::test
