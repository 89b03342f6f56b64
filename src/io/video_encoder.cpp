// Encoding RGB frames with libavcodec: the codec `--codec` names, the input's colour tags and
// pixel shape, 10-bit where the encoder has it. The packets go to segment files and from there
// to the muxer (src/io/video_writer.cpp).
#include <fmt/format.h>

#include <cstdlib>

#include "hires/error.hpp"
#include "io/video_impl.hpp"

extern "C" {
#include <libavutil/opt.h>
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

const AVCodec* find_encoder(VideoCodec want) {
  for (const char* n : encoders_for(want)) {
    if (const AVCodec* c = avcodec_find_encoder_by_name(n)) return c;
  }
  std::string have;
  for (VideoCodec c :
       {VideoCodec::h264, VideoCodec::h265, VideoCodec::vp9, VideoCodec::av1, VideoCodec::ffv1}) {
    if (!video_encoder_name(c).empty())
      have += std::string(have.empty() ? "" : ", ") + codec_word(c);
  }
  throw Error(ErrorKind::usage, "codec",
              fmt::format("{} has no encoder in this build's libavcodec", codec_word(want)),
              "available here: " + have);
}

}  // namespace

std::string video_encoder_name(VideoCodec codec) {
  for (const char* name : encoders_for(codec)) {
    if (avcodec_find_encoder_by_name(name) != nullptr) return name;
  }
  return {};
}

void VideoEncoder::Impl::fail(int r, const std::string& what) const {
  throw Error(ErrorKind::output, name, fmt::format("cannot {}: {}", what, av_error_text(r)));
}

void VideoEncoder::Impl::drain(std::vector<VideoPacket>& packets) {
  while (true) {
    const int r = avcodec_receive_packet(enc, packet);
    if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return;
    if (r < 0) fail(r, "encode");
    VideoPacket& p = packets.emplace_back();
    p.data.assign(packet->data, packet->data + packet->size);
    p.pts = packet->pts;
    p.dts = packet->dts;
    p.duration = packet->duration;
    p.key = (packet->flags & AV_PKT_FLAG_KEY) != 0;
    av_packet_unref(packet);
  }
}

VideoEncoder::VideoEncoder(const std::filesystem::path& container_of, const VideoInputInfo& info,
                           const VideoOutputSettings& settings)
    : impl_(std::make_unique<Impl>()) {
  Impl& d = *impl_;
  d.name = container_of.string();
  d.format = av_guess_format(nullptr, d.name.c_str(), nullptr);
  if (d.format == nullptr) {
    throw Error(
        ErrorKind::usage, d.name,
        fmt::format("cannot tell the container from '{}'", container_of.extension().string()),
        "use an extension .mp4 .mkv .webm or .mov");
  }
  const AVCodec* codec = find_encoder(settings.codec);
  d.encoder = codec->name;
  if (avformat_query_codec(d.format, codec->id, FF_COMPLIANCE_NORMAL) != 1) {
    throw Error(ErrorKind::usage, d.name,
                fmt::format("the {} container cannot hold {} video", d.format->name,
                            codec_word(settings.codec)),
                "use .mkv, which holds every codec");
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
  if (!ffv1 && (settings.size.width % 2 != 0 || settings.size.height % 2 != 0)) {
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
  if ((d.format->flags & AVFMT_GLOBALHEADER) != 0) e.flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
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

VideoEncoder::~VideoEncoder() = default;  // Impl frees the FFmpeg state

const std::string& VideoEncoder::encoder() const {
  return impl_->encoder;
}
const std::vector<std::string>& VideoEncoder::notices() const {
  return impl_->notices;
}
std::vector<std::uint8_t> VideoEncoder::extradata() const {
  const AVCodecContext& e = *impl_->enc;
  if (e.extradata == nullptr) return {};
  return {e.extradata, e.extradata + e.extradata_size};
}

void VideoEncoder::write(const VideoFrame& f, std::vector<VideoPacket>& packets) {
  Impl& d = *impl_;
  if (f.width != d.enc->width || f.height != d.enc->height) {
    throw Error(ErrorKind::internal, d.name, "a frame of the wrong size reached the encoder");
  }
  if (av_frame_make_writable(d.frame) < 0)
    throw Error(ErrorKind::internal, d.name, "out of memory");
  const std::uint8_t* src[4] = {f.pixels.data(), nullptr, nullptr, nullptr};
  const int stride[4] = {f.width * 3 * (f.u16 ? 2 : 1), 0, 0, 0};
  sws_scale(d.sws, src, stride, 0, f.height, d.frame->data, d.frame->linesize);
  d.frame->pts = f.pts;
  d.frame->color_primaries = d.enc->color_primaries;
  d.frame->color_trc = d.enc->color_trc;
  d.frame->colorspace = d.enc->colorspace;
  d.frame->color_range = d.enc->color_range;
  d.frame->sample_aspect_ratio = d.enc->sample_aspect_ratio;
  if (int r = avcodec_send_frame(d.enc, d.frame); r < 0) d.fail(r, "encode");
  d.drain(packets);
}

void VideoEncoder::finish(std::vector<VideoPacket>& packets) {
  Impl& d = *impl_;
  if (int r = avcodec_send_frame(d.enc, nullptr); r < 0 && r != AVERROR_EOF) d.fail(r, "encode");
  d.drain(packets);
}

}  // namespace hires::io
