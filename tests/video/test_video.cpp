// `hires video` end to end on clips made here with libav* encoders (tests/video/clips.cpp):
// size, frames and timing, copied audio/subtitle packets, rotation, colour tags, metadata, the
// image path's pixels, clear errors and a clean stop on SIGINT.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <thread>

#include "cli/cli_helpers.hpp"
#include "hires/pipeline.hpp"
#include "hires/video.hpp"
#include "io/video.hpp"
#include "support/test_support.hpp"
#include "video/clips.hpp"

namespace hires::test {
namespace {

vips::VImage frame_to_image(const io::VideoFrame& f) {
  init_vips();
  return vips::VImage::new_from_memory(const_cast<std::uint8_t*>(f.pixels.data()), f.pixels.size(),
                                       f.width, f.height, 3,
                                       f.u16 ? VIPS_FORMAT_USHORT : VIPS_FORMAT_UCHAR)
      .copy_memory();
}

io::VideoFrame first_frame(const fs::path& clip) {
  io::VideoInput in(clip);
  io::VideoFrame f;
  EXPECT_TRUE(in.next(f)) << clip;
  return f;
}

Size planned(Size in, const std::string& method, double scale) {
  UpscaleOptions o;
  set_method(o, method, {}, std::nullopt);
  o.size = SizeRequest::by_scale(scale);
  ImageFacts facts;
  facts.name = "clip";
  facts.size = in;
  return plan_upscale(facts, o).out;
}

int count_lines(const std::string& text) {
  return static_cast<int>(split_lines(text).size());
}

void expect_same_frames(const ClipProbe& a, const ClipProbe& b) {
  ASSERT_EQ(a.frame_times.size(), b.frame_times.size());
  for (std::size_t i = 0; i < a.frame_times.size(); ++i) {
    EXPECT_NEAR(a.frame_times[i], b.frame_times[i], 0.0011) << "frame " << i;
  }
}

TEST(Video, Mp4KeepsSizeFramesAudioRotationColourAndMetadata) {
  TempDir dir;
  ClipSpec spec;
  spec.audio_tracks = 2;
  spec.rotation = 90;
  const fs::path in = dir / "in.mp4", out = dir / "out.mp4";
  make_clip(in, spec);
  const auto r =
      run_hires({"video", in.string(), "-o", out.string(), "-m", "lanczos", "-s", "2", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(json_event(r.out, "start").is_null()) << r.out;
  const nlohmann::json done = json_event(r.out, "done");
  ASSERT_FALSE(done.is_null()) << r.out;
  EXPECT_EQ(done["frames"], 12);
  EXPECT_EQ(done["copied_streams"], 2);
  EXPECT_EQ(done["encoder"], "libx264");
  // Each stage's busy time: all three worked, none longer than the whole run.
  for (const char* stage : {"decode", "upscale", "encode"}) {
    const double s = done["stage_seconds"][stage].get<double>();
    EXPECT_GT(s, 0.0) << stage;
    EXPECT_LE(s, done["seconds"].get<double>()) << stage;
  }

  const ClipProbe a = probe_clip(in), b = probe_clip(out);
  const StreamProbe* va = a.first("video");
  const StreamProbe* vb = b.first("video");
  ASSERT_TRUE(va && vb);
  const Size want = planned({64, 48}, "lanczos", 2);
  EXPECT_EQ(vb->width, want.width);
  EXPECT_EQ(vb->height, want.height);
  EXPECT_EQ(vb->codec, "h264");
  expect_same_frames(a, b);
  EXPECT_NEAR(a.duration, b.duration, 1.0 / spec.fps);
  EXPECT_DOUBLE_EQ(vb->rotation, va->rotation);
  EXPECT_NE(va->rotation, 0);
  for (const StreamProbe* s : {va, vb}) {
    EXPECT_EQ(s->primaries, 1);  // BT.709
    EXPECT_EQ(s->transfer, 1);
    EXPECT_EQ(s->matrix, 1);
    EXPECT_EQ(s->range, 1);  // limited
  }
  EXPECT_EQ(b.metadata.at("title"), "hires test clip");
  EXPECT_EQ(b.metadata.at("creation_time"), a.metadata.at("creation_time"));
  std::vector<const StreamProbe*> audio_a, audio_b;
  for (const auto& s : a.streams) {
    if (s.type == "audio") audio_a.push_back(&s);
  }
  for (const auto& s : b.streams) {
    if (s.type == "audio") audio_b.push_back(&s);
  }
  ASSERT_EQ(audio_a.size(), 2u);
  ASSERT_EQ(audio_b.size(), 2u);
  for (std::size_t k = 0; k < 2; ++k) {
    ASSERT_FALSE(audio_a[k]->packets.empty());
    EXPECT_TRUE(audio_a[k]->packets == audio_b[k]->packets) << "audio track " << k;
  }
  EXPECT_TRUE(temp_leftovers(dir.path()).empty());
}

TEST(Video, MatroskaKeepsSubtitlesAndVariableFrameRate) {
  TempDir dir;
  ClipSpec spec;
  spec.vfr = true;
  spec.subtitles = true;
  spec.audio_tracks = 1;
  spec.frames = 10;
  spec.sar_num = 4;  // anamorphic: each pixel 4:3 wide
  spec.sar_den = 3;
  const fs::path in = dir / "in.mkv", out = dir / "out.mkv";
  make_clip(in, spec);
  const auto r = run_hires({"video", in.string(), "-o", out.string(), "-m", "lanczos", "--width",
                            "96", "--codec", "h265"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const ClipProbe a = probe_clip(in), b = probe_clip(out);
  const StreamProbe* vb = b.first("video");
  ASSERT_TRUE(vb);
  EXPECT_EQ(vb->width, 96);
  EXPECT_EQ(vb->height, 72);
  EXPECT_EQ(vb->codec, "hevc");
  EXPECT_EQ(vb->sar_num, 4);  // the same enlargement both ways: the same pixel shape
  EXPECT_EQ(vb->sar_den, 3);
  expect_same_frames(a, b);
  // Variable: the gaps between frames alternate.
  ASSERT_GE(b.frame_times.size(), 3u);
  EXPECT_GT(std::abs((b.frame_times[2] - b.frame_times[1]) - (b.frame_times[1] - b.frame_times[0])),
            0.02);
  for (const char* type : {"subtitle", "audio"}) {
    const StreamProbe* sa = a.first(type);
    const StreamProbe* sb = b.first(type);
    ASSERT_TRUE(sa && sb) << type;
    ASSERT_FALSE(sa->packets.empty());
    EXPECT_TRUE(sa->packets == sb->packets) << type;
    ASSERT_EQ(sa->packet_times.size(), sb->packet_times.size());
    for (std::size_t i = 0; i < sa->packet_times.size(); ++i) {
      EXPECT_NEAR(sa->packet_times[i], sb->packet_times[i], 0.0011) << type << " packet " << i;
    }
  }
}

TEST(Video, AFrameMatchesTheImagePath) {
  TempDir dir;
  ClipSpec spec;
  spec.encoder = "ffv1";
  spec.frames = 3;
  spec.metadata = false;
  const fs::path in = dir / "in.mkv";
  make_clip(in, spec);
  const fs::path png = dir / "frame.png";
  frame_to_image(first_frame(in)).write_to_file(png.c_str());
  // The same models and planner: lanczos, then the default (content-aware) model on one frame.
  for (const auto& [method, duration] :
       {std::pair<std::string, std::string>{"lanczos", ""}, {"", "0.04"}}) {
    const fs::path ref = dir / ("ref" + method + ".png"), out = dir / ("out" + method + ".mkv");
    std::vector<std::string> image_args{png.string(), "-s", "2", "-o", ref.string()};
    std::vector<std::string> video_args{"video", in.string(), "-o",      out.string(),
                                        "-s",    "2",         "--codec", "ffv1"};
    if (!method.empty()) {
      for (auto* args : {&image_args, &video_args}) {
        args->push_back("-m");
        args->push_back(method);
      }
    }
    if (!duration.empty()) {
      video_args.push_back("--duration");
      video_args.push_back(duration);
    }
    const auto ri = run_hires(image_args);
    ASSERT_EQ(ri.exit_code, 0) << ri.err;
    const auto rv = run_hires(video_args);
    ASSERT_EQ(rv.exit_code, 0) << rv.err;
    const vips::VImage got = frame_to_image(first_frame(out));
    const vips::VImage want = load(ref);
    ASSERT_EQ(got.width(), want.width());
    ASSERT_EQ(got.height(), want.height());
    EXPECT_GE(psnr(got, want.extract_band(0, vips::VImage::option()->set("n", 3))), 40.0)
        << (method.empty() ? "default model" : method);
    if (!duration.empty()) {
      EXPECT_EQ(probe_clip(out).frame_times.size(), 1u);
    }
  }
}

TEST(Video, TenBitStaysTenBit) {
  TempDir dir;
  ClipSpec spec;
  spec.encoder = "ffv1";
  spec.ten_bit = true;
  spec.frames = 4;
  const fs::path in = dir / "in10.mkv", out = dir / "out10.mkv";
  make_clip(in, spec);
  const io::VideoFrame f = first_frame(in);
  EXPECT_TRUE(f.u16);  // decoded as 16-bit RGB
  const auto r = run_hires({"video", in.string(), "-o", out.string(), "-m", "lanczos", "-s", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const ClipProbe b = probe_clip(out);
  ASSERT_TRUE(b.first("video"));
  EXPECT_EQ(b.first("video")->pixel_format, "yuv420p10le");
  EXPECT_EQ(b.frame_times.size(), 4u);
}

TEST(Video, StartAndDurationCutTheClipAndItsAudio) {
  TempDir dir;
  ClipSpec spec;
  spec.frames = 24;
  spec.audio_tracks = 1;
  spec.encoder = "ffv1";  // every frame a key frame
  const fs::path in = dir / "in.mkv", out = dir / "out.mkv";
  make_clip(in, spec);
  const auto r = run_hires({"video", in.string(), "-o", out.string(), "-m", "lanczos", "-s", "2",
                            "--start", "0.5", "--duration", "0.25"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const ClipProbe a = probe_clip(in), b = probe_clip(out);
  ASSERT_EQ(b.frame_times.size(), 6u);  // 12/24 s .. 17/24 s
  EXPECT_NEAR(b.frame_times[0], 0.0, 0.0011);
  EXPECT_NEAR(b.frame_times[5], 5.0 / 24, 0.0011);
  // The audio packets of that range, unchanged, shifted by the start. Times count from the
  // first video frame (Matroska delays the video by the AAC encoder's priming).
  const double t0 = a.frame_times.at(0);
  std::vector<std::string> want;
  double first_kept = -1;
  const StreamProbe* aa = a.first("audio");
  ASSERT_TRUE(aa);
  for (std::size_t i = 0; i < aa->packets.size(); ++i) {
    const double t = aa->packet_times[i] - t0;
    if (t >= 0.5 - 1e-6 && t < 0.75 - 1e-6) {
      if (want.empty()) first_kept = aa->packet_times[i];
      want.push_back(aa->packets[i]);
    }
  }
  ASSERT_TRUE(b.first("audio"));
  EXPECT_FALSE(want.empty());
  EXPECT_TRUE(b.first("audio")->packets == want);
  EXPECT_NEAR(b.first("audio")->packet_times[0], first_kept - (t0 + 0.5), 0.0011);
}

// --preview N: the first N frames from --start, audio cut to about their time, said so.
TEST(Video, PreviewTakesTheFirstFramesAndTheirAudio) {
  TempDir dir;
  ClipSpec spec;
  spec.frames = 24;
  spec.audio_tracks = 1;
  spec.encoder = "ffv1";
  const fs::path in = dir / "in.mkv", out = dir / "out.mkv";
  make_clip(in, spec);
  const auto r = run_hires({"video", in.string(), "-o", out.string(), "-m", "lanczos", "-s", "2",
                            "--start", "0.25", "--preview", "5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("notice: " + in.string() + ": preview: the first 5 frames only"),
            std::string::npos)
      << r.err;
  const ClipProbe b = probe_clip(out);
  ASSERT_EQ(b.frame_times.size(), 5u);
  EXPECT_NEAR(b.frame_times[4], 4.0 / 24, 0.0011);
  ASSERT_TRUE(b.first("audio"));
  const std::vector<double>& audio = b.first("audio")->packet_times;
  ASSERT_FALSE(audio.empty());
  EXPECT_LT(audio.back(), 5.5 / 24 + 0.03);  // no audio past the preview (one AAC packet of slack)
  EXPECT_EQ(
      run_hires({"video", in.string(), "-o", (dir / "x.mkv").string(), "--preview", "0"}).exit_code,
      2);
}

// review for clips: an upscale that is steady over time changes between frames as the source
// does (a still scene: hardly at all); one that flickers is flagged, with the numbers.
TEST(Video, ReviewMeasuresFlickerAgainstTheSource) {
  TempDir dir;
  ClipSpec spec;
  spec.frames = 12;
  spec.encoder = "ffv1";
  spec.still = true;
  const fs::path still = dir / "still.mkv", up = dir / "up.mkv", jumpy = dir / "jumpy.mkv";
  make_clip(still, spec);
  ASSERT_EQ(run_hires({"video", still.string(), "-o", up.string(), "-m", "lanczos", "-s", "2",
                       "--codec", "ffv1"})
                .exit_code,
            0);
  const VideoReview steady = review_video(still, up);
  EXPECT_EQ(steady.frames, 12);
  EXPECT_LT(steady.source_change, 0.5);
  EXPECT_LT(steady.output_change, steady.source_change + 0.5);
  EXPECT_LT(steady.added_flicker, 0.5);
  EXPECT_GT(steady.resemblance_psnr, 35);
  EXPECT_EQ(steady.verdict, ReviewVerdict::ok);

  spec.flicker = 6;  // +-6 levels, alternating: 12 levels of change every frame
  make_clip(jumpy, spec);
  const VideoReview bad = review_video(still, jumpy);
  EXPECT_GT(bad.output_change, 10);
  EXPECT_GT(bad.added_flicker, 10);
  EXPECT_EQ(bad.verdict, ReviewVerdict::fail);
  ASSERT_FALSE(bad.reasons.empty());
  EXPECT_EQ(bad.reasons[0].rfind("flickers: ", 0), 0U) << bad.reasons[0];

  const auto r = run_hires({"review", still.string(), jumpy.string(), "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(R"("verdict":"fail")"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(R"("frames":12)"), std::string::npos) << r.out;
}

TEST(Video, BadInputsGiveOneClearLine) {
  TempDir dir;
  const fs::path out = dir / "out.mp4";
  const fs::path png = dir / "still.png", text = dir / "notes.mp4", cut = dir / "cut.mp4";
  pattern_image(32, 24, 3, false).write_to_file(png.c_str());
  std::ofstream(text) << "not a video at all\n";
  const fs::path full = dir / "full.mp4";
  make_clip(full, ClipSpec{});
  {
    const std::string bytes = read_file(full);
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  for (const fs::path& bad : {png, text, cut}) {
    const auto r = run_hires({"video", bad.string(), "-o", out.string(), "-m", "lanczos"});
    EXPECT_EQ(r.exit_code, 1) << bad;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_TRUE(contains(r.err, "hires: error: " + bad.string() + ": ")) << r.err;
    EXPECT_FALSE(fs::exists(out));
  }
  const auto img = run_hires({"video", png.string(), "-o", out.string()});
  EXPECT_TRUE(contains(img.err, "is an image, not a video")) << img.err;
  // An existing output is kept unless --overwrite; an unknown codec is named.
  std::ofstream(out) << "keep me";
  auto r = run_hires({"video", full.string(), "-o", out.string(), "-m", "lanczos"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "exists (pass --overwrite to replace it)")) << r.err;
  EXPECT_EQ(read_file(out), "keep me");
  r = run_hires({"video", full.string(), "-o", (dir / "x.mp4").string(), "--codec", "mpeg2"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "--codec: unknown codec 'mpeg2'")) << r.err;
  // The video hint of the image command.
  r = run_hires({full.string(), "-o", (dir / "y.png").string()});
  EXPECT_TRUE(contains(r.err, "upscale videos with hires video")) << r.err;
  EXPECT_TRUE(temp_leftovers(dir.path()).empty());
}

TEST(Video, InterruptLeavesNoFileAtTheOutput) {
  TempDir dir;
  ClipSpec spec;
  spec.width = 320;
  spec.height = 240;
  spec.frames = 240;
  spec.metadata = false;
  const fs::path in = dir / "long.mp4", out = dir / "out.mp4";
  make_clip(in, spec);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    freopen("/dev/null", "w", stderr);
    freopen("/dev/null", "w", stdout);
    // Segments longer than the clip: none is finished when it stops, so nothing is kept.
    execl(HIRES_BINARY, HIRES_BINARY, "video", in.c_str(), "-o", out.c_str(), "-m", "lanczos", "-s",
          "4", "--segment", "100", static_cast<char*>(nullptr));
    _exit(127);
  }
  // Once the temporary output exists, frames are flowing: stop it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (temp_leftovers(dir.path()).empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  kill(pid, SIGINT);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_NE(WEXITSTATUS(status), 0);
  EXPECT_FALSE(fs::exists(out));
  EXPECT_TRUE(temp_leftovers(dir.path()).empty());
}

TEST(Video, SharedClipFirstFrames) {
  HIRES_REQUIRE_SHARED(shared, "datasets/edge/video");
  TempDir dir;
  const fs::path in = shared / "onepiece_demo.mp4", out = dir / "out.mp4";
  const auto r = run_hires(
      {"video", in.string(), "-o", out.string(), "-m", "lanczos", "-s", "2", "--duration", "0.4"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const ClipProbe a = probe_clip(in), b = probe_clip(out);
  const StreamProbe* va = a.first("video");
  const StreamProbe* vb = b.first("video");
  ASSERT_TRUE(va && vb);
  const Size want = planned({va->width, va->height}, "lanczos", 2);
  EXPECT_EQ(vb->width, want.width);
  EXPECT_EQ(vb->height, want.height);
  std::size_t expected = 0;
  for (double t : a.frame_times) expected += t < a.start_time + 0.4 ? 1 : 0;
  EXPECT_GE(expected, 5u);
  EXPECT_EQ(b.frame_times.size(), expected);
}

}  // namespace
}  // namespace hires::test
