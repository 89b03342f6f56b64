// Files that survive a kill or a power loss: a descriptor that closes itself, writes that finish
// or throw, fsync of a file and of its folder, and a cheap digest to tell files apart.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

namespace hires::io {

// A file descriptor, closed when it goes.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    reset();
    fd_ = std::exchange(o.fd_, -1);
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset();

 private:
  int fd_;
};

// Writes all of `bytes` to `fd`; throws Error(output) naming `path`.
void write_all(int fd, std::string_view bytes, const std::filesystem::path& path);
// fsync of the file and of the folder that holds its name (best effort: no error).
void sync_file(const std::filesystem::path& path);
// fsync of a folder (its entries: files made, renamed or removed in it).
void sync_folder(const std::filesystem::path& folder);

// FNV-1a 64 over `bytes`, continuing from `seed` (a new digest starts from kDigestSeed).
inline constexpr std::uint64_t kDigestSeed = 14695981039346656037ULL;
std::uint64_t digest(std::string_view bytes, std::uint64_t seed = kDigestSeed);
// The digest of the first `limit` bytes of a file (all of it when shorter); throws Error(input).
std::uint64_t file_digest(const std::filesystem::path& path, std::uint64_t limit);

}  // namespace hires::io
