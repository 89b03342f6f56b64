// Muxing encoded video packets with the input's copied streams (audio, subtitles: packet for
// packet, read from the input as the video advances), its colour tags, rotation and container
// metadata.
#include <fmt/format.h>

#include <cstring>

#include "hires/error.hpp"
#include "io/video_impl.hpp"

namespace hires::io {

struct VideoOutput::Impl {
  VideoInput::Impl& in;
  std::string name;
  AVFormatContext* out = nullptr;
  AVStream* video = nullptr;
  AVRational video_tb{1, 1};   // the packets' time base (the input video stream's)
  std::vector<int> out_index;  // per input stream: its output stream, or -1
  std::vector<std::string> notices;
  bool opened = false;
  bool input_done = false;
  AVPacket* packet = nullptr;

  explicit Impl(VideoInput::Impl& input) : in(input) {}
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() {  // also when the constructor throws (see VideoInput::Impl)
    av_packet_free(&packet);
    if (out != nullptr) {
      if (opened) avio_closep(&out->pb);
      avformat_free_context(out);
    }
  }
  void fail(int r, const std::string& what) const {
    throw Error(ErrorKind::output, name, fmt::format("cannot {}: {}", what, av_error_text(r)));
  }
  void read_copied(std::int64_t until_us);
  void mux_copied();
};

VideoOutput::VideoOutput(const std::filesystem::path& path,
                         const std::filesystem::path& container_of, VideoInput& input,
                         const VideoEncoder& encoder, const std::vector<std::uint8_t>& extradata)
    : impl_(std::make_unique<Impl>(input.impl())) {
  Impl& d = *impl_;
  d.name = container_of.string();
  const VideoEncoder::Impl& e = encoder.impl();
  const AVOutputFormat* ofmt = e.format;
  if (avformat_alloc_output_context2(&d.out, ofmt, nullptr, path.string().c_str()) < 0) {
    throw Error(ErrorKind::output, d.name, "cannot set up the container");
  }
  AVFormatContext* ic = d.in.format;
  AVStream* ist = ic->streams[d.in.video_stream];
  d.video = avformat_new_stream(d.out, nullptr);
  avcodec_parameters_from_context(d.video->codecpar, e.enc);
  av_freep(&d.video->codecpar->extradata);
  d.video->codecpar->extradata_size = 0;
  if (!extradata.empty()) {
    d.video->codecpar->extradata =
        static_cast<std::uint8_t*>(av_mallocz(extradata.size() + AV_INPUT_BUFFER_PADDING_SIZE));
    if (d.video->codecpar->extradata == nullptr) {
      throw Error(ErrorKind::internal, d.name, "out of memory");
    }
    std::memcpy(d.video->codecpar->extradata, extradata.data(), extradata.size());
    d.video->codecpar->extradata_size = static_cast<int>(extradata.size());
  }
  d.video_tb = e.enc->time_base;
  d.video->time_base = e.enc->time_base;
  d.video->sample_aspect_ratio = e.enc->sample_aspect_ratio;
  d.video->avg_frame_rate = ist->avg_frame_rate;
  for (const char* key : {"language", "title", "handler_name"}) {
    if (const AVDictionaryEntry* t = av_dict_get(ist->metadata, key, nullptr, 0)) {
      av_dict_set(&d.video->metadata, key, t->value, 0);
    }
  }
  std::size_t matrix_size = 0;
  if (const std::uint8_t* m =
          av_stream_get_side_data(ist, AV_PKT_DATA_DISPLAYMATRIX, &matrix_size)) {
    std::uint8_t* copy = av_stream_new_side_data(d.video, AV_PKT_DATA_DISPLAYMATRIX, matrix_size);
    if (copy != nullptr) std::memcpy(copy, m, matrix_size);
  }

  d.out_index.assign(ic->nb_streams, -1);
  for (unsigned i = 0; i < ic->nb_streams; ++i) {
    if (!d.in.copy[i]) continue;
    const AVStream* s = ic->streams[i];
    if (avformat_query_codec(ofmt, s->codecpar->codec_id, FF_COMPLIANCE_NORMAL) != 1) {
      d.notices.push_back(fmt::format("stream {} ({} {}) cannot go into {}: dropped (use .mkv)", i,
                                      av_get_media_type_string(s->codecpar->codec_type),
                                      avcodec_get_name(s->codecpar->codec_id), ofmt->name));
      continue;
    }
    AVStream* os = avformat_new_stream(d.out, nullptr);
    avcodec_parameters_copy(os->codecpar, s->codecpar);
    os->codecpar->codec_tag = 0;
    os->time_base = s->time_base;
    os->disposition = s->disposition;
    av_dict_copy(&os->metadata, s->metadata, 0);
    d.out_index[i] = os->index;
  }
  av_dict_copy(&d.out->metadata, ic->metadata, 0);

  if (int o = avio_open(&d.out->pb, path.string().c_str(), AVIO_FLAG_WRITE); o < 0) {
    d.fail(o, "create " + path.string());
  }
  d.opened = true;
  if (int h = avformat_write_header(d.out, nullptr); h < 0) d.fail(h, "write the header");
  d.packet = av_packet_alloc();
}

VideoOutput::~VideoOutput() = default;  // Impl frees the FFmpeg state

const std::vector<std::string>& VideoOutput::notices() const {
  return impl_->notices;
}
int VideoOutput::copied_streams() const {
  return static_cast<int>(impl_->out->nb_streams) - 1;
}

// Reads the input on until its packets pass `until_us` (absolute, AV_TIME_BASE units; 0 = to
// the end), past the end of a range by a little, as streams are interleaved.
void VideoOutput::Impl::read_copied(std::int64_t until_us) {
  const std::int64_t stop = in.end_us > 0 ? in.end_us + std::int64_t{2} * AV_TIME_BASE : 0;
  while (!input_done) {
    if (in.last_read_us != AV_NOPTS_VALUE) {
      if (stop > 0 && in.last_read_us > stop) break;
      if (until_us > 0 && in.last_read_us > until_us) return;
    }
    if (!in.read_packet()) input_done = true;
  }
  input_done = true;
}

void VideoOutput::Impl::mux_copied() {
  std::deque<PacketPtr> ready;
  {
    std::lock_guard<std::mutex> lock(in.mutex);
    ready.swap(in.copied);
  }
  for (PacketPtr& p : ready) {
    const int to = out_index[p->stream_index];
    if (to < 0) continue;
    av_packet_rescale_ts(p.get(), in.format->streams[p->stream_index]->time_base,
                         out->streams[to]->time_base);
    p->stream_index = to;
    p->pos = -1;
    if (int r = av_interleaved_write_frame(out, p.get()); r < 0) fail(r, "write a copied packet");
  }
}

void VideoOutput::write(const VideoPacket& v) {
  Impl& d = *impl_;
  const std::int64_t t = v.dts != AV_NOPTS_VALUE ? v.dts : v.pts;
  d.read_copied(
      std::max<std::int64_t>(1, av_rescale_q(t, d.video_tb, AV_TIME_BASE_Q) + d.in.offset_us));
  d.mux_copied();
  if (av_new_packet(d.packet, static_cast<int>(v.data.size())) < 0) {
    throw Error(ErrorKind::internal, d.name, "out of memory");
  }
  if (!v.data.empty()) std::memcpy(d.packet->data, v.data.data(), v.data.size());
  d.packet->pts = v.pts;
  d.packet->dts = v.dts;
  d.packet->duration = v.duration;
  d.packet->flags = v.key ? AV_PKT_FLAG_KEY : 0;
  d.packet->stream_index = d.video->index;
  av_packet_rescale_ts(d.packet, d.video_tb, d.video->time_base);
  const int w = av_interleaved_write_frame(d.out, d.packet);
  av_packet_unref(d.packet);
  if (w < 0) d.fail(w, "write");
}

void VideoOutput::finish() {
  Impl& d = *impl_;
  d.read_copied(0);
  d.mux_copied();
  if (int r = av_write_trailer(d.out); r < 0) d.fail(r, "finish");
  if (int r = avio_closep(&d.out->pb); r < 0) d.fail(r, "close");
  d.opened = false;
}

}  // namespace hires::io
