#include "pipeline/video_journal.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "hires/error.hpp"

namespace hires::pipeline {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kFirstLine = "hires video job 1";
constexpr std::uint64_t kIdentityBytes = std::uint64_t{1} << 20;

// The input as the journal names it: size, modification time (ns) and the first MiB's digest.
std::string input_line(const fs::path& input) {
  struct stat st {};
  if (::stat(input.c_str(), &st) != 0) {
    throw Error(ErrorKind::input, input.string(),
                fmt::format("cannot read: {}", std::strerror(errno)));
  }
  const long long mtime = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL +
                          static_cast<long long>(st.st_mtim.tv_nsec);
  return fmt::format("input {} {} {:016x}", static_cast<long long>(st.st_size), mtime,
                     io::file_digest(input, kIdentityBytes));
}

std::string segment_line(std::size_t index, const JournalSegment& s) {
  return fmt::format("segment {} {} {} {} {:016x}\n", index, s.first, s.frames, s.facts.bytes,
                     s.facts.digest);
}

bool parse_segment(const std::string& line, std::size_t index, std::int64_t first,
                   JournalSegment& s) {
  std::istringstream in(line);
  std::string word, digest;
  std::size_t i = 0;
  if (!(in >> word >> i >> s.first >> s.frames >> s.facts.bytes >> digest) || word != "segment" ||
      i != index || s.first != first || s.frames <= 0 || digest.size() != 16) {
    return false;
  }
  char* end = nullptr;
  s.facts.digest = std::strtoull(digest.c_str(), &end, 16);
  return end == digest.c_str() + digest.size() &&
         line == segment_line(index, s).substr(0, line.size());
}

// "`crf` 18" -> the stored name and value of an option line.
std::pair<std::string, std::string> option_of(const std::string& line) {
  const std::size_t space = line.find(' ', 7);
  if (line.rfind("option ", 0) != 0 || space == std::string::npos) return {};
  return {line.substr(7, space - 7), line.substr(space + 1)};
}

}  // namespace

fs::path VideoJournal::folder_for(const fs::path& output) {
  return output.parent_path() / fmt::format(".{}.hires-partial", output.filename().string());
}

std::int64_t VideoJournal::frames_done() const {
  return segments_.empty() ? 0 : segments_.back().first + segments_.back().frames;
}

fs::path VideoJournal::segment_path(std::size_t index) const {
  return folder_ / fmt::format("segment-{:06}.hvs", index);
}

VideoJournal::VideoJournal(const fs::path& output, const fs::path& input, const JobOptions& options,
                           bool resume)
    : output_(output),
      folder_(folder_for(output)),
      journal_(folder_ / "journal"),
      input_name_(input.string()),
      resume_(resume) {
  std::string header = std::string(kFirstLine) + '\n';
  const std::string identity = input_line(input);
  header += identity + '\n';
  for (const auto& [name, value] : options) header += fmt::format("option {} {}\n", name, value);
  std::error_code ec;
  if (!fs::exists(folder_, ec) || !load(header, identity)) start(header);
  if (!resumed_ && resume) {
    notices_.push_back(
        fmt::format("nothing to resume in {}: started from the beginning", folder_.string()));
  }
}

void VideoJournal::start(const std::string& header) {
  const fs::path parent = output_.parent_path().empty() ? fs::path(".") : output_.parent_path();
  if (::mkdir(folder_.c_str(), 0755) != 0) {
    const int err = errno;
    throw Error(ErrorKind::output, output_.string(),
                fmt::format("cannot write into {}: {}", parent.string(),
                            err == EACCES ? "permission denied" : std::strerror(err)),
                err == EACCES || err == EROFS ? "choose another output folder" : "");
  }
  const fs::path part = folder_ / "journal.part";
  {
    io::Fd fd(::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd.valid()) {
      throw Error(ErrorKind::output, part.string(),
                  fmt::format("cannot write: {}", std::strerror(errno)));
    }
    io::write_all(fd.get(), header, part);
    ::fsync(fd.get());
  }
  if (::rename(part.c_str(), journal_.c_str()) != 0) {
    throw Error(ErrorKind::output, journal_.string(),
                fmt::format("cannot write: {}", std::strerror(errno)));
  }
  io::sync_folder(folder_);
  io::sync_folder(parent);
  fd_ = io::Fd(::open(journal_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
  if (!fd_.valid() || ::flock(fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    throw Error(ErrorKind::usage, output_.string(),
                fmt::format("another hires is working on it ({} is in use)", folder_.string()));
  }
}

// Reads the folder's journal. False when it holds no finished segment (the folder is removed, to
// be started over); true when the job resumes. Throws when the job cannot resume.
bool VideoJournal::load(const std::string& header, const std::string& identity) {
  fd_ = io::Fd(::open(journal_.c_str(), O_RDWR | O_APPEND | O_CLOEXEC));
  if (fd_.valid() && ::flock(fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    throw Error(ErrorKind::usage, output_.string(),
                fmt::format("another hires is working on it ({} is in use)", folder_.string()));
  }
  std::string text;
  if (fd_.valid()) {
    std::ifstream in(journal_, std::ios::binary);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  // Whole lines only: the last one may have been cut by a kill or a power loss.
  std::vector<std::string> lines;
  std::vector<std::size_t> ends;
  for (std::size_t at = 0, nl = text.find('\n'); nl != std::string::npos;
       at = nl + 1, nl = text.find('\n', at)) {
    lines.push_back(text.substr(at, nl - at));
    ends.push_back(nl + 1);
  }
  std::size_t first_segment = 0;
  while (first_segment < lines.size() && lines[first_segment].rfind("segment ", 0) != 0) {
    ++first_segment;
  }
  std::vector<JournalSegment> listed;
  for (std::size_t i = first_segment; i < lines.size(); ++i) {
    JournalSegment s;
    const std::int64_t first = listed.empty() ? 0 : listed.back().first + listed.back().frames;
    if (!parse_segment(lines[i], listed.size(), first, s)) break;
    listed.push_back(s);
  }
  const auto start_over = [&] {
    fd_.reset();
    std::error_code ec;
    fs::remove_all(folder_, ec);
    return false;
  };
  if (listed.empty()) return start_over();
  const std::int64_t done = listed.back().first + listed.back().frames;
  const std::string where = folder_.string();
  if (!resume_) {
    throw Error(ErrorKind::usage, output_.string(),
                fmt::format("the unfinished job in {} stopped after {} frame{}", where, done,
                            done == 1 ? "" : "s"),
                "pass `resume` to continue it, or remove that folder to start over");
  }
  const std::string stored = text.substr(0, first_segment == 0 ? 0 : ends[first_segment - 1]);
  if (stored != header) {
    if (lines.size() < 2 || lines[0] != kFirstLine || lines[1] != identity) {
      throw Error(ErrorKind::usage, output_.string(),
                  fmt::format("cannot resume: the unfinished job in {} was for another input ({} "
                              "differs in size, time or content)",
                              where, input_name_),
                  "remove that folder to start over");
    }
    std::vector<std::pair<std::string, std::string>> now;
    for (std::size_t at = 0, nl = header.find('\n'); nl != std::string::npos;
         at = nl + 1, nl = header.find('\n', at)) {
      now.push_back(option_of(header.substr(at, nl - at)));
    }
    for (std::size_t i = 2; i < first_segment; ++i) {
      const auto was = option_of(lines[i]);
      for (const auto& n : now) {
        if (!n.first.empty() && n.first == was.first && n.second != was.second) {
          throw Error(ErrorKind::usage, output_.string(),
                      fmt::format("cannot resume: the unfinished job in {} was run with {} {}, "
                                  "not {}",
                                  where, was.first, was.second, n.second),
                      "run it with the same options, or remove that folder to start over");
        }
      }
    }
    throw Error(
        ErrorKind::usage, output_.string(),
        fmt::format("cannot resume: the unfinished job in {} was run with other options", where),
        "run it with the same options, or remove that folder to start over");
  }
  // The segments whose files are whole; the rest is done again.
  std::size_t good = 0;
  while (good < listed.size()) {
    const auto facts = io::segment_facts(segment_path(good));
    if (!facts || facts->bytes != listed[good].facts.bytes ||
        facts->digest != listed[good].facts.digest) {
      break;
    }
    ++good;
  }
  if (good < listed.size()) {
    notices_.push_back(
        fmt::format("segment {} in {} is damaged: its frames are done again", good + 1, where));
  }
  if (good == 0) return start_over();
  listed.resize(good);
  const std::size_t keep = ends[first_segment + good - 1];
  if (keep != text.size() && ::ftruncate(fd_.get(), static_cast<off_t>(keep)) != 0) {
    throw Error(ErrorKind::output, journal_.string(),
                fmt::format("cannot write: {}", std::strerror(errno)));
  }
  // Segment files past the journal's (or half-written ones) are made again.
  std::error_code ec;
  for (fs::directory_iterator it(folder_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind("segment-", 0) != 0) continue;
    const std::size_t index = std::strtoull(name.c_str() + 8, nullptr, 10);
    if (index >= good || name.ends_with(".part")) fs::remove(it->path(), ec);
  }
  segments_ = std::move(listed);
  resumed_ = true;
  return true;
}

void VideoJournal::append(const JournalSegment& segment) {
  io::write_all(fd_.get(), segment_line(segments_.size(), segment), journal_);
  if (::fsync(fd_.get()) != 0) {
    throw Error(ErrorKind::output, journal_.string(),
                fmt::format("cannot sync: {}", std::strerror(errno)));
  }
  segments_.push_back(segment);
}

void VideoJournal::remove() {
  fd_.reset();
  std::error_code ec;
  fs::remove_all(folder_, ec);
  io::sync_folder(output_.parent_path());
}

}  // namespace hires::pipeline
