// Encoding RGB frames with libavcodec and muxing them with the input's copied streams
// (audio, subtitles: packet for packet), its colour tags, rotation and container metadata.
#include <fmt/format.h>

#include <cstdlib>
#include <cstring>

#include "hires/error.hpp"
#include "io/io.hpp"
#include "io/video_impl.hpp"

extern "C" {
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
}

namespace hires::io {

namespace {

std::vector<const char*> encoders_for(VideoCodec codec) {
  switch (codec) {
    case VideoCodec::h264:
      return {"libx264"};
    case VideoCodec::h265:
      return {"libx265"};
    case VideoCodec::vp9:
      return {"libvpx-vp9"};
    case VideoCodec::av1:
      return {"libsvtav1", "libaom-av1", "librav1e"};
    case VideoCodec::ffv1:
      return {"ffv1"};
  }
  return {};
}

const char* codec_word(VideoCodec codec) {
  switch (codec) {
    case VideoCodec::h264:
      return "h264";
    case VideoCodec::h265:
      return "h265";
    case VideoCodec::vp9:
      return "vp9";
    case VideoCodec::av1:
      return "av1";
    case VideoCodec::ffv1:
      return "ffv1";
  }
  return "?";
}

bool offers(const AVCodec* codec, AVPixelFormat f) {
  if (codec->pix_fmts == nullptr) return true;
  for (const AVPixelFormat* p = codec->pix_fmts; *p != AV_PIX_FMT_NONE; ++p) {
    if (*p == f) return true;
  }
  return false;
}

int sws_matrix_of(int matrix) {
  switch (matrix) {
    case AVCOL_SPC_BT709:
      return SWS_CS_ITU709;
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL:
      return SWS_CS_BT2020;
    case AVCOL_SPC_SMPTE240M:
      return SWS_CS_SMPTE240M;
    default:
      return SWS_CS_ITU601;
  }
}

}  // namespace

std::string video_encoder_name(VideoCodec codec) {
  for (const char* name : encoders_for(codec)) {
    if (avcodec_find_encoder_by_name(name) != nullptr) return name;
  }
  return {};
}

struct VideoOutput::Impl {
  VideoInput::Impl& in;
  std::string name;
  AVFormatContext* out = nullptr;
  AVCodecContext* enc = nullptr;
  AVStream* video = nullptr;
  SwsContext* sws = nullptr;
  AVFrame* frame = nullptr;
  AVPacket* packet = nullptr;
  std::vector<int> out_index;  // per input stream: its output stream, or -1
  std::string encoder;
  std::vector<std::string> notices;
  std::int64_t last_pts = AV_NOPTS_VALUE;
  bool opened = false;
  bool finished = false;

  explicit Impl(VideoInput::Impl& input) : in(input) {}
  void fail(int r, const std::string& what) const {
    throw Error(ErrorKind::output, name, fmt::format("cannot {}: {}", what, av_error_text(r)));
  }
  void drain_encoder();
  void mux_copied();
};

VideoOutput::VideoOutput(const std::filesystem::path& path,
                         const std::filesystem::path& container_of, VideoInput& input,
                         const VideoOutputSettings& settings)
    : impl_(std::make_unique<Impl>(input.impl())) {
  Impl& d = *impl_;
  d.name = container_of.string();
  const VideoInputInfo& info = input.info();
  const AVOutputFormat* ofmt = av_guess_format(nullptr, d.name.c_str(), nullptr);
  if (ofmt == nullptr) {
    throw Error(
        ErrorKind::usage, d.name,
        fmt::format("cannot tell the container from '{}'", container_of.extension().string()),
        "use an extension .mp4 .mkv .webm or .mov");
  }
  const AVCodec* codec = nullptr;
  for (const char* n : encoders_for(settings.codec)) {
    if ((codec = avcodec_find_encoder_by_name(n)) != nullptr) break;
  }
  if (codec == nullptr) {
    std::string have;
    for (VideoCodec c :
         {VideoCodec::h264, VideoCodec::h265, VideoCodec::vp9, VideoCodec::av1, VideoCodec::ffv1}) {
      if (!video_encoder_name(c).empty())
        have += std::string(have.empty() ? "" : ", ") + codec_word(c);
    }
    throw Error(
        ErrorKind::usage, "codec",
        fmt::format("{} has no encoder in this build's libavcodec", codec_word(settings.codec)),
        "available here: " + have);
  }
  d.encoder = codec->name;
  if (avformat_query_codec(ofmt, codec->id, FF_COMPLIANCE_NORMAL) != 1) {
    throw Error(ErrorKind::usage, d.name,
                fmt::format("the {} container cannot hold {} video", ofmt->name,
                            codec_word(settings.codec)),
                "use .mkv, which holds every codec");
  }
  if (avformat_alloc_output_context2(&d.out, ofmt, nullptr, path.string().c_str()) < 0) {
    throw Error(ErrorKind::output, d.name, "cannot set up the container");
  }

  const bool ffv1 = settings.codec == VideoCodec::ffv1;
  AVPixelFormat pix = ffv1 ? AV_PIX_FMT_YUV444P : AV_PIX_FMT_YUV420P;
  if (settings.u16) {
    const AVPixelFormat deep = ffv1 ? AV_PIX_FMT_YUV444P10 : AV_PIX_FMT_YUV420P10;
    if (offers(codec, deep)) {
      pix = deep;
    } else {
      d.notices.push_back(fmt::format("{} has no 10-bit mode here: written as 8-bit", d.encoder));
    }
  }
  const bool subsampled = !ffv1;
  if (subsampled && (settings.size.width % 2 != 0 || settings.size.height % 2 != 0)) {
    throw Error(ErrorKind::internal, d.name, "4:2:0 video needs even picture sizes");
  }

  d.enc = avcodec_alloc_context3(codec);
  AVCodecContext& e = *d.enc;
  e.width = settings.size.width;
  e.height = settings.size.height;
  e.pix_fmt = pix;
  e.time_base = AVRational{info.time_base_num, info.time_base_den};
  if (info.fps > 0) e.framerate = av_d2q(info.fps, 1000000);
  // The same display aspect: the pixels' shape changes by the ratio of the two enlargements.
  av_reduce(&e.sample_aspect_ratio.num, &e.sample_aspect_ratio.den,
            std::int64_t{info.sar_num} * info.size.width * settings.size.height,
            std::int64_t{info.sar_den} * info.size.height * settings.size.width, 1 << 30);
  e.color_primaries = static_cast<AVColorPrimaries>(info.colour.primaries);
  e.color_trc = static_cast<AVColorTransferCharacteristic>(info.colour.transfer);
  e.colorspace = static_cast<AVColorSpace>(info.colour.matrix);
  e.color_range = static_cast<AVColorRange>(info.colour.range);
  e.thread_count = 0;
  e.bit_rate = 0;  // constant quality
  if ((d.out->oformat->flags & AVFMT_GLOBALHEADER) != 0) e.flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  AVDictionary* opts = nullptr;
  if (!ffv1) av_dict_set_int(&opts, "crf", settings.crf, 0);
  if (d.encoder == "libx265") av_dict_set(&opts, "x265-params", "log-level=error", 0);
  if (d.encoder == "libaom-av1") av_dict_set(&opts, "cpu-used", "6", 0);
  if (d.encoder == "libsvtav1") {
    av_dict_set(&opts, "preset", "8", 0);
    setenv("SVT_LOG", "1", 0);  // SVT-AV1 logs on stderr itself: errors only, unless asked
  }
  if (d.encoder == "libvpx-vp9") av_dict_set(&opts, "row-mt", "1", 0);
  if (ffv1) av_dict_set(&opts, "slices", "4", 0);
  const int r = avcodec_open2(d.enc, codec, &opts);
  av_dict_free(&opts);
  if (r < 0) d.fail(r, "open the " + d.encoder + " encoder");

  AVFormatContext* ic = d.in.format;
  AVStream* ist = ic->streams[d.in.video_stream];
  d.video = avformat_new_stream(d.out, nullptr);
  avcodec_parameters_from_context(d.video->codecpar, d.enc);
  d.video->time_base = e.time_base;
  d.video->sample_aspect_ratio = e.sample_aspect_ratio;
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
  d.frame = av_frame_alloc();
  d.packet = av_packet_alloc();
  d.frame->format = pix;
  d.frame->width = e.width;
  d.frame->height = e.height;
  if (av_frame_get_buffer(d.frame, 0) < 0)
    throw Error(ErrorKind::internal, d.name, "out of memory");
  d.sws = sws_getContext(
      e.width, e.height, settings.u16 ? AV_PIX_FMT_RGB48 : AV_PIX_FMT_RGB24, e.width, e.height, pix,
      SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INP, nullptr, nullptr, nullptr);
  if (d.sws == nullptr) throw Error(ErrorKind::internal, d.name, "cannot convert RGB to YUV");
  const bool full = info.colour.range == AVCOL_RANGE_JPEG;
  sws_setColorspaceDetails(d.sws, sws_getCoefficients(SWS_CS_DEFAULT), 1,
                           sws_getCoefficients(sws_matrix_of(info.colour.matrix)), full ? 1 : 0, 0,
                           1 << 16, 1 << 16);
}

VideoOutput::~VideoOutput() {
  Impl& d = *impl_;
  sws_freeContext(d.sws);
  av_frame_free(&d.frame);
  av_packet_free(&d.packet);
  avcodec_free_context(&d.enc);
  if (d.out != nullptr) {
    if (d.opened) avio_closep(&d.out->pb);
    avformat_free_context(d.out);
  }
}

const std::string& VideoOutput::encoder() const {
  return impl_->encoder;
}
const std::vector<std::string>& VideoOutput::notices() const {
  return impl_->notices;
}
int VideoOutput::copied_streams() const {
  return static_cast<int>(impl_->out->nb_streams) - 1;
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

void VideoOutput::Impl::drain_encoder() {
  while (true) {
    const int r = avcodec_receive_packet(enc, packet);
    if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return;
    if (r < 0) fail(r, "encode");
    packet->stream_index = video->index;
    av_packet_rescale_ts(packet, enc->time_base, video->time_base);
    if (int w = av_interleaved_write_frame(out, packet); w < 0) fail(w, "write");
  }
}

void VideoOutput::write(const VideoFrame& f) {
  Impl& d = *impl_;
  d.mux_copied();
  if (f.width != d.enc->width || f.height != d.enc->height) {
    throw Error(ErrorKind::internal, d.name, "a frame of the wrong size reached the encoder");
  }
  if (av_frame_make_writable(d.frame) < 0)
    throw Error(ErrorKind::internal, d.name, "out of memory");
  const std::uint8_t* src[4] = {f.pixels.data(), nullptr, nullptr, nullptr};
  const int stride[4] = {f.width * 3 * (f.u16 ? 2 : 1), 0, 0, 0};
  sws_scale(d.sws, src, stride, 0, f.height, d.frame->data, d.frame->linesize);
  std::int64_t pts = f.pts;
  if (d.last_pts != AV_NOPTS_VALUE && pts <= d.last_pts) pts = d.last_pts + 1;
  d.last_pts = pts;
  d.frame->pts = pts;
  d.frame->color_primaries = d.enc->color_primaries;
  d.frame->color_trc = d.enc->color_trc;
  d.frame->colorspace = d.enc->colorspace;
  d.frame->color_range = d.enc->color_range;
  d.frame->sample_aspect_ratio = d.enc->sample_aspect_ratio;
  if (int r = avcodec_send_frame(d.enc, d.frame); r < 0) d.fail(r, "encode");
  d.drain_encoder();
}

void VideoOutput::finish() {
  Impl& d = *impl_;
  if (int r = avcodec_send_frame(d.enc, nullptr); r < 0 && r != AVERROR_EOF) d.fail(r, "encode");
  d.drain_encoder();
  d.mux_copied();
  if (int r = av_write_trailer(d.out); r < 0) d.fail(r, "finish");
  if (int r = avio_closep(&d.out->pb); r < 0) d.fail(r, "close");
  d.opened = false;
  d.finished = true;
}

}  // namespace hires::io
