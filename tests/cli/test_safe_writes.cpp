// Hostile file-system cases of issue 17: outputs that are devices, FIFOs or folders, inputs that
// would never end, two writers racing for one output, signals during a write, hires' own temp
// files and output folder inside a walked tree, long names, and review reports.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli/cli_helpers.hpp"
#include "hires/error.hpp"
#include "io/atomic_file.hpp"
#include "support/test_support.hpp"

namespace hires::test {
namespace {

void write_image(const vips::VImage& im, const fs::path& p) {
  const_cast<vips::VImage&>(im).write_to_file(p.c_str());
}

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary);
  f << text;
}

class SafeWrites : public ::testing::Test {
 protected:
  void SetUp() override {
    in_ = dir_ / "in.png";
    write_image(pattern_image(16, 12, 3, false), in_);
    original_ = read_file(in_);
  }
  void TearDown() override { EXPECT_EQ(read_file(in_), original_); }

  TempDir dir_;
  fs::path in_;
  std::string original_;
};

// An existing output that is not a regular file is never replaced, --overwrite or not.
TEST_F(SafeWrites, OutputsThatAreNotRegularFilesAreRefusedEvenWithOverwrite) {
  const fs::path fifo = dir_ / "fifo.png";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const fs::path folder = dir_ / "folder.png";
  fs::create_directories(folder / "keep");
  for (const fs::path& target : {fs::path("/dev/null"), fifo}) {
    const RunResult r = run_hires({in_.string(), "-o", target.string(), "-m", "lanczos", "-s", "2",
                                   "-f", "png", "--overwrite"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    const std::string kind = target == fifo ? "a FIFO" : "a character device";
    EXPECT_TRUE(contains(r.err, target.string() + ": exists and is " + kind +
                                    "; hires only replaces regular files (choose another output "
                                    "path)"))
        << r.err;
  }
  struct stat st {};
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_THROW(io::check_output_target(folder), Error);
  EXPECT_TRUE(fs::is_directory(folder / "keep"));
  EXPECT_TRUE(temp_leftovers(dir_.path()).empty());
}

// FIFOs and devices given as input are refused up front instead of waiting forever.
TEST_F(SafeWrites, InputsThatAreFifosOrDevicesAreRefusedAtOnce) {
  const fs::path fifo = dir_ / "pipe.png";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const auto t0 = std::chrono::steady_clock::now();
  for (const fs::path& input : {fifo, fs::path("/dev/zero")}) {
    const RunResult r = run_hires({input.string(), "-o", (dir_ / "out.png").string(), "-m",
                                   "lanczos", "-s", "2", "--overwrite"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    const std::string kind = input == fifo ? "a FIFO" : "a character device";
    EXPECT_TRUE(contains(r.err, input.string() + ": is " + kind +
                                    ", not an image file (hires reads regular files only)"))
        << r.err;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(30));
  EXPECT_FALSE(fs::exists(dir_ / "out.png"));
}

// Permission problems are named as such, on the file they concern: an unreadable input is not
// "truncated or corrupt", an output folder hires cannot write into names the output (not a
// temporary file), an unreadable models folder is not silently empty. Run as nobody when the
// tests run as root, who is never refused.
TEST_F(SafeWrites, PermissionErrorsNameTheFileAndSaySo) {
  const fs::path open_dir = dir_ / "open";
  fs::create_directory(open_dir);
  fs::permissions(open_dir, fs::perms::all);
  const fs::path readable = open_dir / "in.png";
  fs::copy_file(in_, readable);
  fs::permissions(readable, fs::perms::all);
  // The set-up holds: as that user, a readable input goes into a writable folder.
  RunResult r = run_hires_unprivileged(
      {readable.string(), "-o", (open_dir / "ok.png").string(), "-m", "lanczos", "-s", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  const fs::path locked = open_dir / "locked.png";
  fs::copy_file(in_, locked);
  fs::permissions(locked, fs::perms::none);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{locked.string(), "-o", (open_dir / "out.png").string(), "-m",
                                 "lanczos"},
        std::vector<std::string>{"check", locked.string()}}) {
    r = run_hires_unprivileged(args);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_TRUE(has_line(r.err, "hires: error: " + locked.string() +
                                    ": cannot read: permission denied (check the permissions "
                                    "of the file and its folders)"))
        << r.err;
  }
  EXPECT_FALSE(fs::exists(open_dir / "out.png"));

  const fs::path shut = dir_ / "shut";  // owned by the tests' user, 0755: others cannot write
  fs::create_directory(shut);
  fs::permissions(shut, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec);
  r = run_hires_unprivileged(
      {readable.string(), "-o", (shut / "out.png").string(), "-m", "lanczos", "-s", "2"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(has_line(r.err, "hires: error: " + (shut / "out.png").string() +
                                  ": cannot write into " + shut.string() +
                                  ": permission denied (choose another output folder)"))
      << r.err;
  EXPECT_TRUE(fs::is_empty(shut));

  const fs::path models = dir_ / "models";
  fs::create_directory(models);
  fs::permissions(models, fs::perms::owner_all);
  r = run_hires_unprivileged({"models", "--models-dir", models.string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(has_line(r.err, "hires: error: " + models.string() +
                                  ": cannot read the models folder: permission denied (check the "
                                  "folder's permissions)"))
      << r.err;
}

// Create-if-absent: a file that appeared while hires worked is not replaced without --overwrite.
TEST(AtomicFile, PublishNeverReplacesWithoutOverwrite) {
  TempDir dir;
  const fs::path target = dir / "out.png";
  {
    io::TempFile t(target);
    write_text(t.path(), "mine");
    write_text(target, "theirs");
    try {
      t.publish(false);
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), target.string() +
                                           ": exists now (another process wrote it while hires "
                                           "worked) (pass `overwrite` to replace it)");
    }
  }
  EXPECT_EQ(read_file(target), "theirs");
  {
    io::TempFile t(target);
    write_text(t.path(), "mine");
    t.publish(true);
  }
  EXPECT_EQ(read_file(target), "mine");
  {
    io::TempFile t(dir / "new.png");
    write_text(t.path(), "fresh");
    t.publish(false);
  }
  EXPECT_EQ(read_file(dir / "new.png"), "fresh");
  EXPECT_TRUE(temp_leftovers(dir.path()).empty());
}

// SIGINT, SIGTERM and SIGHUP during a write remove the temp file, then end the process as the
// signal would.
TEST(AtomicFile, SignalsRemoveLiveTempFiles) {
  for (const int sig : {SIGINT, SIGTERM, SIGHUP}) {
    TempDir dir;
    const fs::path target = dir / "out.png";
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      io::TempFile t(target);
      write_text(t.path(), "partial");
      ::raise(sig);
      ::_exit(3);  // not reached
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFSIGNALED(status)) << status;
    if (WIFSIGNALED(status)) {
      EXPECT_EQ(WTERMSIG(status), sig);
    }
    EXPECT_TRUE(temp_leftovers(dir.path()).empty());
    EXPECT_FALSE(fs::exists(target));
  }
}

TEST(AtomicFile, TempNamesFitNameMaxAndAreRecognised) {
  const std::string long_name = std::string(250, 'a') + ".png";
  const fs::path t = io::temp_path_for(fs::path("/x") / long_name);
  EXPECT_LE(t.filename().string().size(), 255U);
  EXPECT_EQ(t.extension(), ".png");
  EXPECT_TRUE(io::is_temp_name(t.filename().string()));
  EXPECT_TRUE(io::is_temp_name(io::temp_path_for("dir/a.jpg").filename().string()));
  EXPECT_FALSE(io::is_temp_name("a.png"));
  EXPECT_FALSE(io::is_temp_name(".hidden.png"));
}

// A 245-character output name: the temp name once went past NAME_MAX.
TEST_F(SafeWrites, LongOutputNamesWork) {
  const fs::path out = dir_ / (std::string(241, 'n') + ".png");
  const RunResult r = run_hires({in_.string(), "-o", out.string(), "-m", "lanczos", "-s", "2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(load_fresh(out).width(), 32);
  EXPECT_TRUE(temp_leftovers(dir_.path()).empty());
}

// A file name carrying a terminal control sequence is shown escaped on the terminal (the done
// line and notices), and as it is in the JSON events.
TEST_F(SafeWrites, NamesWithControlCharactersAreShownEscaped) {
  const fs::path evil = dir_ / "evil\x1b[31mred.png";
  fs::copy_file(in_, evil);
  const fs::path out = dir_ / "out\x1b]0;title\x07.png";
  const RunResult r = run_hires({evil.string(), "-o", out.string(), "-m", "lanczos", "-s", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\x07'), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("evil\\x1b[31mred.png -> "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("out\\x1b]0;title\\x07.png (16x12 -> 32x24"), std::string::npos) << r.err;
  EXPECT_EQ(load_fresh(out).width(), 32);
}

// -r over a tree that holds a temp file left by a killed run, and the output folder itself:
// neither is an input, so the same command runs again (it used to exit 2, "is an input file").
TEST(SafeWalks, RerunWithOutputInsideTheInputTree) {
  TempDir dir;
  const fs::path in = dir / "photos";
  fs::create_directories(in / "sub");
  write_image(pattern_image(16, 12, 3, false), in / "a.png");
  write_image(pattern_image(10, 10, 3, false), in / "sub" / "b.png");
  write_text(in / ".a.png.hires-123-0.tmp.png", "left by a killed run");
  const fs::path out = in / "big";
  const std::vector<std::string> cmd = {in.string(), "-r",      "-o", out.string(),
                                        "-m",        "lanczos", "-s", "2"};
  RunResult r = run_hires(cmd);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has_line(r.err, "hires: 2 done, 0 skipped, 0 failed")) << r.err;
  r = run_hires(cmd);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has_line(r.err, "hires: 0 done, 2 skipped, 0 failed")) << r.err;
  EXPECT_FALSE(fs::exists(out / "big"));
  EXPECT_FALSE(fs::exists(out / ".a.png.hires-123-0.tmp.png"));
}

// `hires review A B --report DIR` never writes over files that are not its own report.
TEST_F(SafeWrites, ReviewReportNeverReplacesOtherFiles) {
  const fs::path up = dir_ / "upscaled.png";
  ASSERT_EQ(run_hires({in_.string(), "-o", up.string(), "-m", "lanczos", "-s", "2"}).exit_code, 0);
  const std::string up_bytes = read_file(up);
  // The folder holding the inputs (original.png / upscaled.png would be replaced).
  RunResult r = run_hires({"review", in_.string(), up.string(), "--report", dir_.path().string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, dir_.path().string() +
                                  ": is a folder with other files in it, not a hires report (no "
                                  "hires-review.txt)"))
      << r.err;
  EXPECT_EQ(read_file(up), up_bytes);
  // A file.
  write_text(dir_ / "notes.txt", "keep");
  r = run_hires({"review", in_.string(), up.string(), "--report", (dir_ / "notes.txt").string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "notes.txt: exists and is not a folder")) << r.err;
  EXPECT_EQ(read_file(dir_ / "notes.txt"), "keep");
  // A new folder, then the same one again (its own report).
  const fs::path report = dir_ / "report";
  for (int run = 0; run < 2; ++run) {
    r = run_hires({"review", in_.string(), up.string(), "--report", report.string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(fs::exists(report / "index.html"));
    EXPECT_TRUE(fs::exists(report / "hires-review.txt"));
  }
  EXPECT_TRUE(temp_leftovers(dir_.path()).empty());
}

}  // namespace
}  // namespace hires::test
