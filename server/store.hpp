// The web app's files: a private folder (mode 0700) that holds each uploaded image and what was
// made of it, under names the server makes up; removed when the server stops, and per image
// after it has not been used for a while (the TTL).
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "hires/pipeline.hpp"

namespace hires::server {

using Clock = std::chrono::steady_clock;

struct StoredImage {
  std::string id;
  std::string name;            // the client's file name: shown and used for download names only
  std::filesystem::path dir;   // its folder in the store
  std::filesystem::path path;  // the uploaded bytes
  ImageFacts facts;            // with measures, for plans
  std::string check_json;      // `hires check --json` of the image
  Clock::time_point used;
  std::atomic<int> busy{0};
  std::mutex
      mutex;  // making its view and thumbnail  // jobs running on it: the sweep leaves it alone
};

class Store {
 public:
  // Creates the private folder under `parent` (the system's temporary folder when empty).
  Store(const std::filesystem::path& parent, std::chrono::seconds ttl);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::filesystem::path& root() const { return root_; }

  // A new id (32 random hex digits) and its empty folder in the store.
  std::pair<std::string, std::filesystem::path> make_folder();
  void add(std::shared_ptr<StoredImage> image);
  // The image with this id, marked as used now; nullptr when there is none (or it expired).
  std::shared_ptr<StoredImage> find(const std::string& id);
  bool remove(const std::string& id);
  // Removes images not used for the TTL; returns how many.
  std::size_t sweep();
  std::size_t size() const;

 private:
  std::filesystem::path root_;
  std::chrono::seconds ttl_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<StoredImage>> images_;
};

// 32 hex digits from the system's random source (ids and access tokens).
std::string random_hex();
// A file name as a client gave it, safe to show and to offer as a download name: its last path
// component, without control characters or quotes, at most 100 characters; "image" when nothing
// is left.
std::string safe_name(std::string_view name);

}  // namespace hires::server
