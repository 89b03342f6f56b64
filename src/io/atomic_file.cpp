#include "io/atomic_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <regex>

#include "hires/error.hpp"

namespace hires::io {
namespace fs = std::filesystem;

namespace {

// ---- the registry of live temp files, read by the signal handler -----------------------------

constexpr int kSlots = 64;
constexpr std::size_t kPathMax = 4096;

// A slot is free (0), being filled or emptied (1) or holds a live path (2). The handler reads
// only slots in state 2, whose path is complete.
struct Slot {
  std::atomic<int> state{0};
  std::array<char, kPathMax> path{};
};
std::array<Slot, kSlots> g_slots;

void unlink_live_temps() {
  for (Slot& s : g_slots) {
    if (s.state.load() == 2) ::unlink(s.path.data());
  }
}

extern "C" void on_fatal_signal(int sig) {
  unlink_live_temps();
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

// Installs the handler for SIGINT, SIGTERM and SIGHUP where nobody else handles them.
void install_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (const int sig : {SIGINT, SIGTERM, SIGHUP}) {
      struct sigaction old {};
      if (::sigaction(sig, nullptr, &old) != 0) continue;
      if (old.sa_handler != SIG_DFL || (old.sa_flags & SA_SIGINFO) != 0) continue;
      struct sigaction sa {};
      sa.sa_handler = on_fatal_signal;
      sigemptyset(&sa.sa_mask);
      ::sigaction(sig, &sa, nullptr);
    }
  });
}

// A slot holding `p`, or -1 when all are taken or the path is too long (then only the
// destructor's clean-up applies).
int register_temp(const fs::path& p) {
  install_handlers();
  const std::string s = p.string();
  if (s.size() >= kPathMax) return -1;
  for (int i = 0; i < kSlots; ++i) {
    int expected = 0;
    if (g_slots[i].state.compare_exchange_strong(expected, 1)) {
      std::memcpy(g_slots[i].path.data(), s.c_str(), s.size() + 1);
      g_slots[i].state.store(2);
      return i;
    }
  }
  return -1;
}

void unregister_temp(int slot) {
  if (slot < 0) return;
  g_slots[slot].state.store(1);
  g_slots[slot].path[0] = '\0';
  g_slots[slot].state.store(0);
}

[[noreturn]] void output_error(const fs::path& target, const std::string& problem,
                               const std::string& hint = {}) {
  throw Error(ErrorKind::output, target.string(), problem, hint);
}

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// Shortens `s` to at most `n` bytes without cutting a UTF-8 sequence.
std::string utf8_prefix(const std::string& s, std::size_t n) {
  if (s.size() <= n) return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0U) == 0x80U) --n;
  return s.substr(0, n);
}

}  // namespace

void check_output_target(const fs::path& target) {
  struct stat st {};
  if (::stat(target.c_str(), &st) != 0) return;  // absent (or unreachable: the write says so)
  if (!S_ISREG(st.st_mode)) {
    output_error(
        target,
        fmt::format("exists and is {}; hires only replaces regular files", kind_of(st.st_mode)),
        "choose another output path");
  }
}

void check_input_file(const fs::path& input) {
  struct stat st {};
  if (::stat(input.c_str(), &st) != 0) {
    if (errno == EACCES) {  // a folder on the way cannot be searched
      throw Error(ErrorKind::input, input.string(), "cannot read: permission denied",
                  "check the permissions of the file and its folders");
    }
    return;  // the decoder reports missing files
  }
  if (!S_ISREG(st.st_mode)) {
    throw Error(ErrorKind::input, input.string(),
                fmt::format("is {}, not an image file", kind_of(st.st_mode)),
                "hires reads regular files only");
  }
  // Unreadable files would otherwise reach the decoder and be called corrupt.
  const int fd = ::open(input.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw Error(ErrorKind::input, input.string(),
                std::string("cannot read: ") +
                    (errno == EACCES ? "permission denied" : std::strerror(errno)),
                errno == EACCES ? "check the permissions of the file and its folders" : "");
  }
  ::close(fd);
}

bool is_temp_name(const std::string& name) {
  static const std::regex pattern(R"(^\..*\.hires-[0-9]+-[0-9]+\.tmp(\.[^/]*)?$)");
  return std::regex_match(name, pattern);
}

fs::path temp_path_for(const fs::path& target) {
  static std::atomic<unsigned> counter{0};
  const std::string ext = utf8_prefix(target.extension().string(), 16);
  const std::string tail = fmt::format(".hires-{}-{}.tmp{}", getpid(), counter++, ext);
  // NAME_MAX is 255 bytes on every file system hires writes to; "." + name + tail must fit.
  constexpr std::size_t kNameMax = 255;
  const std::string name = utf8_prefix(target.filename().string(), kNameMax - 1 - tail.size());
  return target.parent_path() / ("." + name + tail);
}

TempFile::TempFile(const fs::path& target) : target_(target), temp_(temp_path_for(target)) {
  slot_ = register_temp(temp_);
  // Made now, empty, so that a folder hires cannot write into fails here, naming the output and
  // its folder (not later, inside an encoder, naming the temporary file).
  const int fd = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) {
    const int err = errno;
    unregister_temp(slot_);
    slot_ = -1;
    published_ = true;  // nothing to remove
    const fs::path folder = target.parent_path().empty() ? fs::path(".") : target.parent_path();
    output_error(target,
                 fmt::format("cannot write into {}: {}", folder.string(),
                             err == EACCES ? "permission denied" : std::strerror(err)),
                 err == EACCES || err == EROFS ? "choose another output folder" : "");
  }
  ::close(fd);
}

TempFile::~TempFile() {
  if (!published_) ::unlink(temp_.c_str());
  unregister_temp(slot_);
}

void TempFile::publish(bool replace) {
  check_output_target(target_);
  if (replace) {
    if (::rename(temp_.c_str(), target_.c_str()) != 0) {
      output_error(target_,
                   std::string("cannot move the finished file in place: ") + std::strerror(errno));
    }
  } else {
    int rc = ::renameat2(AT_FDCWD, temp_.c_str(), AT_FDCWD, target_.c_str(), RENAME_NOREPLACE);
    if (rc != 0 && (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP)) {
      // The file system cannot rename without replacing: link() fails when the target exists.
      rc = ::link(temp_.c_str(), target_.c_str());
      if (rc == 0) ::unlink(temp_.c_str());
    }
    if (rc != 0 && errno == EEXIST) {
      output_error(target_, "exists now (another process wrote it while hires worked)",
                   "pass `overwrite` to replace it");
    }
    if (rc != 0) {
      output_error(target_,
                   std::string("cannot move the finished file in place: ") + std::strerror(errno));
    }
  }
  published_ = true;
  unregister_temp(slot_);
  slot_ = -1;
}

}  // namespace hires::io
