#pragma once

#include <stdexcept>
#include <string>

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
// where subject is the file or the option the problem is about.
class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string subject, std::string problem, std::string hint = {});

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
