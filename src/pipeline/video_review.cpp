// `hires review` for clips: does the upscaled clip flicker more than its source? Each upscaled
// frame is brought back to the source's size; the luma change between consecutive frames is
// measured in both clips, and what the upscale added to it (temporal consistency).
#include <fmt/format.h>

#include <cmath>
#include <vector>

#include "hires/error.hpp"
#include "hires/video.hpp"
#include "io/io.hpp"
#include "io/video.hpp"

namespace hires {
namespace {

// Luma (BT.601 weights) in 8-bit levels, at `size` (resampled when the frame differs).
std::vector<float> luma_at(io::VideoFrame& f, Size size, const std::filesystem::path& clip) try {
  vips::VImage im = io::frame_image(f).cast(VIPS_FORMAT_FLOAT);
  if (f.u16) im = im / 257.0;
  if (im.width() != size.width || im.height() != size.height) {
    im = im.resize(
        static_cast<double>(size.width) / im.width(),
        vips::VImage::option()->set("vscale", static_cast<double>(size.height) / im.height()));
    if (im.width() != size.width || im.height() != size.height) {
      im = im.embed(0, 0, size.width, size.height,
                    vips::VImage::option()->set("extend", VIPS_EXTEND_COPY))
               .crop(0, 0, size.width, size.height);
    }
  }
  im = im.recomb(vips::VImage::new_matrixv(3, 1, 0.299, 0.587, 0.114));
  std::size_t bytes = 0;
  float* data = static_cast<float*>(im.write_to_memory(&bytes));
  std::vector<float> y(data, data + bytes / sizeof(float));
  g_free(data);
  return y;
} catch (const vips::VError&) {
  throw Error(ErrorKind::internal, clip.string(),
              fmt::format("cannot measure frame {}: {}", f.index + 1,
                          io::take_vips_error("unknown error")));
}

}  // namespace

bool is_video_file(const std::filesystem::path& path) {
  return !io::video_container(path).empty();
}

VideoReview review_video(const std::filesystem::path& original,
                         const std::filesystem::path& upscaled, std::int64_t max_frames) {
  io::VideoInput a(original);
  io::VideoInput b(upscaled);
  const Size size = a.info().size;
  VideoReview r;
  std::vector<float> prev_a, prev_b;
  double change_a = 0, change_b = 0, added = 0, psnr = 0;
  std::int64_t pairs = 0, frames_b = 0;
  io::VideoFrame fa, fb;
  bool more_b = true;
  while ((max_frames <= 0 || r.frames < max_frames) && a.next(fa)) {
    if (!(more_b = b.next(fb))) break;
    ++frames_b;
    std::vector<float> ya = luma_at(fa, size, original);
    std::vector<float> yb = luma_at(fb, size, upscaled);
    double se = 0;
    for (std::size_t i = 0; i < ya.size(); ++i) se += (ya[i] - yb[i]) * (ya[i] - yb[i]);
    const double mse = se / static_cast<double>(ya.size());
    psnr += mse > 0 ? 10 * std::log10(255.0 * 255.0 / mse) : 99.0;
    if (!prev_a.empty()) {
      double sa = 0, sb = 0, sd = 0;
      for (std::size_t i = 0; i < ya.size(); ++i) {
        const double da = ya[i] - prev_a[i];
        const double db = yb[i] - prev_b[i];
        sa += std::abs(da);
        sb += std::abs(db);
        sd += std::abs(db - da);
      }
      const auto n = static_cast<double>(ya.size());
      change_a += sa / n;
      change_b += sb / n;
      added += sd / n;
      ++pairs;
    }
    prev_a = std::move(ya);
    prev_b = std::move(yb);
    ++r.frames;
  }
  if (r.frames == 0) {
    throw Error(ErrorKind::input, more_b ? original.string() : upscaled.string(), "has no frames",
                std::string(io::kCorruptHint));
  }
  const bool a_left = !more_b || a.next(fa);
  const bool b_left = more_b && b.next(fb);
  if (max_frames <= 0 && (a_left || b_left)) {
    r.reasons.push_back(fmt::format("the clips differ in length: {} has {} frames",
                                    (a_left ? upscaled : original).string(), r.frames));
  }
  r.resemblance_psnr = psnr / static_cast<double>(r.frames);
  if (pairs > 0) {
    r.source_change = change_a / static_cast<double>(pairs);
    r.output_change = change_b / static_cast<double>(pairs);
    r.added_flicker = added / static_cast<double>(pairs);
  }
  // A temporally steady upscale changes from frame to frame as the source does; encoding both
  // clips adds some noise of its own (about half a level at CRF 18).
  const double allowed = r.source_change * 1.25 + 0.75;
  if (r.output_change > allowed) {
    r.reasons.push_back(
        fmt::format("flickers: {:.2f} levels of change between frames where the source has {:.2f}",
                    r.output_change, r.source_change));
  }
  if (r.resemblance_psnr < 25) {
    r.reasons.push_back(
        fmt::format("frames differ from the source's: PSNR {:.1f} dB at the source's size",
                    r.resemblance_psnr));
  }
  r.verdict = r.reasons.empty()                                          ? ReviewVerdict::ok
              : r.output_change > 2 * allowed || r.resemblance_psnr < 20 ? ReviewVerdict::fail
                                                                         : ReviewVerdict::warn;
  return r;
}

}  // namespace hires
