// `hires video`: a clip through the same plan and model passes as an image, frame by frame,
// with its audio and subtitle streams, timing, rotation and colour tags kept.
//
//   hires::VideoOptions opt;
//   opt.upscale.size = hires::SizeRequest::by_scale(2);
//   hires::VideoResult r = hires::upscale_video("in.mp4", "out.mp4", opt, nullptr);
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "hires/guide.hpp"
#include "hires/hires.hpp"

namespace hires {

// --codec: h264 (libx264), h265 (libx265), vp9 (libvpx-vp9), av1 (libsvtav1 or libaom-av1),
// ffv1 (lossless). Throws Error(usage) for another word.
enum class VideoCodecChoice { h264, h265, vp9, av1, ffv1 };
VideoCodecChoice parse_video_codec(const std::string& option, const std::string& text);

struct VideoOptions {
  // Sizing, model, restore, tiles, memory, threads and `cancel`, as for images. The size is
  // planned once from the first frame; encode options other than these do not apply.
  UpscaleOptions upscale;
  VideoCodecChoice codec = VideoCodecChoice::h264;
  int crf = 18;                    // quality of the lossy encoders, lower is better
  double start = 0;                // seconds into the clip
  std::optional<double> duration;  // seconds from the start
  int preview_frames = 0;          // > 0: only this many frames from the start (a quick look)
  bool overwrite = false;          // replace an existing output (never the input)
  int queue = 4;                   // frames between decode, upscale and encode
  // The job is encoded in segments of about this many seconds of the clip, each starting with a
  // key frame, into a work folder beside the output (".NAME.hires-partial"), and remuxed into
  // the output at the end. A stopped or killed job keeps its finished segments.
  double segment_seconds = 5;
  // Continue the job in the work folder (same input and options), skipping its finished
  // segments. Without it, an existing work folder is an error.
  bool resume = false;
};

struct VideoProgress {
  std::int64_t frames = 0;   // written so far
  std::int64_t total = 0;    // expected (an estimate), 0 when unknown
  std::int64_t resumed = 0;  // of `frames`, done by an earlier run of the job
  double seconds = 0;        // since the start
};
using VideoProgressFn = std::function<void(const VideoProgress&)>;

struct VideoResult {
  std::filesystem::path input, output;
  Size in_size, out_size;
  std::int64_t frames = 0;
  std::int64_t resumed_frames = 0;  // of `frames`, done by an earlier run (resume)
  int segments = 0;                 // segments encoded (a key frame starts each)
  int copied_streams = 0;           // audio and subtitle streams copied packet for packet
  std::string model;                // the plan's model or method
  int model_passes = 0;
  std::string encoder;  // "libx264"
  std::uint64_t bytes = 0;
  double seconds = 0;
  // Busy time of each stage (on its own thread, so they overlap and can add up to more than
  // `seconds`): decoding and colour conversion, the model passes and resize, encoding and muxing.
  double decode_seconds = 0, upscale_seconds = 0, encode_seconds = 0;
  std::vector<std::string> notices;
};

// Upscales the clip `input` to `output`: segments into the work folder (VideoOptions::resume),
// then remuxed with the copied streams under a temporary name beside the output, renamed at the
// end. When it stops (`cancel`, an error) the output is not written and finished segments stay
// for a resume. Throws Error: input (not a video, no decoder, corrupt), usage (bad options,
// existing output, a work folder without resume or of another job), output, cancelled.
VideoResult upscale_video(const std::filesystem::path& input, const std::filesystem::path& output,
                          const VideoOptions& options, const VideoProgressFn& progress);

// `hires review ORIGINAL.mp4 UPSCALED.mp4`: temporal consistency. Each upscaled frame is brought
// back to the source's size; luma in 8-bit levels.
struct VideoReview {
  std::int64_t frames = 0;      // frames compared
  double source_change = 0;     // mean |luma change| between consecutive source frames
  double output_change = 0;     // the same for the upscaled clip
  double added_flicker = 0;     // mean |output change - source change|: what the upscale added
  double resemblance_psnr = 0;  // mean PSNR-Y of the upscaled frames against the source's
  ReviewVerdict verdict = ReviewVerdict::ok;
  std::vector<std::string> reasons;  // flicker above the source's, frames unlike the source's
};
// Whether the file starts like a video container (MP4/MOV, Matroska/WebM, AVI, MPEG-TS/PS, FLV).
bool is_video_file(const std::filesystem::path& path);

// Compares the clips frame by frame (the first `max_frames`, 0 = all). Throws Error(input).
VideoReview review_video(const std::filesystem::path& original,
                         const std::filesystem::path& upscaled, std::int64_t max_frames = 0);

}  // namespace hires
