#include "support/test_support.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>

namespace hires::test {

TempDir::TempDir() {
  std::random_device rd;
  path_ = fs::temp_directory_path() /
          ("hires-test-" + std::to_string(getpid()) + "-" + std::to_string(rd()));
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::optional<fs::path> shared_dir(const std::string& sub) {
  const char* env = std::getenv("HIRES_SHARED");
  const fs::path base =
      env != nullptr ? fs::path(env) : fs::path(HIRES_SOURCE_DIR) / ".." / "shared";
  const fs::path p = base / sub;
  if (fs::exists(p)) return p;
  return std::nullopt;
}

void init_vips() {
  static std::once_flag once;
  std::call_once(once, [] {
    VIPS_INIT("hires-tests");
    vips_cache_set_max(0);  // files rewritten in place must not be served from the cache
  });
}

namespace {
// Every test binary links this file: libvips is started before any test runs, so a test that
// opens an image first thing works when CTest runs it on its own.
[[maybe_unused]] const bool kVipsStarted = (init_vips(), true);
}  // namespace

vips::VImage pattern_image(int w, int h, int bands, bool sixteen_bit) {
  init_vips();
  const double peak = sixteen_bit ? 65535.0 : 255.0;
  vips::VImage xy = vips::VImage::xyz(w, h);
  vips::VImage x = xy[0];
  vips::VImage y = xy[1];
  std::vector<vips::VImage> planes;
  for (int b = 0; b < bands; ++b) {
    vips::VImage p =
        (x * (0.7 + 0.1 * b) / w + y * (0.2 + 0.05 * b) / h) * (peak * 0.6) + peak * 0.1 * b;
    planes.push_back(p);
  }
  vips::VImage out = vips::VImage::bandjoin(planes);
  out = out.cast(sixteen_bit ? VIPS_FORMAT_USHORT : VIPS_FORMAT_UCHAR);
  VipsInterpretation interp =
      bands <= 2 ? (sixteen_bit ? VIPS_INTERPRETATION_GREY16 : VIPS_INTERPRETATION_B_W)
                 : (sixteen_bit ? VIPS_INTERPRETATION_RGB16 : VIPS_INTERPRETATION_sRGB);
  return out.copy(vips::VImage::option()->set("interpretation", interp));
}

vips::VImage load(const fs::path& p) {
  init_vips();
  // Not copy_memory(): with the cache off, libvips 8.14's heifload leaves the ICC blob pointing
  // into the loader, which a memory copy would outlive.
  return vips::VImage::new_from_file(p.c_str());
}

std::vector<double> pixel(const vips::VImage& im, int x, int y) {
  return const_cast<vips::VImage&>(im).getpoint(x, y);
}

double psnr(const vips::VImage& a, const vips::VImage& b, double peak) {
  vips::VImage d = (a.cast(VIPS_FORMAT_DOUBLE) - b.cast(VIPS_FORMAT_DOUBLE));
  const double mse = (d * d).avg();
  if (mse <= 0) return 200.0;
  return 10.0 * std::log10(peak * peak / mse);
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {

// The binary where the user nobody can run it: a copy in a temporary folder open to all (the
// checkout may lie under a folder only root can enter).
std::string binary_for_nobody() {
  static const TempDir dir;
  static const std::string copy = [] {
    fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::group_read |
                                    fs::perms::group_exec | fs::perms::others_read |
                                    fs::perms::others_exec);
    const fs::path p = dir / "hires";
    fs::copy_file(HIRES_BINARY, p, fs::copy_options::overwrite_existing);
    fs::permissions(p, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                           fs::perms::others_read | fs::perms::others_exec);
    return p.string();
  }();
  return copy;
}

RunResult run_hires_as(const std::vector<std::string>& args, bool unprivileged) {
  const bool as_nobody = unprivileged && geteuid() == 0;
  std::string bin = as_nobody ? binary_for_nobody() : std::string(HIRES_BINARY);
  // stdout and stderr go to temporary files, so a large output cannot dead-lock the pipe.
  TempDir io;
  const fs::path out_path = io / "stdout";
  const fs::path err_path = io / "stderr";
  const pid_t pid = fork();
  if (pid == 0) {
    const int o = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int e = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int nul = open("/dev/null", O_RDONLY);
    dup2(o, 1);
    dup2(e, 2);
    dup2(nul, 0);
    if (as_nobody) {
      constexpr unsigned kNobody = 65534;
      if (setgroups(0, nullptr) != 0 || setgid(kNobody) != 0 || setuid(kNobody) != 0) _exit(126);
    }
    std::vector<char*> argv;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(out_path);
  r.err = read_file(err_path);
  return r;
}

}  // namespace

RunResult run_hires(const std::vector<std::string>& args) {
  return run_hires_as(args, false);
}

RunResult run_hires_unprivileged(const std::vector<std::string>& args) {
  return run_hires_as(args, true);
}

nlohmann::json json_event(const std::string& out, const std::string& type) {
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    if (!nlohmann::json::accept(line)) continue;
    auto j = nlohmann::json::parse(line);
    if (j.contains("event") && j["event"] == type) return j;
  }
  return {};
}

}  // namespace hires::test
