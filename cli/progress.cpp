#include "progress.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <cstdio>

namespace hires::cli {

void ProgressBar::start(std::string label) {
  label_ = std::move(label);
  t0_ = std::chrono::steady_clock::now();
  if (!batch_t0_) batch_t0_ = t0_;
  last_ = {};
  update(0.0);
}

std::optional<double> ProgressBar::batch_eta(double overall) const {
  if (!batch_t0_ || overall <= 0.0) return std::nullopt;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - *batch_t0_).count();
  return elapsed * (1.0 - std::min(overall, 1.0)) / overall;
}

void ProgressBar::update(double fraction, double overall) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (fraction < 1.0 && drawn_ && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  fraction = std::clamp(fraction, 0.0, 1.0);
  constexpr int kWidth = 24;
  const int filled = static_cast<int>(fraction * kWidth);
  const double elapsed = std::chrono::duration<double>(now - t0_).count();
  std::string eta = "--";
  if (overall >= 0.0) {
    if (const auto left = batch_eta(overall)) eta = fmt::format("{:.0f}s", *left);
  } else if (fraction > 0.0) {
    eta = fmt::format("{:.0f}s", elapsed * (1.0 - fraction) / fraction);
  }
  std::string label = label_;
  if (label.size() > 40) label = "..." + label.substr(label.size() - 37);
  const std::string all = overall >= 0.0 ? fmt::format(" (all {:.0f}%)", overall * 100) : "";
  fmt::print(stderr, "\r\033[K{} [{}{}] {:3.0f}%{} ETA {}", label, std::string(filled, '#'),
             std::string(kWidth - filled, '.'), fraction * 100, all, eta);
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::clear() {
  if (enabled_ && drawn_) {
    fmt::print(stderr, "\r\033[K");
    std::fflush(stderr);
  }
  drawn_ = false;
}

}  // namespace hires::cli
