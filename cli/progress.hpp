// A one-line progress bar with ETA on stderr, drawn only when stderr is a terminal.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace hires::cli {

class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled) {}
  void start(std::string label);
  // `fraction` of the current file; `overall` of the whole batch (< 0: a single file), which then
  // sets the ETA.
  void update(double fraction, double overall = -1.0);
  // Seconds left for the batch, from the time since the first start and the `overall` fraction
  // done; none before there is enough to go on.
  std::optional<double> batch_eta(double overall) const;
  void clear();  // erases the line so that other output can follow

 private:
  bool enabled_;
  bool drawn_ = false;
  std::string label_;
  std::chrono::steady_clock::time_point t0_;
  std::optional<std::chrono::steady_clock::time_point> batch_t0_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace hires::cli
