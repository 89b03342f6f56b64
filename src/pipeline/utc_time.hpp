// The time now, UTC, as ISO 8601 ("2026-12-03T08:47:00Z"): for manifests, shard logs and claims.
#pragma once

#include <chrono>
#include <ctime>
#include <string>

namespace hires::pipeline {

inline std::string utc_time() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace hires::pipeline
