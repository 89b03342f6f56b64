// Test clips written with libav* encoders, and a probe over libavformat/libavcodec.
#include "video/clips.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
}

#include <cmath>
#include <cstring>
#include <stdexcept>

namespace hires::test {
namespace {

void check(int r, const char* what) {
  if (r < 0) {
    char buf[AV_ERROR_MAX_STRING_SIZE] = {};
    av_strerror(r, buf, sizeof buf);
    throw std::runtime_error(std::string(what) + ": " + buf);
  }
}

// Sends `frame` (nullptr: the end) and writes every packet that comes out to stream `st`.
void encode(AVFormatContext* oc, AVCodecContext* enc, AVStream* st, AVFrame* frame) {
  check(avcodec_send_frame(enc, frame), "send frame");
  AVPacket* pkt = av_packet_alloc();
  while (avcodec_receive_packet(enc, pkt) == 0) {
    pkt->stream_index = st->index;
    av_packet_rescale_ts(pkt, enc->time_base, st->time_base);
    check(av_interleaved_write_frame(oc, pkt), "write");
  }
  av_packet_free(&pkt);
}

}  // namespace

void make_clip(const std::filesystem::path& path, const ClipSpec& spec) {
  av_log_set_level(AV_LOG_ERROR);
  AVFormatContext* oc = nullptr;
  check(avformat_alloc_output_context2(&oc, nullptr, nullptr, path.c_str()), "container");
  const AVCodec* vc = avcodec_find_encoder_by_name(spec.encoder.c_str());
  if (vc == nullptr) throw std::runtime_error("no encoder " + spec.encoder);
  AVCodecContext* ve = avcodec_alloc_context3(vc);
  ve->width = spec.width;
  ve->height = spec.height;
  ve->pix_fmt = spec.ten_bit ? AV_PIX_FMT_YUV420P10 : AV_PIX_FMT_YUV420P;
  ve->time_base = spec.vfr ? AVRational{1, 1000} : AVRational{1, spec.fps};
  ve->framerate = {spec.fps, 1};
  ve->gop_size = 6;
  ve->sample_aspect_ratio = {spec.sar_num, spec.sar_den};
  ve->thread_count = 1;
  if (spec.bt709) {
    ve->color_primaries = AVCOL_PRI_BT709;
    ve->color_trc = AVCOL_TRC_BT709;
    ve->colorspace = AVCOL_SPC_BT709;
    ve->color_range = AVCOL_RANGE_MPEG;
  }
  if ((oc->oformat->flags & AVFMT_GLOBALHEADER) != 0) ve->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  AVDictionary* opts = nullptr;
  if (spec.encoder == "libx264") av_dict_set(&opts, "preset", "ultrafast", 0);
  check(avcodec_open2(ve, vc, &opts), "open video encoder");
  av_dict_free(&opts);
  AVStream* vs = avformat_new_stream(oc, nullptr);
  check(avcodec_parameters_from_context(vs->codecpar, ve), "video parameters");
  vs->time_base = ve->time_base;
  vs->sample_aspect_ratio = ve->sample_aspect_ratio;
  if (spec.rotation != 0) {
    auto* m = reinterpret_cast<int32_t*>(
        av_stream_new_side_data(vs, AV_PKT_DATA_DISPLAYMATRIX, 9 * sizeof(int32_t)));
    av_display_rotation_set(m, spec.rotation);
  }

  std::vector<AVCodecContext*> audio;
  std::vector<AVStream*> audio_streams;
  for (int t = 0; t < spec.audio_tracks; ++t) {
    const AVCodec* ac = avcodec_find_encoder(AV_CODEC_ID_AAC);
    AVCodecContext* ae = avcodec_alloc_context3(ac);
    ae->sample_rate = 48000;
    ae->sample_fmt = AV_SAMPLE_FMT_FLTP;
    av_channel_layout_default(&ae->ch_layout, 1);
    ae->bit_rate = 64000;
    ae->time_base = {1, 48000};
    if ((oc->oformat->flags & AVFMT_GLOBALHEADER) != 0) ae->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    check(avcodec_open2(ae, ac, nullptr), "open aac");
    AVStream* as = avformat_new_stream(oc, nullptr);
    check(avcodec_parameters_from_context(as->codecpar, ae), "audio parameters");
    as->time_base = ae->time_base;
    av_dict_set(&as->metadata, "language", t == 0 ? "eng" : "fra", 0);
    audio.push_back(ae);
    audio_streams.push_back(as);
  }
  AVStream* ss = nullptr;
  if (spec.subtitles) {
    ss = avformat_new_stream(oc, nullptr);
    ss->codecpar->codec_type = AVMEDIA_TYPE_SUBTITLE;
    ss->codecpar->codec_id = AV_CODEC_ID_SUBRIP;
    ss->time_base = {1, 1000};
    av_dict_set(&ss->metadata, "language", "eng", 0);
  }
  if (spec.metadata) {
    av_dict_set(&oc->metadata, "title", "hires test clip", 0);
    av_dict_set(&oc->metadata, "creation_time", "2024-01-02T03:04:05.000000Z", 0);
  }
  check(avio_open(&oc->pb, path.c_str(), AVIO_FLAG_WRITE), "open file");
  check(avformat_write_header(oc, nullptr), "header");

  AVFrame* f = av_frame_alloc();
  f->format = ve->pix_fmt;
  f->width = spec.width;
  f->height = spec.height;
  check(av_frame_get_buffer(f, 0), "frame buffer");
  std::int64_t pts = 0;
  double end_time = 0;
  for (int i = 0; i < spec.frames; ++i) {
    check(av_frame_make_writable(f), "writable");
    const int moved = spec.still ? 0 : i;
    const int sx = (moved * 3) % std::max(1, spec.width - 12),
              sy = (moved * 2) % std::max(1, spec.height - 12);
    const int jitter = i % 2 == 1 ? spec.flicker : -spec.flicker;
    // 8-bit values; 10-bit planes get them times 4 (plus a low-bit ramp that 8 bits lose).
    const auto put = [&](int plane, int x, int y, int v) {
      if (spec.ten_bit) {
        auto* row = reinterpret_cast<uint16_t*>(f->data[plane] + y * f->linesize[plane]);
        row[x] = static_cast<uint16_t>(v * 4 + (x & 3));
      } else {
        f->data[plane][y * f->linesize[plane] + x] = static_cast<uint8_t>(v);
      }
    };
    for (int y = 0; y < spec.height; ++y) {
      for (int x = 0; x < spec.width; ++x) {
        const bool in_square = x >= sx && x < sx + 12 && y >= sy && y < sy + 12;
        put(0, x, y,
            jitter + (in_square ? 220 : 30 + (x * 150 / spec.width) + (y * 30 / spec.height)));
      }
    }
    for (int y = 0; y < spec.height / 2; ++y) {
      for (int x = 0; x < spec.width / 2; ++x) {
        put(1, x, y, 108 + (y * 80 / spec.height));
        put(2, x, y, 148 - (x * 80 / spec.width));
      }
    }
    f->pts = pts;
    const std::int64_t step = spec.vfr ? (i % 2 == 0 ? 1000 / spec.fps : 2000 / spec.fps) : 1;
    pts += step;
    end_time = static_cast<double>(pts) * av_q2d(ve->time_base);
    encode(oc, ve, vs, f);
  }
  encode(oc, ve, vs, nullptr);
  av_frame_free(&f);

  for (std::size_t t = 0; t < audio.size(); ++t) {
    AVCodecContext* ae = audio[t];
    AVFrame* af = av_frame_alloc();
    af->format = ae->sample_fmt;
    af->nb_samples = ae->frame_size;
    check(av_channel_layout_copy(&af->ch_layout, &ae->ch_layout), "layout");
    af->sample_rate = ae->sample_rate;
    check(av_frame_get_buffer(af, 0), "audio buffer");
    std::int64_t n = 0;
    while (static_cast<double>(n) / ae->sample_rate < end_time) {
      check(av_frame_make_writable(af), "writable");
      auto* s = reinterpret_cast<float*>(af->data[0]);
      for (int k = 0; k < af->nb_samples; ++k) {
        s[k] = 0.3f * static_cast<float>(std::sin(2 * M_PI * (440.0 + 220.0 * t) *
                                                  static_cast<double>(n + k) / ae->sample_rate));
      }
      af->pts = n;
      n += af->nb_samples;
      encode(oc, ae, audio_streams[t], af);
    }
    encode(oc, ae, audio_streams[t], nullptr);
    av_frame_free(&af);
    avcodec_free_context(&ae);
  }
  if (ss != nullptr) {
    for (int k = 0; k < 2; ++k) {
      const std::string text = "Hello " + std::to_string(k + 1);
      AVPacket* p = av_packet_alloc();
      check(av_new_packet(p, static_cast<int>(text.size())), "packet");
      std::memcpy(p->data, text.data(), text.size());
      p->pts = p->dts = 100 + 200 * k;
      p->duration = 150;
      p->stream_index = ss->index;
      p->flags |= AV_PKT_FLAG_KEY;
      av_packet_rescale_ts(p, AVRational{1, 1000}, ss->time_base);
      check(av_interleaved_write_frame(oc, p), "write subtitle");
      av_packet_free(&p);
    }
  }
  check(av_write_trailer(oc), "trailer");
  avio_closep(&oc->pb);
  avcodec_free_context(&ve);
  avformat_free_context(oc);
}

const StreamProbe* ClipProbe::first(const std::string& type) const {
  for (const auto& s : streams) {
    if (s.type == type) return &s;
  }
  return nullptr;
}

ClipProbe probe_clip(const std::filesystem::path& path) {
  av_log_set_level(AV_LOG_ERROR);
  AVFormatContext* ic = nullptr;
  check(avformat_open_input(&ic, path.c_str(), nullptr, nullptr), "open");
  check(avformat_find_stream_info(ic, nullptr), "stream info");
  ClipProbe probe;
  probe.duration = ic->duration > 0 ? static_cast<double>(ic->duration) / AV_TIME_BASE : 0;
  if (ic->start_time != AV_NOPTS_VALUE) {
    probe.start_time = static_cast<double>(ic->start_time) / AV_TIME_BASE;
  }
  for (const AVDictionaryEntry* e = nullptr;
       (e = av_dict_get(ic->metadata, "", e, AV_DICT_IGNORE_SUFFIX)) != nullptr;) {
    probe.metadata[e->key] = e->value;
  }
  int video = -1;
  AVCodecContext* dec = nullptr;
  for (unsigned i = 0; i < ic->nb_streams; ++i) {
    const AVStream* st = ic->streams[i];
    const AVCodecParameters* p = st->codecpar;
    StreamProbe s;
    s.type =
        av_get_media_type_string(p->codec_type) ? av_get_media_type_string(p->codec_type) : "?";
    s.codec = avcodec_get_name(p->codec_id);
    if (p->codec_type == AVMEDIA_TYPE_VIDEO) {
      const char* pf = av_get_pix_fmt_name(static_cast<AVPixelFormat>(p->format));
      s.pixel_format = pf != nullptr ? pf : "";
    }
    s.width = p->width;
    s.height = p->height;
    s.sar_num = p->sample_aspect_ratio.num;
    s.sar_den = p->sample_aspect_ratio.den;
    s.primaries = p->color_primaries;
    s.transfer = p->color_trc;
    s.matrix = p->color_space;
    s.range = p->color_range;
    if (const uint8_t* m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, nullptr)) {
      s.rotation = av_display_rotation_get(reinterpret_cast<const int32_t*>(m));
    }
    if (p->codec_type == AVMEDIA_TYPE_VIDEO && video < 0) {
      video = static_cast<int>(i);
      const AVCodec* c = avcodec_find_decoder(p->codec_id);
      dec = avcodec_alloc_context3(c);
      avcodec_parameters_to_context(dec, p);
      dec->pkt_timebase = st->time_base;
      check(avcodec_open2(dec, c, nullptr), "open decoder");
    }
    probe.streams.push_back(s);
  }
  AVPacket* pkt = av_packet_alloc();
  AVFrame* frame = av_frame_alloc();
  const auto drain = [&] {
    while (avcodec_receive_frame(dec, frame) == 0) {
      probe.frame_times.push_back(static_cast<double>(frame->best_effort_timestamp) *
                                  av_q2d(ic->streams[video]->time_base));
      av_frame_unref(frame);
    }
  };
  while (av_read_frame(ic, pkt) >= 0) {
    StreamProbe& s = probe.streams[pkt->stream_index];
    s.packets.emplace_back(reinterpret_cast<const char*>(pkt->data), pkt->size);
    const std::int64_t t = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
    s.packet_times.push_back(static_cast<double>(t) *
                             av_q2d(ic->streams[pkt->stream_index]->time_base));
    if (pkt->stream_index == video) {
      if (avcodec_send_packet(dec, pkt) >= 0) drain();
    }
    av_packet_unref(pkt);
  }
  if (dec != nullptr) {
    avcodec_send_packet(dec, nullptr);
    drain();
  }
  av_frame_free(&frame);
  av_packet_free(&pkt);
  avcodec_free_context(&dec);
  avformat_close_input(&ic);
  return probe;
}

}  // namespace hires::test
