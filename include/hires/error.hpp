#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace hires {

// What went wrong, which decides the CLI's exit code (usage -> 2, the rest -> 1).
enum class ErrorKind {
  usage,     // a bad option value or a conflicting request
  input,     // missing, unreadable, corrupt or unsupported input
  limit,     // a size limit was exceeded
  output,    // the output cannot be written
  internal,  // a bug or a failure of a dependency
  cancelled  // the caller asked the run to stop (UpscaleOptions::cancel)
};

// Every error the library throws. what() is one line: "<subject>: <problem>[ (hint)]",
// where subject is the file or the option the problem is about, passed through printable().
// `text` safe to print: bytes that are not valid UTF-8 become "\xNN", and so do control
// characters (C0, DEL, and C1 as "\u0080".."\u009f") unless `keep_controls` — names read from
// files (tensor and layer names, file names) may carry terminal escape sequences.
std::string printable(std::string_view text, bool keep_controls = false);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& subject, const std::string& problem,
        const std::string& hint = {});

  ErrorKind kind() const noexcept { return kind_; }
  const std::string& subject() const noexcept { return subject_; }
  const std::string& problem() const noexcept { return problem_; }
  const std::string& hint() const noexcept { return hint_; }

 private:
  ErrorKind kind_;
  std::string subject_;
  std::string problem_;
  std::string hint_;
};

}  // namespace hires
