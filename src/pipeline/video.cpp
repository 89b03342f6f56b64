// A clip through the image path: decode (io::VideoInput) -> plan_upscale once, from the first
// frame -> per frame the same model passes and exact resize as an image (upscale_pixels) ->
// encode (io::VideoOutput), three threads with bounded queues between them.
#include "hires/video.hpp"

#include <fmt/format.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "hires/error.hpp"
#include "hires/guide.hpp"
#include "hires/pipeline.hpp"
#include "io/atomic_file.hpp"
#include "io/durable_file.hpp"
#include "io/guide_io.hpp"
#include "io/io.hpp"
#include "io/video.hpp"
#include "pipeline/model_pass.hpp"
#include "pipeline/video_journal.hpp"

namespace hires {
namespace fs = std::filesystem;

namespace {

// A queue of at most `capacity` items; close() ends it for the consumer after the last item,
// abort() ends it at once for both sides.
template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(std::size_t capacity) : capacity_(capacity) {}
  bool push(T item) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return aborted_ || items_.size() < capacity_; });
    if (aborted_) return false;
    items_.push_back(std::move(item));
    changed_.notify_all();
    return true;
  }
  bool pop(T& item) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return aborted_ || closed_ || !items_.empty(); });
    if (aborted_ || items_.empty()) return false;
    item = std::move(items_.front());
    items_.pop_front();
    changed_.notify_all();
    return true;
  }
  void close() {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    changed_.notify_all();
  }
  void abort() {
    std::lock_guard<std::mutex> lock(mutex_);
    aborted_ = true;
    changed_.notify_all();
  }

 private:
  std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<T> items_;
  bool closed_ = false;
  bool aborted_ = false;
};

io::VideoCodec io_codec(VideoCodecChoice c) {
  switch (c) {
    case VideoCodecChoice::h265:
      return io::VideoCodec::h265;
    case VideoCodecChoice::vp9:
      return io::VideoCodec::vp9;
    case VideoCodecChoice::av1:
      return io::VideoCodec::av1;
    case VideoCodecChoice::ffv1:
      return io::VideoCodec::ffv1;
    default:
      return io::VideoCodec::h264;
  }
}

// Runs the pixel path over one frame and renders it into `out`.
void upscale_frame(io::VideoFrame& in, const pipeline::PixelPath& path, const PolishOptions& polish,
                   io::VideoFrame& out) {
  const vips::VImage source = io::frame_image(in);
  vips::VImage img = pipeline::upscale_pixels(source, path).image;
  img = io::polish_output(img, source, polish, Rgb{});
  std::size_t size = 0;
  void* data = img.write_to_memory(&size);
  const auto* bytes = static_cast<const std::uint8_t*>(data);
  out.pixels.assign(bytes, bytes + size);
  g_free(data);
  out.width = img.width();
  out.height = img.height();
  out.u16 = img.format() == VIPS_FORMAT_USHORT;
  out.pts = in.pts;
  out.index = in.index;
}

bool same_file(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) return fs::equivalent(a, b, ec);
  return fs::weakly_canonical(a, ec) == fs::weakly_canonical(b, ec);
}

}  // namespace

VideoCodecChoice parse_video_codec(const std::string& option, const std::string& text) {
  if (text == "h264" || text == "avc" || text == "x264") return VideoCodecChoice::h264;
  if (text == "h265" || text == "hevc" || text == "x265") return VideoCodecChoice::h265;
  if (text == "vp9") return VideoCodecChoice::vp9;
  if (text == "av1") return VideoCodecChoice::av1;
  if (text == "ffv1") return VideoCodecChoice::ffv1;
  throw Error(ErrorKind::usage, option, fmt::format("unknown codec '{}'", text),
              "h264, h265, vp9, av1 or ffv1");
}

namespace {

const char* codec_key(VideoCodecChoice c) {
  switch (c) {
    case VideoCodecChoice::h265:
      return "h265";
    case VideoCodecChoice::vp9:
      return "vp9";
    case VideoCodecChoice::av1:
      return "av1";
    case VideoCodecChoice::ffv1:
      return "ffv1";
    default:
      return "h264";
  }
}

// What decides the output's frames: a resumed job must have the same (threads, tiles and memory
// change only the speed).
pipeline::JobOptions job_options(const VideoOptions& o, const UpscalePlan& plan,
                                 std::int64_t segment_frames, bool u16) {
  const PolishOptions& p = o.upscale.polish;
  return {{"method", plan.model},
          {"size", fmt::format("{}x{}", plan.out.width, plan.out.height)},
          {"polish", fmt::format("colour fix {}, denoise {}, sharpen {:g}", p.color_fix ? 1 : 0,
                                 p.denoise, p.sharpen)},
          {"`codec`", codec_key(o.codec)},
          {"`crf`", std::to_string(o.crf)},
          {"`start`", fmt::format("{:g}", o.start)},
          {"`duration`", o.duration ? fmt::format("{:g}", *o.duration) : "(all)"},
          {"`preview`", std::to_string(o.preview_frames)},
          {"`segment`", fmt::format("{} frames", segment_frames)},
          {"bits", u16 ? "16" : "8"}};
}

// The segments, in order, and the copied streams (read again from the input) into the output:
// a temporary file beside it, synced, then renamed.
void remux(const fs::path& input, const io::VideoRange& range, const fs::path& output,
           const pipeline::VideoJournal& journal, const io::VideoOutputSettings& settings,
           const io::VideoInputInfo& info, bool overwrite, VideoResult& result) {
  io::VideoInput copy(input, range);
  copy.copy_streams_only();
  const io::VideoEncoder encoder(output, info, settings);  // the stream's parameters
  std::vector<std::uint8_t> header;
  io::TempFile temp_file(output);
  {
    std::unique_ptr<io::VideoOutput> out;
    io::VideoPacket packet;
    for (std::size_t i = 0; i < journal.segments().size(); ++i) {
      io::SegmentReader segment(journal.segment_path(i));
      if (i == 0) {
        header = segment.extradata();
        out = std::make_unique<io::VideoOutput>(temp_file.path(), output, copy, encoder, header);
      } else if (segment.extradata() != header) {
        throw Error(ErrorKind::internal, journal.segment_path(i).string(),
                    "was encoded with another codec set-up than the first segment");
      }
      while (segment.next(packet)) out->write(packet);
    }
    if (!out) throw Error(ErrorKind::internal, output.string(), "no segment to write");
    out->finish();
    result.copied_streams = out->copied_streams();
    result.notices.insert(result.notices.end(), out->notices().begin(), out->notices().end());
  }
  io::sync_file(temp_file.path());
  temp_file.publish(overwrite);
  io::sync_folder(output.parent_path());
}

std::int64_t frames_per_segment(const VideoOptions& o, double fps) {
  if (!(o.segment_seconds > 0)) {
    throw Error(ErrorKind::usage, "segment",
                fmt::format("{:g} is not a positive time", o.segment_seconds));
  }
  const double rate = fps > 0 ? fps : 24.0;
  return std::max<std::int64_t>(1, std::llround(o.segment_seconds * rate));
}

}  // namespace

VideoResult upscale_video(const fs::path& input, const fs::path& output,
                          const VideoOptions& options, const VideoProgressFn& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto cancelled = [&] { return options.upscale.cancel && options.upscale.cancel->load(); };
  if (same_file(input, output)) {
    throw Error(ErrorKind::usage, output.string(), "is the input file; refusing to overwrite it",
                "choose another output path");
  }
  std::error_code ec;
  if (fs::exists(output, ec) && !options.overwrite) {
    throw Error(ErrorKind::usage, output.string(), "exists", "pass `overwrite` to replace it");
  }
  if (options.crf < 0 || options.crf > 63) {
    throw Error(ErrorKind::usage, "crf", fmt::format("{} is not from 0 to 63", options.crf));
  }
  if (options.upscale.threads > 0) set_threads(options.upscale.threads);
  if (options.preview_frames < 0) {
    throw Error(ErrorKind::usage, "preview_frames",
                fmt::format("{} is not a frame count", options.preview_frames));
  }
  io::VideoRange range{options.start, options.duration};
  if (options.preview_frames > 0) {
    // The audio and subtitles copied are cut to the preview's time, half a frame past its end.
    const double fps = io::VideoInput(input, range).info().fps;
    if (fps > 0) {
      const double seconds = (options.preview_frames + 0.5) / fps;
      range.duration = range.duration ? std::min(*range.duration, seconds) : seconds;
    }
  }
  io::VideoInput in(input, range);
  in.video_only();
  const io::VideoInputInfo& info = in.info();
  const std::int64_t segment_frames = frames_per_segment(options, info.fps);

  VideoResult result;
  result.input = input;
  result.output = output;
  result.in_size = info.size;
  result.copied_streams = info.copied_streams;
  result.notices = info.notices;
  if (options.preview_frames > 0) {
    result.notices.push_back(fmt::format("preview: the first {} frame{} only",
                                         options.preview_frames,
                                         options.preview_frames == 1 ? "" : "s"));
  }

  io::VideoFrame first;
  if (!in.next(first)) {
    throw Error(
        ErrorKind::input, input.string(),
        options.start > 0 || options.duration ? "no frames in the chosen range" : "has no frames",
        std::string(io::kCorruptHint));
  }
  // The one plan, from the first frame's facts, as for an image.
  ImageFacts facts;
  facts.name = input.string();
  facts.size = info.size;
  facts.bits = first.u16 ? 16 : 8;
  if (options.upscale.auto_model) {
    facts.measures = measure(io::measure_pixels(io::frame_image(first), kChooseSide, facts.name));
  }
  UpscalePlan plan = plan_upscale(facts, options.upscale, Format::png);
  result.notices.insert(result.notices.end(), plan.notices.begin(), plan.notices.end());
  if (options.codec != VideoCodecChoice::ffv1 && (plan.out.width % 2 || plan.out.height % 2)) {
    const Size was = plan.out;
    plan.out.width += plan.out.width % 2;
    plan.out.height += plan.out.height % 2;
    result.notices.push_back(fmt::format("{}x{} made {}x{}: 4:2:0 video needs even sizes",
                                         was.width, was.height, plan.out.width, plan.out.height));
  }
  result.out_size = plan.out;
  result.model = plan.model;
  result.model_passes = plan.passes;
  const pipeline::PixelPath path = pipeline::prepare_pixels(
      plan, options.upscale, first.u16 ? core::SampleType::u16 : core::SampleType::u8);

  if (!output.parent_path().empty()) fs::create_directories(output.parent_path(), ec);
  io::VideoOutputSettings settings;
  settings.codec = io_codec(options.codec);
  settings.crf = options.crf;
  settings.size = plan.out;
  settings.u16 = first.u16;
  {
    // The encoder and container checked before any work.
    const io::VideoEncoder check(output, info, settings);
    result.encoder = check.encoder();
    result.notices.insert(result.notices.end(), check.notices().begin(), check.notices().end());
  }
  pipeline::VideoJournal journal(
      output, input, job_options(options, plan, segment_frames, first.u16), options.resume);
  result.notices.insert(result.notices.end(), journal.notices().begin(), journal.notices().end());
  const std::int64_t skip = journal.frames_done();
  result.resumed_frames = skip;
  result.frames = skip;
  if (skip > 0) {
    result.notices.push_back(
        fmt::format("resumed: {} frame{} done by an earlier run", skip, skip == 1 ? "" : "s"));
  }

  const std::size_t depth = static_cast<std::size_t>(std::max(1, options.queue));
  BoundedQueue<io::VideoFrame> decoded(depth), upscaled(depth);
  std::exception_ptr failure;
  std::mutex failure_mutex;
  const auto fail = [&](const std::exception_ptr& e) {
    {
      std::lock_guard<std::mutex> lock(failure_mutex);
      if (!failure) failure = e;
    }
    decoded.abort();
    upscaled.abort();
  };
  std::thread reader, worker;
  // Adds the time `work` takes to `total` (each stage's busy time, queues' waits left out).
  const auto timed = [](double& total, const auto& work) {
    const auto start = std::chrono::steady_clock::now();
    const auto done = work();
    total += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return done;
  };
  // The segment being encoded: its encoder and file, from its first frame.
  std::unique_ptr<io::VideoEncoder> encoder;
  std::unique_ptr<io::SegmentWriter> segment;
  pipeline::JournalSegment open_segment;
  std::vector<io::VideoPacket> packets;
  const auto store = [&] {
    for (const io::VideoPacket& p : packets) segment->write(p);
    packets.clear();
  };
  const auto close_segment = [&] {
    encoder->finish(packets);
    store();
    open_segment.facts = segment->commit();
    journal.append(open_segment);
    encoder.reset();
    segment.reset();
  };
  const auto stopped = [&] {
    const std::int64_t kept = journal.frames_done();
    if (kept == 0) {
      journal.remove();
      return Error(ErrorKind::cancelled, input.string(),
                   fmt::format("stopped after {} frames; nothing was written", result.frames));
    }
    return Error(ErrorKind::cancelled, input.string(),
                 fmt::format("stopped after {} frames; the first {} are kept in {}", result.frames,
                             kept, journal.folder().string()),
                 "run it again with `resume` to continue");
  };
  try {
    reader = std::thread([&] {
      try {
        io::VideoFrame f = std::move(first);
        std::int64_t read = 0;
        const std::int64_t limit = options.preview_frames > 0 ? options.preview_frames : -1;
        // Frames of the finished segments: decoded, not converted or upscaled.
        bool more = true;
        for (; read < skip && more; ++read) {
          if (cancelled()) return decoded.close();
          if (read > 0) more = timed(result.decode_seconds, [&] { return in.skip(); });
        }
        if (!more) {
          throw Error(ErrorKind::input, input.string(),
                      fmt::format("has fewer frames than the job in {} had done",
                                  journal.folder().string()),
                      "remove that folder to start over");
        }
        if (skip > 0)
          more = read != limit && timed(result.decode_seconds, [&] { return in.next(f); });
        while (more) {
          if (cancelled() || !decoded.push(std::move(f))) break;
          f = io::VideoFrame{};
          more = ++read != limit && timed(result.decode_seconds, [&] { return in.next(f); });
        }
        decoded.close();
      } catch (...) {
        fail(std::current_exception());
      }
    });
    worker = std::thread([&] {
      try {
        io::VideoFrame f;
        while (decoded.pop(f)) {
          io::VideoFrame up;
          try {
            timed(result.upscale_seconds, [&] {
              upscale_frame(f, path, options.upscale.polish, up);
              return true;
            });
          } catch (const vips::VError& e) {
            if (cancelled()) throw;
            std::string text = e.what();
            text = text.substr(0, text.find('\n'));
            throw Error(ErrorKind::internal, input.string(),
                        fmt::format("cannot upscale frame {}: {}", f.index + 1, text));
          }
          if (!upscaled.push(std::move(up))) break;
        }
        upscaled.close();
      } catch (...) {
        fail(std::current_exception());
      }
    });
    io::VideoFrame f;
    VideoProgress p;
    p.resumed = skip;
    p.total = options.preview_frames > 0 && info.frames > 0
                  ? std::min<std::int64_t>(info.frames, options.preview_frames)
                  : info.frames;
    while (upscaled.pop(f)) {
      if (cancelled()) break;
      timed(result.encode_seconds, [&] {
        if (!encoder) {
          encoder = std::make_unique<io::VideoEncoder>(output, info, settings);
          segment = std::make_unique<io::SegmentWriter>(
              journal.segment_path(journal.segments().size()), encoder->extradata());
          open_segment = {result.frames, 0, {}};
          ++result.segments;
        }
        encoder->write(f, packets);
        store();
        if (++open_segment.frames == segment_frames) close_segment();
        return true;
      });
      ++result.frames;
      if (progress) {
        p.frames = result.frames;
        p.total = std::max(p.total, p.frames);
        p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        progress(p);
      }
    }
    decoded.abort();
    upscaled.abort();
    reader.join();
    worker.join();
    if (failure) std::rethrow_exception(failure);
    if (cancelled()) throw stopped();
    timed(result.encode_seconds, [&] {
      if (encoder) close_segment();
      remux(input, range, output, journal, settings, info, options.overwrite, result);
      return true;
    });
    journal.remove();
  } catch (...) {
    decoded.abort();
    upscaled.abort();
    if (reader.joinable()) reader.join();
    if (worker.joinable()) worker.join();
    segment.reset();
    encoder.reset();
    if (cancelled()) throw stopped();
    if (journal.frames_done() == 0) journal.remove();
    if (failure) std::rethrow_exception(failure);
    throw;
  }
  result.bytes = fs::file_size(output, ec);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace hires
