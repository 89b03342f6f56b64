// Decoding a clip's best video stream to RGB with libavformat/libavcodec/libswscale, keeping the
// packets of its audio and subtitle streams for the writer (src/io/video_writer.cpp).
#include <fmt/format.h>

#include <cmath>
#include <cstring>

#include "hires/error.hpp"
#include "io/io.hpp"
#include "io/video_impl.hpp"

extern "C" {
#include <libavutil/pixdesc.h>
}

namespace hires::io {

std::string av_error_text(int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, buf, sizeof buf);
  return buf;
}

namespace {

// A colour tag as the container gave it. FFmpeg stores whatever number the file holds in these
// enum fields, also numbers outside the enum, and loading such a value as the enum is undefined
// behaviour (found by fuzz_video): read the int, and call an unknown value unspecified.
template <class E>
int tag_value(const E& field, int count, int unspecified) {
  static_assert(sizeof(E) == sizeof(int));
  int v = 0;
  std::memcpy(&v, &field, sizeof v);
  return v >= 0 && v < count ? v : unspecified;
}

// Library code never prints: libav's own log stays quiet, errors come back as exceptions.
void quiet_libav() {
  static const bool once = [] {
    av_log_set_level(AV_LOG_QUIET);
    return true;
  }();
  (void)once;
}

bool full_range_format(int pix_fmt) {
  switch (pix_fmt) {
    case AV_PIX_FMT_YUVJ420P:
    case AV_PIX_FMT_YUVJ422P:
    case AV_PIX_FMT_YUVJ444P:
    case AV_PIX_FMT_YUVJ440P:
    case AV_PIX_FMT_YUVJ411P:
      return true;
    default:
      return false;
  }
}

int sws_matrix(int matrix) {
  switch (matrix) {
    case AVCOL_SPC_BT709:
      return SWS_CS_ITU709;
    case AVCOL_SPC_FCC:
      return SWS_CS_FCC;
    case AVCOL_SPC_SMPTE240M:
      return SWS_CS_SMPTE240M;
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL:
      return SWS_CS_BT2020;
    default:
      return SWS_CS_ITU601;  // BT.470BG, SMPTE 170M
  }
}

}  // namespace

VideoInput::VideoInput(const std::filesystem::path& path, const VideoRange& range)
    : impl_(std::make_unique<Impl>()) {
  quiet_libav();
  Impl& d = *impl_;
  d.name = path.string();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error(ErrorKind::input, d.name, "no such file");
  if (std::filesystem::is_directory(path, ec)) {
    throw Error(ErrorKind::input, d.name, "is a folder, not a video");
  }
  if (int r = avformat_open_input(&d.format, d.name.c_str(), nullptr, nullptr); r < 0) {
    throw Error(ErrorKind::input, d.name, "not a video: " + av_error_text(r),
                "the file is truncated, corrupt or not a video");
  }
  const std::string demuxer = d.format->iformat->name;
  if (demuxer == "image2" || demuxer.find("_pipe") != std::string::npos) {
    throw Error(ErrorKind::input, d.name, "is an image, not a video",
                "upscale still images with hires IMAGE");
  }
  if (int r = avformat_find_stream_info(d.format, nullptr); r < 0) {
    throw Error(ErrorKind::input, d.name, "cannot read the streams: " + av_error_text(r),
                std::string(kCorruptHint));
  }
  const AVCodec* codec = nullptr;
  d.video_stream = av_find_best_stream(d.format, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
  if (d.video_stream == AVERROR_DECODER_NOT_FOUND) {
    const int s = av_find_best_stream(d.format, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    const char* name = s >= 0 ? avcodec_get_name(d.format->streams[s]->codecpar->codec_id) : "?";
    throw Error(ErrorKind::input, d.name,
                fmt::format("its video codec {} has no decoder in this build", name),
                "convert it first, e.g. to H.264 or FFV1");
  }
  if (d.video_stream < 0) throw Error(ErrorKind::input, d.name, "has no video stream");
  AVStream* st = d.format->streams[d.video_stream];
  if ((st->disposition & AV_DISPOSITION_ATTACHED_PIC) != 0) {
    throw Error(ErrorKind::input, d.name, "has only a cover picture, no video stream");
  }

  d.decoder = avcodec_alloc_context3(codec);
  avcodec_parameters_to_context(d.decoder, st->codecpar);
  d.decoder->pkt_timebase = st->time_base;
  d.decoder->thread_count = 0;
  if (int r = avcodec_open2(d.decoder, codec, nullptr); r < 0) {
    throw Error(ErrorKind::input, d.name,
                fmt::format("cannot open the {} decoder: {}", codec->name, av_error_text(r)));
  }
  d.packet = av_packet_alloc();
  d.frame = av_frame_alloc();

  VideoInputInfo& info = d.info;
  info.container = d.format->iformat->name;
  info.codec = avcodec_get_name(st->codecpar->codec_id);
  info.size = {st->codecpar->width, st->codecpar->height};
  if (info.size.width <= 0 || info.size.height <= 0) {
    throw Error(ErrorKind::input, d.name, "the video stream has no picture size",
                std::string(kCorruptHint));
  }
  const AVPixFmtDescriptor* desc =
      av_pix_fmt_desc_get(static_cast<AVPixelFormat>(st->codecpar->format));
  info.high_bit = desc != nullptr && desc->comp[0].depth > 8;
  info.time_base_num = st->time_base.num;
  info.time_base_den = st->time_base.den;
  AVRational rate = st->avg_frame_rate.num > 0 ? st->avg_frame_rate : st->r_frame_rate;
  info.fps = rate.num > 0 && rate.den > 0 ? av_q2d(rate) : 0;
  AVRational sar = av_guess_sample_aspect_ratio(d.format, st, nullptr);
  if (sar.num > 0 && sar.den > 0) {
    info.sar_num = sar.num;
    info.sar_den = sar.den;
  }
  ColourTags& c = info.colour;
  c.primaries = tag_value(st->codecpar->color_primaries, AVCOL_PRI_NB, AVCOL_PRI_UNSPECIFIED);
  c.transfer = tag_value(st->codecpar->color_trc, AVCOL_TRC_NB, AVCOL_TRC_UNSPECIFIED);
  c.matrix = tag_value(st->codecpar->color_space, AVCOL_SPC_NB, AVCOL_SPC_UNSPECIFIED);
  c.range = tag_value(st->codecpar->color_range, AVCOL_RANGE_NB, AVCOL_RANGE_UNSPECIFIED);
  if (c.matrix == AVCOL_SPC_UNSPECIFIED) {  // what players assume: HD is BT.709, SD BT.601
    c.matrix = info.size.height >= 720 ? AVCOL_SPC_BT709 : AVCOL_SPC_SMPTE170M;
  }
  if (c.range == AVCOL_RANGE_UNSPECIFIED) {
    c.range = full_range_format(st->codecpar->format) ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
  }

  d.copy.assign(d.format->nb_streams, false);
  for (unsigned i = 0; i < d.format->nb_streams; ++i) {
    if (static_cast<int>(i) == d.video_stream) continue;
    const AVMediaType type = d.format->streams[i]->codecpar->codec_type;
    if (type == AVMEDIA_TYPE_AUDIO || type == AVMEDIA_TYPE_SUBTITLE) {
      d.copy[i] = true;
      ++info.copied_streams;
    } else {
      info.notices.push_back(
          fmt::format("stream {} ({} {}) is not copied", i, av_get_media_type_string(type),
                      avcodec_get_name(d.format->streams[i]->codecpar->codec_id)));
    }
  }

  // The range, in microseconds.
  // Time 0 is the first video frame's (as a player shows it; audio may start a little earlier).
  const std::int64_t base = st->start_time != AV_NOPTS_VALUE
                                ? av_rescale_q(st->start_time, st->time_base, AV_TIME_BASE_Q)
                            : d.format->start_time != AV_NOPTS_VALUE ? d.format->start_time
                                                                     : 0;
  double total = 0;
  if (st->duration != AV_NOPTS_VALUE && st->duration > 0) {
    total = static_cast<double>(st->duration) * av_q2d(st->time_base);
  } else if (d.format->duration != AV_NOPTS_VALUE && d.format->duration > 0) {
    total = static_cast<double>(d.format->duration) / AV_TIME_BASE;
  }
  if (range.start < 0 || (range.duration && !(*range.duration > 0))) {
    throw Error(ErrorKind::usage, range.start < 0 ? "start" : "duration",
                "must be a positive time");
  }
  if (range.start > 0 && total > 0 && range.start >= total) {
    throw Error(ErrorKind::usage, "start",
                fmt::format("{:g} s is past the end of {} ({:.3f} s)", range.start, d.name, total));
  }
  d.ranged = range.start > 0 || range.duration.has_value();
  d.start_us = base + std::llround(range.start * AV_TIME_BASE);
  d.offset_us = range.start > 0 ? d.start_us : 0;
  if (range.duration) d.end_us = d.start_us + std::llround(*range.duration * AV_TIME_BASE);
  info.duration = std::max(0.0, total - range.start);
  if (range.duration && (total <= 0 || *range.duration < info.duration)) {
    info.duration = *range.duration;
  }
  if (!d.ranged && st->nb_frames > 0) {
    info.frames = st->nb_frames;
  } else if (info.fps > 0 && info.duration > 0) {
    info.frames = std::llround(info.duration * info.fps);
  }
  if (range.start > 0) {
    // To the key frame at or before the start; frames before it are decoded and dropped.
    avformat_seek_file(d.format, -1, INT64_MIN, d.start_us, d.start_us, 0);
    avcodec_flush_buffers(d.decoder);
  }
}

VideoInput::~VideoInput() = default;  // Impl frees the FFmpeg state

const VideoInputInfo& VideoInput::info() const {
  return impl_->info;
}

void VideoInput::Impl::keep_packet(const AVPacket& p) {
  const AVRational tb = format->streams[p.stream_index]->time_base;
  const std::int64_t t = p.pts != AV_NOPTS_VALUE ? p.pts : p.dts;
  if (ranged && t != AV_NOPTS_VALUE) {
    const std::int64_t us = av_rescale_q(t, tb, AV_TIME_BASE_Q);
    if (us < start_us || (end_us > 0 && us >= end_us)) return;
  }
  PacketPtr kept(av_packet_clone(&p));
  if (!kept) throw Error(ErrorKind::internal, name, "out of memory copying a packet");
  const std::int64_t shift = av_rescale_q(offset_us, AV_TIME_BASE_Q, tb);
  if (kept->pts != AV_NOPTS_VALUE) kept->pts -= shift;
  if (kept->dts != AV_NOPTS_VALUE) kept->dts -= shift;
  std::lock_guard<std::mutex> lock(mutex);
  copied.push_back(std::move(kept));
}

bool VideoInput::Impl::read_packet() {
  const int r = av_read_frame(format, packet);
  if (r == AVERROR_EOF) return false;
  if (r < 0) {
    throw Error(ErrorKind::input, name, "cannot read: " + av_error_text(r),
                std::string(kCorruptHint));
  }
  const std::int64_t t = packet->pts != AV_NOPTS_VALUE ? packet->pts : packet->dts;
  last_read_us =
      t == AV_NOPTS_VALUE
          ? AV_NOPTS_VALUE
          : av_rescale_q(t, format->streams[packet->stream_index]->time_base, AV_TIME_BASE_Q);
  if (packet->stream_index == video_stream) {
    if (!video_done) {
      const int s = avcodec_send_packet(decoder, packet);
      if (s < 0 && s != AVERROR(EAGAIN)) {
        av_packet_unref(packet);
        throw Error(ErrorKind::input, name,
                    fmt::format("cannot decode frame {}: {}", next_index + 1, av_error_text(s)),
                    std::string(kCorruptHint));
      }
    }
  } else if (keep_copied && copy[packet->stream_index]) {
    keep_packet(*packet);
  }
  av_packet_unref(packet);
  return true;
}

bool VideoInput::Impl::receive(VideoFrame& out) {
  while (!video_done) {
    const int r = avcodec_receive_frame(decoder, frame);
    if (r == AVERROR(EAGAIN)) return false;
    if (r == AVERROR_EOF) {
      video_done = true;
      return false;
    }
    if (r < 0) {
      throw Error(ErrorKind::input, name,
                  fmt::format("cannot decode frame {}: {}", next_index + 1, av_error_text(r)),
                  std::string(kCorruptHint));
    }
    const AVRational tb = format->streams[video_stream]->time_base;
    std::int64_t pts = frame->best_effort_timestamp;
    if (pts == AV_NOPTS_VALUE) {
      const double step = info.fps > 0 ? 1.0 / info.fps / av_q2d(tb) : 1.0;
      pts =
          last_pts == AV_NOPTS_VALUE ? 0 : last_pts + std::max<std::int64_t>(1, std::llround(step));
    }
    const std::int64_t us = av_rescale_q(pts, tb, AV_TIME_BASE_Q);
    if (ranged && us < start_us) {
      av_frame_unref(frame);
      continue;
    }
    if (end_us > 0 && us >= end_us) {
      av_frame_unref(frame);
      video_done = true;
      return false;
    }
    last_pts = pts;
    out.pts = pts - av_rescale_q(offset_us, AV_TIME_BASE_Q, tb);
    // Encoders and muxers need increasing times: a repeated or backward time moves on by a tick.
    if (last_out_pts != AV_NOPTS_VALUE && out.pts <= last_out_pts) out.pts = last_out_pts + 1;
    last_out_pts = out.pts;
    if (convert_frames) {
      convert(out);
    } else {
      out.index = next_index++;
    }
    av_frame_unref(frame);
    return true;
  }
  return false;
}

void VideoInput::Impl::convert(VideoFrame& out) {
  if (frame->width != info.size.width || frame->height != info.size.height) {
    throw Error(ErrorKind::input, name,
                fmt::format("the picture size changes at frame {} ({}x{} -> {}x{})", next_index + 1,
                            info.size.width, info.size.height, frame->width, frame->height),
                "hires video needs one picture size per clip");
  }
  const int w = frame->width, h = frame->height;
  const AVPixelFormat dst = info.high_bit ? AV_PIX_FMT_RGB48 : AV_PIX_FMT_RGB24;
  sws = sws_getCachedContext(sws, w, h, static_cast<AVPixelFormat>(frame->format), w, h, dst,
                             SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nullptr, nullptr,
                             nullptr);
  if (sws == nullptr) {
    throw Error(ErrorKind::input, name,
                fmt::format("cannot convert {} pictures to RGB",
                            av_get_pix_fmt_name(static_cast<AVPixelFormat>(frame->format))));
  }
  const int space = tag_value(frame->colorspace, AVCOL_SPC_NB, AVCOL_SPC_UNSPECIFIED);
  const int range = tag_value(frame->color_range, AVCOL_RANGE_NB, AVCOL_RANGE_UNSPECIFIED);
  const int matrix = space != AVCOL_SPC_UNSPECIFIED ? space : info.colour.matrix;
  const bool full = range != AVCOL_RANGE_UNSPECIFIED ? range == AVCOL_RANGE_JPEG
                                                     : info.colour.range == AVCOL_RANGE_JPEG;
  sws_setColorspaceDetails(sws, sws_getCoefficients(sws_matrix(matrix)), full ? 1 : 0,
                           sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16);
  const int bytes = info.high_bit ? 2 : 1;
  out.width = w;
  out.height = h;
  out.u16 = info.high_bit;
  out.index = next_index++;
  out.pixels.resize(static_cast<std::size_t>(w) * h * 3 * bytes);
  std::uint8_t* planes[4] = {out.pixels.data(), nullptr, nullptr, nullptr};
  int strides[4] = {w * 3 * bytes, 0, 0, 0};
  sws_scale(sws, frame->data, frame->linesize, 0, h, planes, strides);
}

bool VideoInput::next(VideoFrame& out) {
  Impl& d = *impl_;
  while (true) {
    if (d.receive(out)) return true;
    if (d.video_done) break;
    if (d.draining) {
      d.video_done = true;
      break;
    }
    if (!d.read_packet()) {
      avcodec_send_packet(d.decoder, nullptr);
      d.draining = true;
    }
  }
  if (!d.keep_copied) return false;
  // The video has ended: read on for the copied streams' packets that are left (to the end of
  // the file, or a little past the end of the range, as streams are interleaved).
  const std::int64_t stop = d.end_us > 0 ? d.end_us + std::int64_t{2} * AV_TIME_BASE : 0;
  while (d.read_packet()) {
    if (stop > 0 && d.last_read_us != AV_NOPTS_VALUE && d.last_read_us > stop) break;
  }
  return false;
}

bool VideoInput::skip() {
  Impl& d = *impl_;
  VideoFrame unused;
  d.convert_frames = false;
  const bool got = next(unused);
  d.convert_frames = true;
  return got;
}

void VideoInput::video_only() {
  impl_->keep_copied = false;
}

void VideoInput::copy_streams_only() {
  impl_->video_done = true;
}

vips::VImage frame_image(VideoFrame& f) {
  ensure_vips();
  const vips::VImage img =
      vips::VImage::new_from_memory(f.pixels.data(), f.pixels.size(), f.width, f.height, 3,
                                    f.u16 ? VIPS_FORMAT_USHORT : VIPS_FORMAT_UCHAR);
  return img.copy(vips::VImage::option()->set(
      "interpretation", f.u16 ? VIPS_INTERPRETATION_RGB16 : VIPS_INTERPRETATION_sRGB));
}

}  // namespace hires::io
