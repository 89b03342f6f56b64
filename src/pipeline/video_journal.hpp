// The work folder of a resumable `hires video` job: ".NAME.hires-partial" beside the output,
// holding the encoded segments and a journal that names the input, the options that decide the
// output's frames, and each finished segment (its file fsync'd before its line is appended).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "io/durable_file.hpp"
#include "io/video.hpp"

namespace hires::pipeline {

struct JournalSegment {
  std::int64_t first = 0;   // the index of its first frame
  std::int64_t frames = 0;  // how many
  io::SegmentFacts facts;   // its file's size and digest
};

// What decides the output's frames, as (name, value) pairs in a fixed order. A name in `key`
// marks is an option's key (messages spell it as the option).
using JobOptions = std::vector<std::pair<std::string, std::string>>;

class VideoJournal {
 public:
  // ".out.mp4.hires-partial" for out.mp4.
  static std::filesystem::path folder_for(const std::filesystem::path& output);

  // Starts a job (the folder is made) or, with `resume`, continues the one in the folder, which
  // must be for the same input (size, time and first MiB) and options. A folder without any
  // finished segment is started over. Throws Error(usage) naming the output for a folder that
  // exists without `resume`, a job for another input or with other options, or a folder another
  // process is using; Error(output) when the folder cannot be made.
  VideoJournal(const std::filesystem::path& output, const std::filesystem::path& input,
               const JobOptions& options, bool resume);

  const std::filesystem::path& folder() const { return folder_; }
  const std::vector<JournalSegment>& segments() const { return segments_; }
  std::int64_t frames_done() const;
  bool resumed() const { return resumed_; }
  // Why some of the folder was not used (a damaged segment done again).
  const std::vector<std::string>& notices() const { return notices_; }

  std::filesystem::path segment_path(std::size_t index) const;
  // Records a segment whose file is committed: one line, fsync'd.
  void append(const JournalSegment& segment);
  // The job is done: the folder goes.
  void remove();

 private:
  void start(const std::string& header);
  bool load(const std::string& header, const std::string& input_line);

  std::filesystem::path output_, folder_, journal_;
  std::string input_name_;
  bool resume_ = false;
  std::vector<JournalSegment> segments_;
  std::vector<std::string> notices_;
  io::Fd fd_;  // the journal, open for appending and locked while the job runs
  bool resumed_ = false;
};

}  // namespace hires::pipeline
