// The reader's state that the writer shares: the demuxer (for stream parameters and side data)
// and the copied packets waiting to be muxed. Only src/io/video_*.cpp include this.
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libswscale/swscale.h>
}

#include <deque>
#include <mutex>
#include <string>

#include "io/video.hpp"

namespace hires::io {

// "Invalid data found when processing input".
std::string av_error_text(int code);

struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;

struct VideoInput::Impl {
  std::string name;
  AVFormatContext* format = nullptr;
  AVCodecContext* decoder = nullptr;
  SwsContext* sws = nullptr;
  AVPacket* packet = nullptr;
  AVFrame* frame = nullptr;
  int video_stream = -1;
  std::vector<bool> copy;      // per input stream: its packets are kept for the output
  bool ranged = false;         // --start or --duration given
  std::int64_t start_us = 0;   // the range, in AV_TIME_BASE units (absolute)
  std::int64_t end_us = 0;     // 0 = to the end
  std::int64_t offset_us = 0;  // subtracted from every timestamp (the --start point)
  std::int64_t next_index = 0;
  std::int64_t last_pts = AV_NOPTS_VALUE;
  std::int64_t last_read_us = AV_NOPTS_VALUE;  // the last packet read, any stream
  bool draining = false;                       // the decoder was sent the end
  bool video_done = false;                     // no more frames (end of stream or of the range)
  bool keep_copied = true;                     // keep the copied streams' packets (for a writer)
  bool convert_frames = true;                  // false while skipping frames
  std::int64_t last_out_pts = AV_NOPTS_VALUE;  // the last frame's pts as given out
  VideoInputInfo info;

  std::mutex mutex;  // guards `copied`: filled by the reading thread, emptied by the writer
  std::deque<PacketPtr> copied;

  // Freed here rather than in ~VideoInput, which does not run when the constructor throws (a
  // corrupt clip failed after the demuxer was opened: found by fuzz_video as a leak per file).
  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() {
    sws_freeContext(sws);
    av_frame_free(&frame);
    av_packet_free(&packet);
    avcodec_free_context(&decoder);
    avformat_close_input(&format);
  }

  void keep_packet(const AVPacket& p);
  bool receive(VideoFrame& out);
  bool read_packet();  // false at the end of the file
  void convert(VideoFrame& out);
};

// The encoder's state that the writer reads: the codec context its stream is set up from.
struct VideoEncoder::Impl {
  std::string name;  // the output, for messages
  const AVOutputFormat* format = nullptr;
  AVCodecContext* enc = nullptr;
  SwsContext* sws = nullptr;
  AVFrame* frame = nullptr;
  AVPacket* packet = nullptr;
  std::string encoder;
  std::vector<std::string> notices;
  void fail(int r, const std::string& what) const;
  void drain(std::vector<VideoPacket>& packets);

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() {  // also when the constructor throws (see VideoInput::Impl)
    sws_freeContext(sws);
    av_frame_free(&frame);
    av_packet_free(&packet);
    avcodec_free_context(&enc);
  }
};

}  // namespace hires::io
