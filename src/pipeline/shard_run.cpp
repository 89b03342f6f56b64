// Running a shard of a manifest: append-only logs (one fsync'd JSON line per finished item),
// claim files that keep two workers off one item, resuming, and the merged report.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "hires/error.hpp"
#include "hires/manifest.hpp"
#include "io/durable_file.hpp"
#include "pipeline/utc_time.hpp"

namespace hires {
namespace fs = std::filesystem;
using nlohmann::json;
using ordered = nlohmann::ordered_json;

using io::Fd;
using io::sync_file;
using io::write_all;

namespace {

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

enum class Status { none, failed, skipped, done };  // in order of precedence

Status parse_status(const std::string& s) {
  if (s == "done") return Status::done;
  if (s == "skipped") return Status::skipped;
  if (s == "failed") return Status::failed;
  return Status::none;
}

struct ItemState {
  Status status = Status::none;
  std::string reason;
  std::size_t done_records = 0;
};

// Reads a log from where it last stopped; a last line without its newline (a worker killed while
// writing it) is left for the next read.
class LogCursor {
 public:
  LogCursor(fs::path path, fs::path base) : path_(std::move(path)), base_(std::move(base)) {}
  const fs::path& path() const { return path_; }
  std::size_t damaged() const { return damaged_; }

  void read(const Manifest& manifest, std::vector<ItemState>& states) {
    std::ifstream in(path_, std::ios::binary);
    if (!in) return;
    in.seekg(static_cast<std::streamoff>(offset_));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::size_t start = 0;
    for (std::size_t nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', start)) {
      ++line_;
      record(std::string_view(text).substr(start, nl - start), manifest, states);
      start = nl + 1;
    }
    offset_ += start;
  }

 private:
  void record(std::string_view line, const Manifest& manifest, std::vector<ItemState>& states) {
    if (line.empty()) return;
    const json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("item") ||
        !j["item"].is_number_unsigned() || !j.contains("status") || !j["status"].is_string()) {
      ++damaged_;
      return;
    }
    const auto item = j["item"].get<std::size_t>();
    const std::string where = fmt::format("{}:{}", path_.string(), line_);
    const std::string output = j.value("output", std::string());
    if (item >= manifest.items.size() ||
        manifest_path_text(manifest.items[item].output, base_) != output) {
      throw Error(ErrorKind::input, where,
                  fmt::format("item {} ({}) is not in the manifest", item, output),
                  "the manifest was planned again after this log was written: move the old "
                  "logs away");
    }
    const Status s = parse_status(j["status"].get<std::string>());
    if (s == Status::none) {
      ++damaged_;
      return;
    }
    ItemState& st = states[item];
    if (s == Status::done) ++st.done_records;
    if (s >= st.status) {
      st.status = s;
      st.reason = j.value("reason", std::string());
    }
  }

  fs::path path_;
  fs::path base_;  // the manifest's folder: log paths are written relative to it
  std::uintmax_t offset_ = 0;
  std::size_t line_ = 0;
  std::size_t damaged_ = 0;
};

// Every shard log of a manifest (whatever the shard count it was run with), sorted.
std::vector<fs::path> shard_logs(const fs::path& manifest) {
  const std::string prefix = manifest.filename().string() + ".shard-";
  const fs::path dir = manifest.parent_path().empty() ? fs::path(".") : manifest.parent_path();
  std::vector<fs::path> logs;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.starts_with(prefix) && name.ends_with(".log") &&
        name.find("-of-") != std::string::npos)
      logs.push_back(manifest.parent_path() / name);
  }
  std::sort(logs.begin(), logs.end());
  return logs;
}

// The shard's log, open for appending; each line is one write() followed by fsync.
class LogWriter {
 public:
  explicit LogWriter(fs::path path) : path_(std::move(path)) {
    fd_ = Fd(::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
    if (!fd_.valid()) {
      throw Error(ErrorKind::output, path_.string(),
                  fmt::format("cannot open the shard log: {}", std::strerror(errno)));
    }
    // A line cut off by a killed worker: end it, so that the next record starts a line.
    struct stat st {};
    if (::fstat(fd_.get(), &st) == 0 && st.st_size > 0) {
      Fd rd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
      char last = '\n';
      if (rd.valid() && ::pread(rd.get(), &last, 1, st.st_size - 1) == 1 && last != '\n') {
        write_all(fd_.get(), "\n", path_);
      }
    }
  }

  void append(const ordered& record) {
    write_all(fd_.get(), record.dump() + '\n', path_);
    if (::fsync(fd_.get()) != 0) {
      throw Error(ErrorKind::output, path_.string(),
                  fmt::format("cannot sync the shard log: {}", std::strerror(errno)));
    }
  }

 private:
  fs::path path_;
  Fd fd_;
};

bool process_alive(long pid) {
  return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

// `.NAME.hires-claim` beside an output: created with O_EXCL, holding {"pid","host","since"}, and
// locked with flock for as long as its worker lives. A claim whose lock can be taken belongs to a
// worker that died; it is taken over. Where the file system has no locks, a claim of a dead pid
// on this host is taken over.
class Claim {
 public:
  Claim(fs::path path, Fd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  Claim(Claim&&) noexcept = default;
  Claim& operator=(Claim&&) noexcept = default;
  Claim(const Claim&) = delete;
  Claim& operator=(const Claim&) = delete;
  ~Claim() {
    // Removed while still locked, so that nobody takes over a claim being released.
    if (fd_.valid()) ::unlink(path_.c_str());
  }

 private:
  fs::path path_;
  Fd fd_;
};

struct ClaimOutcome {
  std::optional<Claim> claim;
  std::string holder;  // busy: the claim's content; taken over: the dead worker's
  bool taken_over = false;
};

std::string read_holder(int fd) {
  char buf[512] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string s(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

bool holder_dead(const std::string& holder) {
  const json j = json::parse(holder, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return false;
  return j.value("host", std::string()) == host_name() && !process_alive(j.value("pid", 0L));
}

fs::path claim_path(const fs::path& output) {
  return output.parent_path() / ("." + output.filename().string() + ".hires-claim");
}

// A worker killed after recording an item and before removing its claim leaves the claim of a
// finished item: removed when nobody holds it.
void remove_stale_claim(const fs::path& output) {
  const fs::path path = claim_path(output);
  Fd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid() || ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) return;
  struct stat held {};
  struct stat now {};
  if (::fstat(fd.get(), &held) == 0 && ::stat(path.c_str(), &now) == 0 &&
      held.st_ino == now.st_ino && held.st_dev == now.st_dev) {
    ::unlink(path.c_str());
  }
}

ClaimOutcome acquire_claim(const fs::path& output) {
  const fs::path path = claim_path(output);
  const std::string me = json{{"pid", static_cast<long>(::getpid())},
                              {"host", host_name()},
                              {"since", pipeline::utc_time()}}
                             .dump() +
                         '\n';
  for (int attempt = 0; attempt < 4; ++attempt) {
    Fd fd(::open(path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0644));
    if (fd.valid()) {
      if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
        return {std::nullopt, read_holder(fd.get()), false};  // taken over in the instant
      }
      write_all(fd.get(), me, path);
      return {Claim(path, std::move(fd)), {}, false};
    }
    if (errno != EEXIST) {
      throw Error(ErrorKind::output, path.string(),
                  fmt::format("cannot create the claim file: {}", std::strerror(errno)));
    }
    fd = Fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd.valid()) continue;  // released meanwhile
    const std::string holder = read_holder(fd.get());
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK || !holder_dead(holder)) return {std::nullopt, holder, false};
      ::unlink(path.c_str());  // no locks here, and the holder's pid is gone on this host
      continue;
    }
    struct stat held {};
    struct stat now {};
    if (::fstat(fd.get(), &held) != 0 || ::stat(path.c_str(), &now) != 0 ||
        held.st_ino != now.st_ino || held.st_dev != now.st_dev) {
      continue;  // released (and maybe claimed again) meanwhile: try again
    }
    if (::ftruncate(fd.get(), 0) != 0 || ::lseek(fd.get(), 0, SEEK_SET) != 0) continue;
    write_all(fd.get(), me, path);
    return {Claim(path, std::move(fd)), holder, true};
  }
  return {std::nullopt, "(a claim changing hands)", false};
}

bool finished(const ItemState& s, bool retry_failed) {
  return s.status == Status::done || s.status == Status::skipped ||
         (s.status == Status::failed && !retry_failed);
}

}  // namespace

ShardSummary run_shard(const fs::path& manifest_path, const Manifest& manifest, ShardId id,
                       const UpscaleOptions& options, const ShardRunOptions& run,
                       const ShardEventFn& on_event) {
  const std::vector<std::size_t> mine = shard_items(manifest.items, id);
  const fs::path own_log = shard_log_path(manifest_path, id);
  std::vector<ItemState> states(manifest.items.size());
  const fs::path folder = fs::absolute(manifest_path).parent_path().lexically_normal();
  std::vector<LogCursor> cursors;
  for (const fs::path& log : shard_logs(manifest_path)) {
    if (log.filename() != own_log.filename()) cursors.emplace_back(log, folder);
  }
  cursors.emplace_back(own_log, folder);
  auto refresh = [&] {
    for (LogCursor& c : cursors) c.read(manifest, states);
  };
  refresh();
  LogWriter writer(own_log);
  const std::string host = host_name();

  ShardSummary summary;
  summary.items = mine.size();
  auto emit = [&](const ShardEvent& e) {
    if (on_event) on_event(e);
  };
  auto record = [&](std::size_t item, const char* status, const std::string& reason,
                    double seconds) {
    const ManifestItem& it = manifest.items[item];
    ordered j{{"item", item},
              {"input", manifest_path_text(it.input, folder)},
              {"output", manifest_path_text(it.output, folder)},
              {"status", status},
              {"seconds", std::round(seconds * 1000) / 1000},
              {"shard", fmt::format("{}/{}", id.index, id.count)},
              {"pid", static_cast<long>(::getpid())},
              {"host", host},
              {"time", pipeline::utc_time()}};
    if (!reason.empty()) j["reason"] = reason;
    writer.append(j);
  };

  // One item: claimed, checked against the logs again, run and recorded. False when another
  // worker holds its claim.
  auto attempt = [&](std::size_t position, std::size_t item) {
    const ManifestItem& it = manifest.items[item];
    ShardEvent base;
    base.position = position;
    base.total = mine.size();
    base.item = &it;
    std::error_code ec;
    if (!it.output.parent_path().empty()) fs::create_directories(it.output.parent_path(), ec);
    ClaimOutcome got = acquire_claim(it.output);
    if (!got.claim) {
      ShardEvent e = base;
      e.type = ShardEvent::Type::busy;
      e.message = got.holder;
      emit(e);
      return false;
    }
    if (got.taken_over) ++summary.taken_over;
    refresh();  // another worker on this shard may have finished it meanwhile
    if (finished(states[item], run.retry_failed)) {
      ++summary.resumed;
      return true;
    }
    if (run.after_claim) run.after_claim(it);
    ShardEvent start = base;
    start.type = ShardEvent::Type::start;
    emit(start);
    const auto t0 = std::chrono::steady_clock::now();
    auto seconds = [&] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    auto finish = [&](ShardEvent::Type type, const char* status, const std::string& reason,
                      const FileResult* result) {
      ShardEvent e = base;
      e.type = type;
      e.message = reason;
      e.seconds = seconds();
      e.result = result;
      record(item, status, reason, e.seconds);
      states[item].status = parse_status(status);
      emit(e);
    };
    if (!it.skip.empty()) {
      ++summary.skipped;
      finish(ShardEvent::Type::skipped, "skipped", it.skip, nullptr);
    } else if (!fs::exists(it.input, ec)) {
      ++summary.failed;
      finish(ShardEvent::Type::failed, "failed", it.input.string() + ": no such file", nullptr);
    } else if (!options.overwrite && fs::exists(it.output, ec)) {
      ++summary.skipped;
      finish(ShardEvent::Type::skipped, "skipped", "output exists (pass `overwrite` to replace it)",
             nullptr);
    } else {
      std::optional<FileResult> result;
      std::string failure;
      try {
        result = upscale_file(it.input, it.output, options, {});
        sync_file(it.output);
      } catch (const Error& e) {
        if (e.kind() == ErrorKind::cancelled) throw;
        failure = e.what();
      } catch (const std::exception& e) {
        failure = e.what();
      }
      if (result) {
        ++summary.done;
        finish(ShardEvent::Type::done, "done", {}, &*result);
      } else {
        ++summary.failed;
        finish(ShardEvent::Type::failed, "failed", failure, nullptr);
      }
    }
    return true;
  };

  std::vector<std::pair<std::size_t, std::size_t>> busy;  // position, item
  for (std::size_t p = 0; p < mine.size(); ++p) {
    const std::size_t item = mine[p];
    if (finished(states[item], run.retry_failed)) {
      ++summary.resumed;
      remove_stale_claim(manifest.items[item].output);
      continue;
    }
    if (!attempt(p, item)) busy.emplace_back(p, item);
  }
  // Once more for the items another worker held: it may have finished or died meanwhile.
  refresh();
  for (const auto& [p, item] : busy) {
    if (finished(states[item], false)) {
      ++summary.resumed;
    } else if (!attempt(p, item)) {
      ++summary.busy;
    }
  }
  return summary;
}

ManifestReport report_manifest(const fs::path& manifest_path, const Manifest& manifest) {
  ManifestReport report;
  std::vector<ItemState> states(manifest.items.size());
  for (const fs::path& log : shard_logs(manifest_path)) {
    LogCursor cursor(log, fs::absolute(manifest_path).parent_path().lexically_normal());
    cursor.read(manifest, states);
    report.damaged_lines += cursor.damaged();
    report.logs.push_back(log);
  }
  for (std::size_t i = 0; i < states.size(); ++i) {
    const ItemState& s = states[i];
    switch (s.status) {
      case Status::done:
        report.done.push_back({i, {}});
        break;
      case Status::skipped:
        report.skipped.push_back({i, s.reason});
        break;
      case Status::failed:
        report.failed.push_back({i, s.reason});
        break;
      case Status::none:
        report.missing.push_back({i, {}});
        break;
    }
    if (s.done_records > 1) report.duplicates.push_back(i);
  }
  return report;
}

}  // namespace hires
