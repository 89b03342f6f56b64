// The measures behind `hires check`, on the luma of gamma-encoded values (0..255).
#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>

#include "guide/image_ops.hpp"
#include "hires/guide.hpp"

namespace hires {
namespace {

using guide::Plane;

// Crete-Roffet et al., "The blur effect" (2007): how much of the image's variation survives a
// strong 1x9 re-blur. A sharp image loses much of it (low value), a blurred one little (high).
double blur_effect(const Plane& l, bool vertical) {
  constexpr int kR = 4;
  Plane b(l.w, l.h);
  for (int y = 0; y < l.h; ++y) {
    for (int x = 0; x < l.w; ++x) {
      float s = 0;
      for (int i = -kR; i <= kR; ++i) {
        s += vertical ? l(x, std::clamp(y + i, 0, l.h - 1)) : l(std::clamp(x + i, 0, l.w - 1), y);
      }
      b(x, y) = s / (2 * kR + 1);
    }
  }
  double sum_f = 0;
  double sum_v = 0;
  for (int y = vertical ? 1 : 0; y < l.h; ++y) {
    for (int x = vertical ? 0 : 1; x < l.w; ++x) {
      const int px = vertical ? x : x - 1;
      const int py = vertical ? y - 1 : y;
      const double df = std::abs(l(x, y) - l(px, py));
      const double db = std::abs(b(x, y) - b(px, py));
      sum_f += df;
      sum_v += std::max(0.0, df - db);
    }
  }
  return sum_f > 0 ? (sum_f - sum_v) / sum_f : 1.0;
}

// Differences along rows (vertical=false) or columns: d(i) = L(i+1) - L(i).
template <typename Fn>
void for_each_line(const Plane& l, bool vertical, Fn&& fn) {
  const int lines = vertical ? l.w : l.h;
  const int len = vertical ? l.h : l.w;
  std::vector<float> d(static_cast<std::size_t>(std::max(0, len - 1)));
  for (int line = 0; line < lines; ++line) {
    for (int i = 0; i + 1 < len; ++i) {
      d[i] = vertical ? l(line, i + 1) - l(line, i) : l(i + 1, line) - l(i, line);
    }
    fn(d);
  }
}

// Isolated steps (a jump with smooth pixels on either side) per grid phase of 8: JPEG's block
// edges put them on one phase. Returns the best phase's count over the mean of the others.
double jpeg_grid(const Plane& l, bool vertical) {
  std::array<double, 8> count{};
  for_each_line(l, vertical, [&](const std::vector<float>& d) {
    const int n = static_cast<int>(d.size());
    for (int i = 1; i + 1 < n; ++i) {
      const float a = std::abs(d[i]);
      if (a < 1.5F) continue;
      if (std::abs(d[i - 1]) < 0.5F * a && std::abs(d[i + 1]) < 0.5F * a) count[(i + 1) % 8] += 1;
    }
  });
  const auto best = std::max_element(count.begin(), count.end());
  double others = 0;
  for (auto it = count.begin(); it != count.end(); ++it) {
    if (it != best) others += *it;
  }
  return (*best + 1.0) / (others / 7.0 + 1.0);
}

struct Staircase {
  double score = 0;
  int block = 0;
};

// Nearest-neighbour enlargement: pixels repeat in k x k blocks, so neighbours are equal inside
// a block and differ across its edges.
Staircase staircase(const Plane& l) {
  Staircase best;
  for (int k = 2; k <= 8; ++k) {
    double score = 0;
    for (bool vertical : {false, true}) {
      std::vector<double> same(k, 0.0);
      std::vector<double> total(k, 0.0);
      for_each_line(l, vertical, [&](const std::vector<float>& d) {
        for (std::size_t i = 0; i < d.size(); ++i) {
          const std::size_t r = (i + 1) % k;
          total[r] += 1;
          if (std::abs(d[i]) < 1.5F) same[r] += 1;
        }
      });
      double dir_best = 0;
      for (int p = 0; p < k; ++p) {
        double in_same = 0;
        double in_total = 0;
        for (int r = 0; r < k; ++r) {
          if (r == p) continue;
          in_same += same[r];
          in_total += total[r];
        }
        if (in_total <= 0 || total[p] <= 0) continue;
        dir_best = std::max(dir_best, in_same / in_total - same[p] / total[p]);
      }
      score += dir_best / 2;
    }
    if (score > best.score + 0.05) best = {score, k};
  }
  return best;
}

// Banding: runs of exactly flat plateaus separated by small steps of the same sign (a smooth
// gradient shown in visible steps). Counts such steps.
double banding_steps(const Plane& l, bool vertical) {
  double steps = 0;
  for_each_line(l, vertical, [&](const std::vector<float>& d) {
    const int n = static_cast<int>(d.size());
    int last = -1000;      // position of the previous step
    float last_step = 0;   // its size
    bool plateau = false;  // only flat pixels since it
    for (int i = 0; i < n; ++i) {
      const float a = std::abs(d[i]);
      if (a < 0.5F) continue;
      const bool flat_around = i >= 2 && i + 2 < n && std::abs(d[i - 1]) < 0.5F &&
                               std::abs(d[i - 2]) < 0.5F && std::abs(d[i + 1]) < 0.5F &&
                               std::abs(d[i + 2]) < 0.5F;
      if (a >= 1.5F && a <= 32.0F && flat_around) {
        const bool same_sign = (d[i] > 0) == (last_step > 0);
        const float ratio =
            std::max(a, std::abs(last_step)) / std::max(1e-3F, std::min(a, std::abs(last_step)));
        if (plateau && same_sign && ratio < 3.0F && i - last <= 128) steps += 1;
        last = i;
        last_step = d[i];
        plateau = true;
      } else {
        plateau = false;
      }
    }
  });
  return steps;
}

// Immerkaer (1996) noise estimate per 16x16 block; the smooth blocks (a low percentile) show the
// noise rather than the texture.
double noise_sigma(const Plane& l) {
  constexpr int kB = 16;
  if (l.w < 3 || l.h < 3) return 0;
  const double k = std::sqrt(std::numbers::pi / 2.0) / 6.0;
  std::vector<double> blocks;
  const int bw = std::max(1, (l.w - 2) / kB);
  const int bh = std::max(1, (l.h - 2) / kB);
  for (int by = 0; by < bh; ++by) {
    for (int bx = 0; bx < bw; ++bx) {
      const int x0 = 1 + bx * kB;
      const int y0 = 1 + by * kB;
      const int x1 = std::min(l.w - 1, x0 + kB);
      const int y1 = std::min(l.h - 1, y0 + kB);
      double sum = 0;
      int n = 0;
      double level = 0;
      for (int y = y0; y < y1; ++y) {
        for (int x = x0; x < x1; ++x) {
          const double r = l(x - 1, y - 1) - 2 * l(x, y - 1) + l(x + 1, y - 1) - 2 * l(x - 1, y) +
                           4 * l(x, y) - 2 * l(x + 1, y) + l(x - 1, y + 1) - 2 * l(x, y + 1) +
                           l(x + 1, y + 1);
          sum += std::abs(r);
          ++n;
          level += l(x, y);
        }
      }
      // Near black or white, noise is clipped away and would be underestimated.
      if (n == 0 || level / n < 24.0 || level / n > 231.0) continue;
      blocks.push_back(k * sum / n);
    }
  }
  if (blocks.empty()) return 0;
  std::sort(blocks.begin(), blocks.end());
  return blocks[blocks.size() / 10];
}

// Halftone screens (printed photos and comics, scanned): dots on a regular lattice show up as
// strong secondary peaks of the autocorrelation of the high-passed luma. The autocorrelation is
// averaged over blocks spread across the image, so a screen (the same lattice everywhere) adds up
// while the peaks of natural texture (at different lags in each block) average out. Returns the
// highest normalised secondary peak at 2.5..12 px and its distance (the screen's period).
struct Halftone {
  double score = 0;
  double period = 0;
};

Halftone halftone(const Plane& l) {
  constexpr int kBlock = 64;
  constexpr int kMaxLag = 12;
  constexpr int kGrid = 6;             // up to 6x6 blocks
  constexpr double kMinDeviation = 2;  // levels: flat blocks say nothing
  constexpr double kMinPeriod = 2.5;   // px: closer lags are the dots' own width
  // A block with its lag margin on both sides must fit (fuzz_image: a 77..87 px side read
  // before the plane's first row).
  constexpr int kW = kBlock + 2 * kMaxLag;
  if (l.w < kW || l.h < kW) return {};
  const Plane low = guide::gauss_blur(l, 3.0);
  constexpr int kSide = 2 * kMaxLag + 1;
  std::vector<double> acc(static_cast<std::size_t>(kSide) * kSide, 0.0);
  int used = 0;
  for (int by = 0; by < kGrid; ++by) {
    for (int bx = 0; bx < kGrid; ++bx) {
      const int x0 = kMaxLag + (l.w - 2 * kMaxLag - kBlock) * bx / (kGrid - 1);
      const int y0 = kMaxLag + (l.h - 2 * kMaxLag - kBlock) * by / (kGrid - 1);
      // The block with its lag margin, high-passed and centred.
      std::vector<double> h(static_cast<std::size_t>(kW) * kW);
      double mean = 0;
      for (int y = 0; y < kW; ++y) {
        for (int x = 0; x < kW; ++x) {
          const int sx = x0 - kMaxLag + x;
          const int sy = y0 - kMaxLag + y;
          h[static_cast<std::size_t>(y) * kW + x] = l(sx, sy) - low(sx, sy);
        }
      }
      for (int y = kMaxLag; y < kMaxLag + kBlock; ++y) {
        for (int x = kMaxLag; x < kMaxLag + kBlock; ++x)
          mean += h[static_cast<std::size_t>(y) * kW + x];
      }
      mean /= kBlock * kBlock;
      for (auto& v : h) v -= mean;
      double var = 0;
      for (int y = kMaxLag; y < kMaxLag + kBlock; ++y) {
        for (int x = kMaxLag; x < kMaxLag + kBlock; ++x) {
          const double v = h[static_cast<std::size_t>(y) * kW + x];
          var += v * v;
        }
      }
      var /= kBlock * kBlock;
      if (var < kMinDeviation * kMinDeviation) continue;
      ++used;
      for (int dy = -kMaxLag; dy <= kMaxLag; ++dy) {
        for (int dx = -kMaxLag; dx <= kMaxLag; ++dx) {
          double sum = 0;
          for (int y = kMaxLag; y < kMaxLag + kBlock; ++y) {
            const double* row = &h[static_cast<std::size_t>(y) * kW];
            // Indexed from the lagged row's start: x + dx >= 0 (a pointer dx before a row could
            // point before the buffer, undefined behaviour: fuzz_image under UBSan).
            const double* lag = &h[static_cast<std::size_t>(y + dy) * kW];
            for (int x = kMaxLag; x < kMaxLag + kBlock; ++x) sum += row[x] * lag[x + dx];
          }
          acc[static_cast<std::size_t>(dy + kMaxLag) * kSide + dx + kMaxLag] +=
              sum / (kBlock * kBlock) / var;
        }
      }
    }
  }
  // A screen covers the picture: at least a quarter of the blocks must have something on them.
  if (used < kGrid * kGrid / 4) return {};
  std::vector<Halftone> peaks;
  const auto at = [&](int dx, int dy) {
    return acc[static_cast<std::size_t>(dy + kMaxLag) * kSide + dx + kMaxLag] / used;
  };
  for (int dy = -kMaxLag + 1; dy < kMaxLag; ++dy) {
    for (int dx = -kMaxLag + 1; dx < kMaxLag; ++dx) {
      const double dist = std::hypot(dx, dy);
      if (dist < kMinPeriod || dist > kMaxLag) continue;
      if (dx % 8 == 0 && dy % 8 == 0) continue;  // the JPEG block grid, not a screen
      const double v = at(dx, dy);
      bool peak = true;
      for (int ny = -1; ny <= 1 && peak; ++ny) {
        for (int nx = -1; nx <= 1; ++nx) {
          if ((nx != 0 || ny != 0) && at(dx + nx, dy + ny) > v) {
            peak = false;
            break;
          }
        }
      }
      if (peak) peaks.push_back({v, dist});
    }
  }
  // Lines (railings, blinds, stripes) are periodic too, but only across: along them the
  // autocorrelation stays high on a ridge through the origin, where a lattice of dots alternates
  // between peaks and troughs. The strongest ridge (mean along a line from 2.5 to 12 px) is
  // taken off the peak.
  double ridge = 0;
  constexpr int kDirections = 90;
  for (int i = 0; i < kDirections; ++i) {
    const double theta = std::numbers::pi * i / kDirections;
    double sum = 0;
    int count = 0;
    for (double r = kMinPeriod; r <= kMaxLag - 1; r += 0.5) {
      sum += at(static_cast<int>(std::lround(r * std::cos(theta))),
                static_cast<int>(std::lround(r * std::sin(theta))));
      ++count;
    }
    ridge = std::max(ridge, sum / count);
  }
  // The score is the strongest peak above the ridge; the period the shortest lattice step nearly
  // as strong (the sums of steps are peaks as well).
  Halftone best;
  for (const auto& p : peaks) best.score = std::max(best.score, p.score);
  best.period = kMaxLag;
  for (const auto& p : peaks) {
    if (p.score >= 0.8 * best.score) best.period = std::min(best.period, p.period);
  }
  best.score = std::max(0.0, best.score - ridge);
  if (peaks.empty()) best.period = 0;
  return best;
}

}  // namespace

Measures measure(const Pixels& image) {
  Measures m;
  m.min_side = std::min(image.width, image.height);
  if (image.width < 4 || image.height < 4) return m;
  const Plane l = guide::luma255(image);
  const double n = static_cast<double>(l.w) * l.h;

  m.blur = std::max(blur_effect(l, false), blur_effect(l, true));
  m.jpeg_grid = (jpeg_grid(l, false) + jpeg_grid(l, true)) / 2;
  {
    // Fine detail: mean |Laplacian| over mean |gradient|. An antialiased downscale rolls off
    // before the pixel grid (about 1.2 on photos); resizing without antialiasing folds detail
    // back up to it, and noise lives there (1.3 and more).
    double lap = 0, grad = 0;
    for (int y = 1; y + 1 < l.h; ++y) {
      for (int x = 1; x + 1 < l.w; ++x) {
        const float v = l(x, y);
        lap += std::abs(l(x - 1, y) + l(x + 1, y) + l(x, y - 1) + l(x, y + 1) - 4 * v);
        grad += std::abs(l(x + 1, y) - v) + std::abs(l(x, y + 1) - v);
      }
    }
    m.fine_detail = grad > 0 ? lap / grad : 0;
  }
  const Staircase st = staircase(l);
  m.staircase = st.score;
  m.staircase_block = st.score >= 0.3 ? st.block : 0;
  // Per channel as well as on luma: steps of the three channels at different places break up
  // the plateaus of luma.
  m.banding = banding_steps(l, false) + banding_steps(l, true);
  if (image.channels >= 3) {
    for (int c = 0; c < 3; ++c) {
      const Plane p = guide::channel255(image, c);
      m.banding = std::max(m.banding, banding_steps(p, false) + banding_steps(p, true));
    }
  }
  m.banding = m.banding / n * 1000.0;
  const Halftone screen = halftone(l);
  m.halftone = screen.score;
  m.halftone_period = screen.period;
  // Per channel (camera noise is independent in each; luma would average part of it away).
  if (image.channels >= 3) {
    std::array<double, 3> ch{};
    for (int c = 0; c < 3; ++c) ch[c] = noise_sigma(guide::channel255(image, c));
    std::sort(ch.begin(), ch.end());
    m.noise = ch[1];
  } else {
    m.noise = noise_sigma(l);
  }

  double sum = 0;
  double high = 0;
  double flat = 0;
  double flat_mid = 0;  // flat and neither black nor white: fills, not clipped sky or shadow
  std::array<double, 16> hist{};
  for (int y = 0; y < l.h; ++y) {
    for (int x = 0; x < l.w; ++x) {
      const float v = l(x, y);
      sum += v;
      if (v >= 250.0F) high += 1;
      hist[std::clamp(static_cast<int>(v / 16.0F), 0, 15)] += 1;
      const bool flat_x = x + 1 >= l.w || std::abs(l(x + 1, y) - v) < 0.5F;
      const bool flat_y = y + 1 >= l.h || std::abs(l(x, y + 1) - v) < 0.5F;
      if (flat_x && flat_y) {
        flat += 1;
        if (v > 8.0F && v < 247.0F) flat_mid += 1;
      }
    }
  }
  m.mean_luma = sum / n;
  m.clipped_high = 100.0 * high / n;
  m.flat_fraction = flat / n;
  m.flat_midtone_fraction = flat_mid / n;
  std::sort(hist.begin(), hist.end(), std::greater<>());
  m.top2_luma_share = (hist[0] + hist[1]) / n;

  {
    std::vector<double> bins(4096, 0.0);
    const std::size_t count = static_cast<std::size_t>(image.width) * image.height;
    for (std::size_t i = 0; i < count; ++i) {
      const float* p = &image.data[i * image.channels];
      int key = 0;
      for (int c = 0; c < 3; ++c) {
        const float v = p[image.channels >= 3 ? c : 0];
        key = key * 16 + std::clamp(static_cast<int>(v * 16.0F), 0, 15);
      }
      bins[key] += 1;
    }
    std::sort(bins.begin(), bins.end(), std::greater<>());
    double covered = 0;
    int used = 0;
    while (used < 4096 && covered < 0.9 * static_cast<double>(count)) covered += bins[used++];
    m.palette = used;
  }
  {
    // Exact 8-bit colours: pixel art is drawn from a handful, with no blended edge pixels.
    const std::size_t count = static_cast<std::size_t>(image.width) * image.height;
    std::vector<std::uint32_t> keys(count);
    for (std::size_t i = 0; i < count; ++i) {
      const float* p = &image.data[i * image.channels];
      std::uint32_t key = 0;
      for (int c = 0; c < 3; ++c) {
        const float v = p[image.channels >= 3 ? c : 0];
        key = key * 256 + static_cast<std::uint32_t>(std::clamp(std::lround(v * 255.0F), 0L, 255L));
      }
      keys[i] = key;
    }
    std::sort(keys.begin(), keys.end());
    std::vector<std::size_t> runs;
    for (std::size_t i = 0; i < count;) {
      std::size_t j = i;
      while (j < count && keys[j] == keys[i]) ++j;
      runs.push_back(j - i);
      i = j;
    }
    std::sort(runs.begin(), runs.end(), std::greater<>());
    std::size_t top = 0;
    for (std::size_t i = 0; i < runs.size() && i < 32; ++i) top += runs[i];
    m.top32_colour_share = count > 0 ? static_cast<double>(top) / static_cast<double>(count) : 0;
  }
  if (image.channels >= 3) {
    double srg = 0, syb = 0, srg2 = 0, syb2 = 0;
    const std::size_t count = static_cast<std::size_t>(image.width) * image.height;
    for (std::size_t i = 0; i < count; ++i) {
      const float* p = &image.data[i * image.channels];
      const double rg = 255.0 * (p[0] - p[1]);
      const double yb = 255.0 * (0.5 * (p[0] + p[1]) - p[2]);
      srg += rg;
      syb += yb;
      srg2 += rg * rg;
      syb2 += yb * yb;
    }
    const double mrg = srg / count;
    const double myb = syb / count;
    const double vrg = std::max(0.0, srg2 / count - mrg * mrg);
    const double vyb = std::max(0.0, syb2 / count - myb * myb);
    m.colourfulness = std::sqrt(vrg + vyb) + 0.3 * std::sqrt(mrg * mrg + myb * myb);
  }
  return m;
}

// Pixel art: drawn from a few exact colours (no blended edge pixels), many pixels equal to their
// neighbour, and small (sprites, icons).
constexpr double kPixelArtColours = 0.97;  // share of pixels in the 32 commonest exact colours
constexpr double kPixelArtFlat = 0.3;
constexpr int kPixelArtMaxSide = 512;

bool is_pixel_art(const Measures& m) {
  // Native sprites, or art already enlarged with nearest neighbour (staircases) — not the flat
  // 8x8 blocks of a heavily compressed JPEG, which come with many colours.
  const bool few_colours = m.top32_colour_share >= kPixelArtColours;
  const bool jpeg_blocks = m.staircase_block % 8 == 0 && !few_colours;
  return (few_colours && m.flat_fraction >= kPixelArtFlat && m.min_side <= kPixelArtMaxSide) ||
         (m.staircase_block > 0 && !jpeg_blocks);
}

Content classify_content(const Measures& m) {
  // Text and graphics: mostly two tones (paper and ink) with large flat areas.
  if (m.top2_luma_share >= 0.75 && m.flat_fraction >= 0.50) return Content::text;
  if (is_pixel_art(m)) return Content::pixel_art;
  // Art and anime: flat fills with crisp edges rather than the continuous texture of
  // photographs (a blurred photo has smooth areas too, but no crisp edges).
  // Flat black or white (a clipped sky, a dark background) is not a fill: only mid-tones count.
  if (m.flat_midtone_fraction >= 0.25 && m.blur < 0.45) return Content::art;
  return Content::photo;
}

}  // namespace hires
