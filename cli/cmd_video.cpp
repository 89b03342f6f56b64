// `hires video IN -o OUT`: a clip through the image path, frame by frame (include/hires/video.hpp).
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.hpp"
#include "hires/error.hpp"
#include "hires/models.hpp"
#include "hires/pipeline.hpp"
#include "hires/video.hpp"
#include "option_table.hpp"
#include "sizing.hpp"
#include "upscale_args.hpp"

namespace hires::cli {
namespace {

using nlohmann::json;

struct VideoArgs {
  std::string input, output;
  SizingArgs sizing;
  TableArgs options;  // the table's options video takes: model, restore, engine, output, report
  std::string codec = "h264", start, duration;
  int preview = 0;
  int crf = 18;
  double segment = 5;
  bool resume = false;
  bool json = false, quiet = false;  // read from `options` when the run starts
};

std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int /*signal*/) {
  g_stop.store(true);
}

// "90", "1.5", "1:30", "0:01:30.5" -> seconds.
double parse_time(const std::string& option, const std::string& text) {
  double total = 0;
  std::size_t pos = 0;
  int parts = 0;
  while (true) {
    const std::size_t colon = text.find(':', pos);
    const std::string part = text.substr(pos, colon == std::string::npos ? colon : colon - pos);
    char* end = nullptr;
    const double v = std::strtod(part.c_str(), &end);
    if (part.empty() || end != part.c_str() + part.size() || !(v >= 0) || ++parts > 3) {
      throw Error(ErrorKind::usage, option, fmt::format("'{}' is not a time", text),
                  "seconds (90, 1.5) or [h:]m:s (1:30)");
    }
    total = total * 60 + v;
    if (colon == std::string::npos) break;
    pos = colon + 1;
  }
  return total;
}

std::string clock_text(double seconds) {
  const long s = std::lround(seconds);
  return s >= 3600 ? fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
                   : fmt::format("{}:{:02}", s / 60, s % 60);
}

void emit(const json& j) {
  std::cout << j.dump() << '\n' << std::flush;
}

int run_video(VideoArgs& a) {
  VideoOptions o;
  const std::optional<SizeRequest> size =
      parse_sizing(a.sizing, "conflict: choose one sizing option",
                   "`scale`, `width`, `height`, `fit` or `long_edge`");
  OptionValues values = a.options.values();
  OptionValues sizes = a.sizing.options.values();
  values.merge(sizes);
  // The image path's request: model and strength, size (a named model's own scale when none is
  // given), tile, memory, engine, threads. Without a model or a size, video doubles.
  o.upscale = upscale_options_from(values, model_dirs(a.options.list("models_dir")));
  if (!size && !o.upscale.model) o.upscale.size = SizeRequest::by_scale(2.0);
  check_gpu_choice(o.upscale);
  o.codec = parse_video_codec("--codec", a.codec);
  o.crf = a.crf;
  if (!a.start.empty()) o.start = parse_time("--start", a.start);
  if (!a.duration.empty()) o.duration = parse_time("--duration", a.duration);
  o.preview_frames = a.preview;
  o.segment_seconds = a.segment;
  o.resume = a.resume;
  o.overwrite = a.options.flag("overwrite");
  a.json = a.options.flag("json");
  a.quiet = a.options.flag("quiet");
  o.upscale.cancel = std::shared_ptr<const std::atomic<bool>>(&g_stop, [](auto*) {});
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);

  const bool bar = !a.json && !a.quiet && isatty(STDERR_FILENO) != 0;
  if (a.json) emit({{"event", "start"}, {"input", a.input}, {"output", a.output}});
  auto last = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  bool drawn = false;
  const auto on_progress = [&](const VideoProgress& p) {
    const auto now = std::chrono::steady_clock::now();
    if (now - last < std::chrono::milliseconds(250)) return;
    last = now;
    // The rate of this run: frames done by an earlier run of a resumed job left out.
    const double fps = p.seconds > 0 ? static_cast<double>(p.frames - p.resumed) / p.seconds : 0;
    const double eta = fps > 0 && p.total > p.frames ? (p.total - p.frames) / fps : 0;
    if (a.json) {
      emit({{"event", "progress"},
            {"input", a.input},
            {"frames", p.frames},
            {"total", p.total},
            {"fps", fps},
            {"eta", eta}});
    } else if (bar) {
      fmt::print(stderr, "\r\033[K{}: frame {}/{}  {:.2f} frames/s  ETA {}", printable(a.input),
                 p.frames, p.total, fps, clock_text(eta));
      drawn = true;
    }
  };
  try {
    const VideoResult r = upscale_video(a.input, a.output, o, on_progress);
    const double run_fps =
        r.seconds > 0 ? static_cast<double>(r.frames - r.resumed_frames) / r.seconds : 0;
    if (drawn) fmt::print(stderr, "\r\033[K");
    if (a.json) {
      emit({{"event", "done"},
            {"input", a.input},
            {"output", a.output},
            {"in", {{"width", r.in_size.width}, {"height", r.in_size.height}}},
            {"out", {{"width", r.out_size.width}, {"height", r.out_size.height}}},
            {"frames", r.frames},
            {"resumed_frames", r.resumed_frames},
            {"segments", r.segments},
            {"copied_streams", r.copied_streams},
            {"model", r.model},
            {"model_passes", r.model_passes},
            {"encoder", r.encoder},
            {"bytes", r.bytes},
            {"seconds", r.seconds},
            {"stage_seconds",
             {{"decode", r.decode_seconds},
              {"upscale", r.upscale_seconds},
              {"encode", r.encode_seconds}}},
            {"fps", run_fps},
            {"notices", cli_texts(r.notices)}});
    } else if (!a.quiet) {
      for (const auto& n : r.notices)
        fmt::print(stderr, "hires: notice: {}: {}\n", printable(a.input), cli_text(n));
      fmt::print(stderr,
                 "{} -> {} ({}x{} -> {}x{}, {} frames, {}, {}, {} copied stream{}, {}, {:.1f}s, "
                 "{:.2f} frames/s; busy: decode {:.1f}s, upscale {:.1f}s, encode {:.1f}s)\n",
                 printable(a.input), printable(a.output), r.in_size.width, r.in_size.height,
                 r.out_size.width, r.out_size.height, r.frames, r.model, r.encoder,
                 r.copied_streams, r.copied_streams == 1 ? "" : "s", format_bytes(r.bytes),
                 r.seconds, run_fps, r.decode_seconds, r.upscale_seconds, r.encode_seconds);
    }
    return 0;
  } catch (const Error& e) {
    if (drawn) fmt::print(stderr, "\r\033[K");
    if (a.json) emit({{"event", "error"}, {"input", a.input}, {"message", for_cli(e).what()}});
    if (e.kind() == ErrorKind::cancelled) {
      fmt::print(stderr, "hires: stopped: {}\n", for_cli(e).what());
      return 130;
    }
    throw;
  }
}

}  // namespace

Command add_video_command(CLI::App& app) {
  auto a = std::make_shared<VideoArgs>();
  CLI::App* cmd = app.add_subcommand(
      "video", "Upscale a video clip: audio, subtitles, timing, rotation and colour tags kept");
  cmd->add_option("input", a->input, "Video file (mp4, mkv, webm, mov, ...)")->required();
  cmd->add_option("-o,--output", a->output, "Output video; its extension picks the container")
      ->required();
  add_sizing_options(*cmd->add_option_group("sizing", "Choose one (default --scale 2)"), a->sizing);
  a->options.add_keys(*cmd, {"method", "models_dir", "restore"},
                      {{"method",
                        "lanczos, bicubic, bilinear, nearest, or an AI model as for images "
                        "(default: chosen from the first frame)"},
                       {"restore", "Clean-up strength 0..1, as for images"}});
  cmd->add_option("--codec", a->codec, "h264 | h265 | vp9 | av1 | ffv1 (lossless)")
      ->capture_default_str();
  cmd->add_option("--crf", a->crf, "Quality of the lossy codecs, lower is better")
      ->check(CLI::Range(0, 63))
      ->capture_default_str();
  cmd->add_option("--start", a->start, "Start at this time (seconds or [h:]m:s)");
  cmd->add_option("--duration", a->duration, "Only this long (seconds or [h:]m:s)");
  cmd->add_option("--preview", a->preview,
                  "Only the first N frames (from --start), audio cut to match: a quick look")
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--segment", a->segment,
                  "Seconds of the clip per resumable segment, each starting with a key frame")
      ->check(CLI::Range(0.01, 3600.0))
      ->capture_default_str();
  cmd->add_flag("--resume", a->resume,
                "Continue a stopped or killed job from its last finished segment (kept in "
                ".OUT.hires-partial beside the output)");
  a->options.add_keys(
      *cmd, {"overwrite", "json", "quiet", "threads", "tile", "memory_budget", "backend", "gpu"},
      {{"overwrite", "Replace an existing output (never the input)"},
       {"json", "One JSON object per event on stdout: start, progress, done, error"}});
  return {cmd, [a] { return run_video(*a); }};
}

}  // namespace hires::cli
