// `hires video --resume`: a job killed (kill -9) or stopped (Ctrl-C) after some segments
// continues from its last finished one and makes the same file as a run never stopped; a
// resume of another input or with other options is refused with the reason.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "cli/cli_helpers.hpp"
#include "io/video.hpp"
#include "support/test_support.hpp"
#include "video/clips.hpp"

namespace hires::test {
namespace {

// Starts hires with `args` in the background (output thrown away).
pid_t start_hires(const std::vector<std::string>& args) {
  std::vector<std::string> all{HIRES_BINARY};
  all.insert(all.end(), args.begin(), args.end());
  const pid_t pid = fork();
  if (pid == 0) {
    freopen("/dev/null", "w", stderr);
    freopen("/dev/null", "w", stdout);
    std::vector<char*> argv;
    for (std::string& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(HIRES_BINARY, argv.data());
    _exit(127);
  }
  return pid;
}

int journaled_segments(const fs::path& folder) {
  int n = 0;
  for (const std::string& line : split_lines(read_file(folder / "journal"))) {
    n += line.rfind("segment ", 0) == 0 ? 1 : 0;
  }
  return n;
}

// Waits until the job's journal lists more than `after` segments, then sends `sig`. False when
// the job ended first.
bool signal_after_segments(pid_t pid, const fs::path& folder, int after, int sig) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(folder / "journal") && journaled_segments(folder) > after) {
      kill(pid, sig);
      return true;
    }
    if (waitpid(pid, nullptr, WNOHANG) == pid) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

// Every decoded frame of both clips, pixel for pixel.
void expect_same_pixels(const fs::path& a, const fs::path& b) {
  io::VideoInput ia(a), ib(b);
  io::VideoFrame fa, fb;
  int n = 0;
  while (ia.next(fa)) {
    ASSERT_TRUE(ib.next(fb)) << "frame " << n << " missing";
    ASSERT_EQ(fa.pts, fb.pts) << "frame " << n;
    ASSERT_TRUE(fa.pixels == fb.pixels) << "frame " << n << " differs";
    ++n;
  }
  EXPECT_FALSE(ib.next(fb)) << "more frames than " << n;
  EXPECT_GT(n, 0);
}

TEST(VideoResume, AKilledJobResumesToTheSameFile) {
  TempDir dir;
  ClipSpec spec;
  spec.width = 160;
  spec.height = 120;
  spec.frames = 96;
  spec.audio_tracks = 2;
  const fs::path in = dir / "in.mp4", full = dir / "full.mp4", out = dir / "out.mp4";
  const fs::path folder = dir / ".out.mp4.hires-partial";
  make_clip(in, spec);
  // 0.25 s of 24 frames/s: segments of 6 frames.
  const auto args = [&](const fs::path& o, std::vector<std::string> more = {},
                        const std::string& scale = "4") {
    std::vector<std::string> a{"video",   in.string(), "-o",   o.string(), "-m",
                               "lanczos", "--segment", "0.25", "-s",       scale};
    a.insert(a.end(), more.begin(), more.end());
    return a;
  };
  const auto whole = run_hires(args(full, {"--json"}));
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  EXPECT_EQ(json_event(whole.out, "done")["segments"], 16);
  EXPECT_FALSE(fs::exists(dir / ".full.mp4.hires-partial"));  // removed on success

  // kill -9 once a segment is journaled: no output, the work folder stays.
  pid_t pid = start_hires(args(out));
  ASSERT_TRUE(signal_after_segments(pid, folder, 0, SIGKILL)) << "the job ended before a kill";
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_FALSE(fs::exists(out));
  const int killed_at = journaled_segments(folder);
  ASSERT_GE(killed_at, 1);

  // Without --resume, with other options, or for another input: refused, saying why.
  auto r = run_hires(args(out));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "hires: error: " + out.string() + ": the unfinished job in " +
                                  folder.string() + " stopped after "))
      << r.err;
  EXPECT_TRUE(
      contains(r.err, "(pass --resume to continue it, or remove that folder to start over)"))
      << r.err;
  r = run_hires(args(out, {"--resume", "--crf", "20"}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, ": cannot resume: the unfinished job in " + folder.string() +
                                  " was run with --crf 18, not 20 (run it with the same options"))
      << r.err;
  r = run_hires(args(out, {"--resume"}, "2"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "was run with size 640x480, not 320x240")) << r.err;
  const fs::path kept = dir / "kept.mp4";
  fs::rename(in, kept);  // keeps its time
  ClipSpec other = spec;
  other.still = true;
  make_clip(in, other);
  r = run_hires(args(out, {"--resume"}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "was for another input (" + in.string() +
                                  " differs in size, time or content) (remove that folder"))
      << r.err;
  fs::rename(kept, in);
  EXPECT_EQ(journaled_segments(folder), killed_at);  // refusals change nothing

  // Ctrl-C during the resumed run: a clean stop that keeps what is finished.
  pid = start_hires(args(out, {"--resume"}));
  ASSERT_TRUE(signal_after_segments(pid, folder, killed_at, SIGINT)) << "the job ended first";
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  EXPECT_FALSE(fs::exists(out));
  const int stopped_at = journaled_segments(folder);
  EXPECT_GT(stopped_at, killed_at);

  r = run_hires(args(out, {"--resume", "--json"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json done = json_event(r.out, "done");
  EXPECT_EQ(done["frames"], 96);
  EXPECT_EQ(done["resumed_frames"], stopped_at * 6);
  EXPECT_EQ(done["segments"], 16 - stopped_at);
  EXPECT_FALSE(fs::exists(folder));

  // The same frames, video packets, audio packets and timestamps: the same bytes.
  expect_same_pixels(full, out);
  const ClipProbe a = probe_clip(full), b = probe_clip(out);
  ASSERT_EQ(a.streams.size(), 3u);
  ASSERT_EQ(b.streams.size(), a.streams.size());
  for (std::size_t s = 0; s < a.streams.size(); ++s) {
    EXPECT_EQ(a.streams[s].type, b.streams[s].type);
    EXPECT_FALSE(a.streams[s].packets.empty());
    EXPECT_TRUE(a.streams[s].packets == b.streams[s].packets) << "stream " << s;
    EXPECT_TRUE(a.streams[s].packet_times == b.streams[s].packet_times) << "stream " << s;
  }
  EXPECT_TRUE(read_file(full) == read_file(out));
  // And the audio is the source's.
  const ClipProbe src = probe_clip(in);
  EXPECT_TRUE(src.streams[1].packets == b.streams[1].packets);
  EXPECT_TRUE(temp_leftovers(dir.path()).empty());
}

// Resuming with nothing to resume starts from the beginning and says so; a work folder with no
// finished segment (killed in its first) is started over without --resume.
TEST(VideoResume, NothingToResumeStartsOver) {
  TempDir dir;
  ClipSpec spec;
  spec.frames = 6;
  const fs::path in = dir / "in.mp4", out = dir / "out.mp4";
  make_clip(in, spec);
  auto r = run_hires({"video", in.string(), "-o", out.string(), "-m", "lanczos", "--resume"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "nothing to resume in " + (dir / ".out.mp4.hires-partial").string() +
                                  ": started from the beginning"))
      << r.err;
  const fs::path out2 = dir / "out2.mp4", folder = dir / ".out2.mp4.hires-partial";
  fs::create_directory(folder);
  std::ofstream(folder / "journal") << "hires video job 1\ninput 1 2 3\n";
  r = run_hires({"video", in.string(), "-o", out2.string(), "-m", "lanczos"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(folder));
  EXPECT_EQ(probe_clip(out2).frame_times.size(), 6u);
}

}  // namespace
}  // namespace hires::test
