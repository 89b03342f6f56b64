// Video adapters over FFmpeg's libraries (libavformat, libavcodec, libswscale): a reader that
// decodes the best video stream to RGB and holds the packets of the streams copied as they are
// (audio, subtitles), and a writer that encodes RGB frames and muxes those packets unchanged.
// No libav type appears here; the pipeline sees frames as plain interleaved RGB.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hires/hires.hpp"

namespace hires::io {

// One decoded picture: RGB, 8 or 16 bits per sample (native-endian), rows packed.
struct VideoFrame {
  std::vector<std::uint8_t> pixels;
  int width = 0;
  int height = 0;
  bool u16 = false;
  std::int64_t pts = 0;  // in VideoInputInfo::time_base units, from the clip's start (or --start)
  std::int64_t index = 0;
};

// Colour tags as libavutil numbers (AVColorPrimaries, AVColorTransferCharacteristic,
// AVColorSpace, AVColorRange); 2 = unspecified for the first three, 0 for the range.
struct ColourTags {
  int primaries = 2;
  int transfer = 2;
  int matrix = 2;
  int range = 0;
};

struct VideoInputInfo {
  std::string container;  // "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"
  std::string codec;      // the video stream's codec, e.g. "h264"
  Size size;
  bool high_bit = false;  // more than 8 bits per sample: decoded as 16-bit RGB
  int time_base_num = 1;  // the video stream's time base
  int time_base_den = 1;
  double fps = 0;           // average frame rate, 0 when unknown
  std::int64_t frames = 0;  // expected frame count (an estimate), 0 when unknown
  double duration = 0;      // seconds selected (after --start/--duration), 0 when unknown
  int sar_num = 1;          // sample aspect ratio
  int sar_den = 1;
  ColourTags colour;       // the matrix and range as decoded (unspecified filled in)
  int copied_streams = 0;  // audio and subtitle streams kept as they are
  std::vector<std::string> notices;
};

struct VideoRange {
  double start = 0;                // seconds
  std::optional<double> duration;  // seconds
};

class VideoInput {
 public:
  // Throws Error(input) naming the file when it is no video, has no video stream, or its codec
  // has no decoder here; Error(usage) for a range outside the clip.
  VideoInput(const std::filesystem::path& path, const VideoRange& range = {});
  ~VideoInput();
  VideoInput(const VideoInput&) = delete;
  VideoInput& operator=(const VideoInput&) = delete;

  const VideoInputInfo& info() const;
  // The next frame in presentation order; false at the end. Thread: one reader at a time.
  bool next(VideoFrame& frame);

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// The encoders `--codec` names, with the libavcodec encoders tried for each.
enum class VideoCodec { h264, h265, vp9, av1, ffv1 };

struct VideoOutputSettings {
  VideoCodec codec = VideoCodec::h264;
  int crf = 18;  // quality for the lossy encoders (lower is better); ignored by ffv1
  Size size;
  bool u16 = false;  // frames come as 16-bit RGB: encode 10-bit where the encoder allows
};

class VideoOutput {
 public:
  // Opens `path` (its extension picks the container, `container_of` when it is a temporary
  // name) for the frames of `input` and the streams it copies. Throws Error(output/usage).
  VideoOutput(const std::filesystem::path& path, const std::filesystem::path& container_of,
              VideoInput& input, const VideoOutputSettings& settings);
  ~VideoOutput();
  VideoOutput(const VideoOutput&) = delete;
  VideoOutput& operator=(const VideoOutput&) = delete;

  // The encoder that runs ("libx264") and what changed on the way (10-bit kept or not).
  const std::string& encoder() const;
  const std::vector<std::string>& notices() const;
  int copied_streams() const;  // the streams copied that this container can hold
  // Encodes one frame (pts from the input) and muxes the copied packets read so far.
  void write(const VideoFrame& frame);
  // Flushes the encoder, muxes the remaining copied packets and writes the trailer.
  void finish();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// "libx264" for h264 etc.: the first encoder of that codec in this build, or "" when none.
std::string video_encoder_name(VideoCodec codec);

}  // namespace hires::io
