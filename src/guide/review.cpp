// `hires review`: does the upscaled image still look like the original, and where did the
// upscaler invent texture, ring around edges or shift colours? Thresholds: docs/QUALITY.md.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "guide/image_ops.hpp"
#include "hires/guide.hpp"
#include "io/guide_io.hpp"
#include "io/io.hpp"

namespace hires {

std::string_view review_verdict_name(ReviewVerdict v) {
  switch (v) {
    case ReviewVerdict::ok:
      return "ok";
    case ReviewVerdict::warn:
      return "warn";
    case ReviewVerdict::fail:
      return "fail";
  }
  return "?";
}

namespace {

using guide::Plane;

constexpr int kCell = 4;             // original pixels per cell side
constexpr int kMargin = 3;           // pixels around a cell that decide whether it is flat
constexpr double kFlatStd = 2.0;     // a cell of the original this flat (luma std) is "flat"
constexpr double kTextureStd = 4.0;  // detail above this in the output is "texture"
constexpr double kHaloMean = 2.0;    // mean overshoot (levels) over a cell that makes a halo
constexpr double kPsnrWarn = 27.0;   // dB
constexpr double kPsnrFail = 22.0;
constexpr double kSsimWarn = 0.80;
constexpr double kSsimFail = 0.60;
constexpr double kTextureWarn = 0.001;  // share of cells with invented texture
constexpr double kTextureFail = 0.05;
constexpr int kTextureCells = 3;    // or one patch of this many cells
constexpr double kHaloWarn = 0.01;  // share of cells with halos (models sharpen on purpose)
constexpr double kHaloFail = 0.20;
constexpr double kColourWarn = 4.0;  // delta E of a region's mean colour
constexpr double kColourFail = 10.0;

double psnr(const Pixels& a, const Pixels& b) {
  double se = 0;
  for (std::size_t i = 0; i < a.data.size(); ++i) {
    const double d = 255.0 * (a.data[i] - b.data[i]);
    se += d * d;
  }
  const double mse = se / static_cast<double>(a.data.size());
  return mse <= 1e-10 ? 100.0 : 10.0 * std::log10(255.0 * 255.0 / mse);
}

// Wang et al. (2004) SSIM on luma with an 11-tap Gaussian window (sigma 1.5).
double ssim(const Plane& x, const Plane& y) {
  const double c1 = (0.01 * 255) * (0.01 * 255);
  const double c2 = (0.03 * 255) * (0.03 * 255);
  Plane xx(x.w, x.h), yy(x.w, x.h), xy(x.w, x.h);
  for (std::size_t i = 0; i < x.v.size(); ++i) {
    xx.v[i] = x.v[i] * x.v[i];
    yy.v[i] = y.v[i] * y.v[i];
    xy.v[i] = x.v[i] * y.v[i];
  }
  const Plane mx = guide::gauss_blur(x, 1.5), my = guide::gauss_blur(y, 1.5);
  const Plane sxx = guide::gauss_blur(xx, 1.5), syy = guide::gauss_blur(yy, 1.5),
              sxy = guide::gauss_blur(xy, 1.5);
  double sum = 0;
  for (std::size_t i = 0; i < x.v.size(); ++i) {
    const double ux = mx.v[i], uy = my.v[i];
    const double vx = sxx.v[i] - ux * ux, vy = syy.v[i] - uy * uy, cxy = sxy.v[i] - ux * uy;
    sum += ((2 * ux * uy + c1) * (2 * cxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
  }
  return sum / static_cast<double>(x.v.size());
}

std::string place_name(double cx, double cy) {
  const int col = std::clamp(static_cast<int>(cx * 3), 0, 2);
  const int row = std::clamp(static_cast<int>(cy * 3), 0, 2);
  static const char* const kRows[] = {"top", "middle", "bottom"};
  static const char* const kCols[] = {"left", "centre", "right"};
  if (row == 1 && col == 1) return "centre";
  if (row == 1) return kCols[col];
  if (col == 1) return kRows[row];
  return fmt::format("{} {}", kRows[row], kCols[col]);
}

struct Stats {
  double sum = 0, sum2 = 0, n = 0;
  void add(double v) {
    sum += v;
    sum2 += v * v;
    n += 1;
  }
  double mean() const { return n > 0 ? sum / n : 0; }
  double std() const { return n > 1 ? std::sqrt(std::max(0.0, sum2 / n - mean() * mean())) : 0; }
};

}  // namespace

ReviewResult review_pixels(const Pixels& original_in, const Pixels& upscaled_in) {
  const Pixels o = guide::as_rgb(original_in);
  const Pixels u = guide::as_rgb(upscaled_in);
  const int w = o.width, h = o.height, W = u.width, H = u.height;
  if (w < 8 || h < 8) {
    throw Error(ErrorKind::input, "original", fmt::format("{}x{} is too small to review", w, h));
  }
  if (W < w || H < h) {
    throw Error(ErrorKind::usage, "upscaled",
                fmt::format("{}x{} is smaller than the original {}x{}", W, H, w, h),
                "pass the original first, then the upscaled image");
  }
  const double sx = static_cast<double>(W) / w, sy = static_cast<double>(H) / h;
  if (std::abs(sx / sy - 1.0) > 0.03) {
    throw Error(ErrorKind::usage, "upscaled",
                fmt::format("{}x{} does not have the shape of {}x{} (x{:.2f} wide, x{:.2f} high)",
                            W, H, w, h, sx, sy),
                "review compares an image with an enlargement of it");
  }

  ReviewResult r;
  r.original = {w, h};
  r.upscaled = {W, H};
  const Pixels d = guide::shrink_area(u, w, h);  // the result seen at the original's scale
  r.resemblance_psnr = psnr(o, d);
  const Plane ol = guide::luma255(o), dl = guide::luma255(d), ul = guide::luma255(u);
  r.resemblance_ssim = ssim(ol, dl);

  // Colour: mean L*a*b* per region of a 4 x 4 grid.
  constexpr int kGrid = 4;
  Region worst_colour;
  for (int gy = 0; gy < kGrid; ++gy) {
    for (int gx = 0; gx < kGrid; ++gx) {
      const int x0 = gx * w / kGrid, x1 = (gx + 1) * w / kGrid;
      const int y0 = gy * h / kGrid, y1 = (gy + 1) * h / kGrid;
      guide::Lab a, b;
      double n = 0;
      for (int y = y0; y < y1; ++y) {
        for (int x = x0; x < x1; ++x) {
          const guide::Lab la = guide::srgb_to_lab(o.at(x, y, 0), o.at(x, y, 1), o.at(x, y, 2));
          const guide::Lab lb = guide::srgb_to_lab(d.at(x, y, 0), d.at(x, y, 1), d.at(x, y, 2));
          a.l += la.l, a.a += la.a, a.b += la.b;
          b.l += lb.l, b.a += lb.a, b.b += lb.b;
          n += 1;
        }
      }
      if (n == 0) continue;
      const double de = std::sqrt((a.l - b.l) * (a.l - b.l) + (a.a - b.a) * (a.a - b.a) +
                                  (a.b - b.b) * (a.b - b.b)) /
                        n;
      if (de > r.color_shift) {
        r.color_shift = de;
        worst_colour = {static_cast<int>(x0 * sx),
                        static_cast<int>(y0 * sy),
                        static_cast<int>((x1 - x0) * sx),
                        static_cast<int>((y1 - y0) * sy),
                        place_name((x0 + x1) / 2.0 / w, (y0 + y1) / 2.0 / h),
                        "colour shift",
                        de};
      }
    }
  }

  // Invented texture and halos, per cell of kCell x kCell original pixels.
  const Plane rl = guide::luma255(guide::resize_bilinear(d, W, H));  // the output, minus detail
  Plane lo(w, h), hi(w, h);                                          // 5x5 range of the original
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      float mn = 255, mx = 0;
      for (int j = std::max(0, y - 2); j <= std::min(h - 1, y + 2); ++j) {
        for (int i = std::max(0, x - 2); i <= std::min(w - 1, x + 2); ++i) {
          mn = std::min(mn, ol(i, j));
          mx = std::max(mx, ol(i, j));
        }
      }
      lo(x, y) = mn;
      hi(x, y) = mx;
    }
  }
  // Brightness the result changed over a wider area is not a halo: follow it.
  Plane offset(w, h);
  for (std::size_t i = 0; i < offset.v.size(); ++i) offset.v[i] = dl.v[i] - ol.v[i];
  offset = guide::box_mean(offset, 2);
  const int cw = (w + kCell - 1) / kCell, ch = (h + kCell - 1) / kCell;
  std::vector<int> flag(static_cast<std::size_t>(cw) * ch, 0);  // 1 texture, 2 halo
  std::vector<double> strength(flag.size(), 0.0);
  r.heat = Pixels(w, h, 3, 0.0F);
  for (int cy = 0; cy < ch; ++cy) {
    for (int cx = 0; cx < cw; ++cx) {
      const int x0 = cx * kCell, x1 = std::min(w, x0 + kCell);
      const int y0 = cy * kCell, y1 = std::min(h, y0 + kCell);
      Stats orig;
      // The cell and kMargin pixels around it: resamplers ring up to 3 pixels from an edge.
      for (int y = std::max(0, y0 - kMargin); y < std::min(h, y1 + kMargin); ++y) {
        for (int x = std::max(0, x0 - kMargin); x < std::min(w, x1 + kMargin); ++x) {
          orig.add(ol(x, y));
        }
      }
      Stats detail, over;
      const int X0 = static_cast<int>(x0 * sx), X1 = std::min(W, static_cast<int>(x1 * sx));
      const int Y0 = static_cast<int>(y0 * sy), Y1 = std::min(H, static_cast<int>(y1 * sy));
      for (int Y = Y0; Y < Y1; ++Y) {
        const int y = std::min(h - 1, static_cast<int>(Y / sy));
        for (int X = X0; X < X1; ++X) {
          const int x = std::min(w - 1, static_cast<int>(X / sx));
          const float v = ul(X, Y);
          detail.add(v - rl(X, Y));
          const float tol = 2.0F + 0.12F * (hi(x, y) - lo(x, y));
          const float shift = offset(x, y);
          over.add(std::max({0.0F, v - hi(x, y) - shift - tol, lo(x, y) + shift - tol - v}));
        }
      }
      const double o_std = orig.std();
      const double invented = o_std < kFlatStd ? detail.std() : 0;
      const std::size_t k = static_cast<std::size_t>(cy) * cw + cx;
      if (invented > kTextureStd) {
        flag[k] = 1;
        strength[k] = invented;
      } else if (over.mean() > kHaloMean) {
        flag[k] = 2;
        strength[k] = over.mean();
      }
      for (int y = y0; y < y1; ++y) {
        for (int x = x0; x < x1; ++x) {
          r.heat.at(x, y, 0) =
              static_cast<float>(std::clamp(invented / (4 * kTextureStd), 0.0, 1.0));
          r.heat.at(x, y, 1) =
              static_cast<float>(std::clamp(over.mean() / (4 * kHaloMean), 0.0, 1.0));
        }
      }
    }
  }
  const auto cells = static_cast<double>(flag.size());
  const double texture_share = static_cast<double>(std::count(flag.begin(), flag.end(), 1)) / cells;
  const double halo_share = static_cast<double>(std::count(flag.begin(), flag.end(), 2)) / cells;
  r.artifact_fraction = texture_share + halo_share;

  // Group flagged cells (8-connected, same problem) into regions.
  std::vector<int> seen(flag.size(), 0);
  std::vector<Region> regions;
  int largest_texture = 0;  // cells in the largest region of invented texture
  for (std::size_t start = 0; start < flag.size(); ++start) {
    if (flag[start] == 0 || seen[start] != 0) continue;
    const int kind = flag[start];
    std::vector<std::size_t> stack{start};
    seen[start] = 1;
    int minx = cw, miny = ch, maxx = 0, maxy = 0;
    double score = 0;
    int count = 0;
    while (!stack.empty()) {
      const std::size_t k = stack.back();
      stack.pop_back();
      const int cx = static_cast<int>(k % cw), cy = static_cast<int>(k / cw);
      minx = std::min(minx, cx), maxx = std::max(maxx, cx);
      miny = std::min(miny, cy), maxy = std::max(maxy, cy);
      score += strength[k];
      ++count;
      for (int dy = -1; dy <= 1; ++dy) {
        for (int dx = -1; dx <= 1; ++dx) {
          const int nx = cx + dx, ny = cy + dy;
          if (nx < 0 || ny < 0 || nx >= cw || ny >= ch) continue;
          const std::size_t n = static_cast<std::size_t>(ny) * cw + nx;
          if (flag[n] == kind && seen[n] == 0) {
            seen[n] = 1;
            stack.push_back(n);
          }
        }
      }
    }
    if (kind == 1) largest_texture = std::max(largest_texture, count);
    const int x0 = minx * kCell, x1 = std::min(w, (maxx + 1) * kCell);
    const int y0 = miny * kCell, y1 = std::min(h, (maxy + 1) * kCell);
    regions.push_back(
        {static_cast<int>(x0 * sx), static_cast<int>(y0 * sy), static_cast<int>((x1 - x0) * sx),
         static_cast<int>((y1 - y0) * sy), place_name((x0 + x1) / 2.0 / w, (y0 + y1) / 2.0 / h),
         kind == 1 ? "invented texture in a flat area" : "halo / over-sharpening", score});
  }
  std::sort(regions.begin(), regions.end(),
            [](const Region& a, const Region& b) { return a.score > b.score; });
  if (regions.size() > 4) regions.resize(4);

  // Verdict and reasons.
  auto worse = [&](ReviewVerdict v) { r.verdict = std::max(r.verdict, v); };
  // Judged on structure (both slightly blurred), so that noise the upscaler removed on purpose
  // does not count against it; the values reported are the plain ones.
  const double structure = ssim(guide::gauss_blur(ol, 1.0), guide::gauss_blur(dl, 1.0));
  if (r.resemblance_psnr < kPsnrWarn || structure < kSsimWarn) {
    const bool fail = r.resemblance_psnr < kPsnrFail || structure < kSsimFail;
    worse(fail ? ReviewVerdict::fail : ReviewVerdict::warn);
    r.reasons.push_back(fmt::format(
        "resemblance: shrunk back, the result differs from the original (PSNR {:.1f} dB, "
        "SSIM {:.3f}){}",
        r.resemblance_psnr, r.resemblance_ssim, fail ? ": it does not look like it" : ""));
  }
  const bool texture = texture_share >= kTextureWarn || largest_texture >= kTextureCells;
  const bool halos = halo_share >= kHaloWarn;
  if (texture || halos) {
    worse(texture_share >= kTextureFail || halo_share >= kHaloFail ? ReviewVerdict::fail
                                                                   : ReviewVerdict::warn);
    for (const auto& g : regions) {
      if ((g.problem[0] == 'h' && !halos) || (g.problem[0] == 'i' && !texture)) continue;
      r.reasons.push_back(fmt::format("{}: {} (x {}-{}, y {}-{} in the upscaled image)", g.problem,
                                      g.name, g.x, g.x + g.width, g.y, g.y + g.height));
    }
  }
  if (r.color_shift >= kColourWarn) {
    worse(r.color_shift >= kColourFail ? ReviewVerdict::fail : ReviewVerdict::warn);
    r.reasons.push_back(fmt::format("colour shift: delta E {:.1f} in the {} (try --color-fix)",
                                    r.color_shift, worst_colour.name));
    regions.push_back(worst_colour);
  }
  r.regions = regions;
  return r;
}

ReviewResult review_files(const std::filesystem::path& original,
                          const std::filesystem::path& upscaled, const Limits& limits) {
  const Pixels o = io::load_pixels(original, limits);
  Limits big = limits;
  big.max_input_pixels = std::max(limits.max_input_pixels, limits.max_output_pixels);
  const Pixels u = io::load_pixels(upscaled, big);
  try {
    ReviewResult r = review_pixels(o, u);
    r.jpeg_quality = io::estimate_jpeg_quality(upscaled);
    if (r.jpeg_quality > 0 && r.jpeg_quality < kDefaultMinQuality) {
      r.verdict = std::max(r.verdict, ReviewVerdict::warn);
      r.reasons.push_back(fmt::format(
          "saved at JPEG quality {}: its 8x8 blocks show at 100 % (allow more bytes, or use "
          "-f webp or -f avif)",
          r.jpeg_quality));
    }
    return r;
  } catch (const Error& e) {
    const std::string subject = e.subject() == "original" ? original.string() : upscaled.string();
    throw Error(e.kind(), subject, e.problem(), e.hint());
  }
}

}  // namespace hires
