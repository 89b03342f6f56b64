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
#include "io/durable_file.hpp"

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
  // The next frame in presentation order (pts strictly increasing); false at the end. Thread:
  // one reader at a time.
  bool next(VideoFrame& frame);
  // Decodes the next frame without converting it (fast, for frames a resumed job has done).
  bool skip();
  // Only the video is wanted: the copied streams' packets are not kept.
  void video_only();
  // Only the copied streams' packets are wanted (for VideoOutput): the video is not decoded.
  void copy_streams_only();

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

// One encoded picture, timestamps in the input video stream's time base.
struct VideoPacket {
  std::vector<std::uint8_t> data;
  std::int64_t pts = 0;
  std::int64_t dts = 0;
  std::int64_t duration = 0;
  bool key = false;
};

// Encodes RGB frames to packets. Each encoder starts with a key frame and its packets decode on
// their own (a closed group of pictures): the segments of a resumable job are made by encoders
// of the same settings, one after the other.
class VideoEncoder {
 public:
  // `container_of` (its extension) is the container the packets go into: it decides global
  // headers and whether the codec fits. Throws Error(usage) for a codec without an encoder
  // here or a container that cannot hold it, Error(output) when the encoder does not open.
  VideoEncoder(const std::filesystem::path& container_of, const VideoInputInfo& input,
               const VideoOutputSettings& settings);
  ~VideoEncoder();
  VideoEncoder(const VideoEncoder&) = delete;
  VideoEncoder& operator=(const VideoEncoder&) = delete;

  // The encoder that runs ("libx264") and what changed on the way (10-bit kept or not).
  const std::string& encoder() const;
  const std::vector<std::string>& notices() const;
  // The codec's global header (parameter sets), empty for codecs without one.
  std::vector<std::uint8_t> extradata() const;
  // Encodes a frame (pts from the input, strictly increasing); appends the packets ready.
  void write(const VideoFrame& frame, std::vector<VideoPacket>& packets);
  // Flushes the encoder: the packets still held.
  void finish(std::vector<VideoPacket>& packets);

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

class VideoOutput {
 public:
  // Opens `path` (its extension picks the container, `container_of` when it is a temporary
  // name) for packets of `encoder`'s settings (with `extradata`, the global header they were
  // made with) and the streams `input` copies, whose packets it reads from `input` as the
  // video advances: `input` is opened for that alone (VideoInput::copy_streams_only). Throws
  // Error(output).
  VideoOutput(const std::filesystem::path& path, const std::filesystem::path& container_of,
              VideoInput& input, const VideoEncoder& encoder,
              const std::vector<std::uint8_t>& extradata);
  ~VideoOutput();
  VideoOutput(const VideoOutput&) = delete;
  VideoOutput& operator=(const VideoOutput&) = delete;

  const std::vector<std::string>& notices() const;
  int copied_streams() const;  // the streams copied that this container can hold
  // Muxes one video packet, after the copied packets up to its time.
  void write(const VideoPacket& packet);
  // Muxes the remaining copied packets and writes the trailer.
  void finish();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// "libx264" for h264 etc.: the first encoder of that codec in this build, or "" when none.
std::string video_encoder_name(VideoCodec codec);

// A segment file: one encoder's packets, in the order they came, after its global header.
// Written as NAME.part, then fsync'd and renamed to NAME, so a segment that exists is whole.
struct SegmentFacts {
  std::uint64_t bytes = 0;
  std::uint64_t digest = 0;  // io::digest of the whole file
};

class SegmentWriter {
 public:
  // Throws Error(output) naming the file.
  SegmentWriter(std::filesystem::path path, const std::vector<std::uint8_t>& extradata);
  ~SegmentWriter();  // without commit(): the .part file is removed
  SegmentWriter(const SegmentWriter&) = delete;
  SegmentWriter& operator=(const SegmentWriter&) = delete;
  void write(const VideoPacket& packet);
  // Writes what is buffered, syncs, renames NAME.part to NAME and syncs the folder.
  SegmentFacts commit();

 private:
  void flush();
  std::filesystem::path path_, part_;
  int fd_ = -1;
  std::string buffer_;
  SegmentFacts facts_{0, kDigestSeed};
  bool committed_ = false;
};

class SegmentReader {
 public:
  // Throws Error(input) naming the file when it is no segment or is cut short.
  explicit SegmentReader(std::filesystem::path path);
  const std::vector<std::uint8_t>& extradata() const { return extradata_; }
  bool next(VideoPacket& packet);  // false at the end

 private:
  template <class T>
  bool take(T& v);
  std::filesystem::path path_;
  std::string bytes_;
  std::size_t at_ = 0;
  std::vector<std::uint8_t> extradata_;
};

// The size and digest of a file as SegmentWriter::commit reports them; nullopt when absent.
std::optional<SegmentFacts> segment_facts(const std::filesystem::path& path);

}  // namespace hires::io
