#include "io/durable_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "hires/error.hpp"

namespace hires::io {
namespace fs = std::filesystem;

void Fd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void write_all(int fd, std::string_view bytes, const fs::path& path) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      throw Error(ErrorKind::output, path.string(),
                  fmt::format("cannot write: {}", std::strerror(errno)));
    }
    done += static_cast<std::size_t>(n);
  }
}

void sync_folder(const fs::path& folder) {
  Fd dir(::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.valid()) ::fsync(dir.get());
}

void sync_file(const fs::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.valid()) ::fsync(fd.get());
  sync_folder(path.parent_path());
}

std::uint64_t digest(std::string_view bytes, std::uint64_t seed) {
  std::uint64_t h = seed;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

std::uint64_t file_digest(const fs::path& path, std::uint64_t limit) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    throw Error(ErrorKind::input, path.string(),
                fmt::format("cannot read: {}", std::strerror(errno)));
  }
  std::vector<char> buf(1 << 16);
  std::uint64_t h = kDigestSeed;
  while (limit > 0) {
    const ssize_t n = ::read(fd.get(), buf.data(), std::min<std::uint64_t>(buf.size(), limit));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      throw Error(ErrorKind::input, path.string(),
                  fmt::format("cannot read: {}", std::strerror(errno)));
    }
    if (n == 0) break;
    h = digest(std::string_view(buf.data(), static_cast<std::size_t>(n)), h);
    limit -= static_cast<std::uint64_t>(n);
  }
  return h;
}

}  // namespace hires::io
