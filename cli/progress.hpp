// A one-line progress bar with ETA on stderr, drawn only when stderr is a terminal.
#pragma once

#include <chrono>
#include <string>

namespace hires::cli {

class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled) {}
  void start(std::string label);
  void update(double fraction);
  void clear();  // erases the line so that other output can follow

 private:
  bool enabled_;
  bool drawn_ = false;
  std::string label_;
  std::chrono::steady_clock::time_point t0_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace hires::cli
