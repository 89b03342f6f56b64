// Plain-loop references of the transformer ops (SwinIR, HAT, DAT, SRFormer): layer norm over
// channels, shifted (rectangular) window attention, SRFormer's permuted window attention, DAT's
// channel attention over the whole image, and the padding to a window multiple and crop back that
// SwinIR's forward pass does around the network. Written for clarity, in double; the oracle of
// attention_cpu.cpp.
#include <fmt/format.h>
#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/ops_reference.hpp"
#include "hires/error.hpp"

namespace hires::engine::ref {
namespace {

[[noreturn]] void op_error(const Node& n, const std::string& what) {
  throw Error(ErrorKind::internal, fmt::format("node '{}' ({})", n.name, op_name(n.type)), what);
}

}  // namespace

Tensor layer_norm(const Tensor& x, const Node& n) {
  if (n.weight.size() != static_cast<std::size_t>(x.c) ||
      n.bias.size() != static_cast<std::size_t>(x.c)) {
    op_error(n, fmt::format("{} weights for {} channels", n.weight.size(), x.c));
  }
  Tensor y(x.c, x.h, x.w);
  for (std::size_t p = 0; p < x.plane(); ++p) {
    double sum = 0;
    for (int c = 0; c < x.c; ++c) sum += x.channel(c)[p];
    const double mean = sum / x.c;
    double sq = 0;
    for (int c = 0; c < x.c; ++c) sq += (x.channel(c)[p] - mean) * (x.channel(c)[p] - mean);
    const double inv = 1.0 / std::sqrt(sq / x.c + n.eps);
    for (int c = 0; c < x.c; ++c) {
      y.channel(c)[p] =
          static_cast<float>((x.channel(c)[p] - mean) * inv * n.weight[c] + n.bias[c]);
    }
  }
  return y;
}

int shift_region(int r, int length, int window, int shift) {
  if (shift == 0 || r < length - window) return 0;
  return r < length - shift ? 1 : 2;
}

Tensor window_attention(const Tensor& qkv, const Node& n) {
  const int wh = n.window;
  const int ww = window_width(n);
  if (wh < 1 || ww < 1 || n.heads < 1 || qkv.c % (3 * n.heads) != 0) {
    op_error(n, "bad attention shape");
  }
  if (qkv.h % wh != 0 || qkv.w % ww != 0) {
    op_error(n, fmt::format("{}x{} is not a multiple of the window {}x{}", qkv.w, qkv.h, ww, wh));
  }
  const int channels = qkv.c / 3;
  const int hd = channels / n.heads;
  const int tokens = wh * ww;
  const int span = 2 * ww - 1;
  const int sy = n.window_shift;
  const int sx = window_shift_x(n);
  Tensor y(channels, qkv.h, qkv.w);
  // Per token of the window: its pixel in the image and its mask region.
  std::vector<int> py(tokens), px(tokens), label(tokens);
  std::vector<double> logits(tokens);
  for (int wy = 0; wy < qkv.h / wh; ++wy) {
    for (int wx = 0; wx < qkv.w / ww; ++wx) {
      // Window (wy, wx) of the image rolled by -shift: its token (i, j) is the rolled pixel
      // (wy*wh + i, wx*ww + j), which is the image's ((wy*wh + i + sy) % H, ...).
      for (int t = 0; t < tokens; ++t) {
        const int ry = wy * wh + t / ww;
        const int rx = wx * ww + t % ww;
        py[t] = (ry + sy) % qkv.h;
        px[t] = (rx + sx) % qkv.w;
        label[t] = 3 * shift_region(ry, qkv.h, wh, sy) + shift_region(rx, qkv.w, ww, sx);
      }
      for (int h = 0; h < n.heads; ++h) {
        const int q0 = h * hd;
        const int k0 = channels + h * hd;
        const int v0 = 2 * channels + h * hd;
        for (int a = 0; a < tokens; ++a) {
          double top = -1e300;
          for (int b = 0; b < tokens; ++b) {
            double dot = 0;
            for (int d = 0; d < hd; ++d) {
              dot += static_cast<double>(qkv.at(q0 + d, py[a], px[a])) * n.scale *
                     qkv.at(k0 + d, py[b], px[b]);
            }
            const int dy = a / ww - b / ww + wh - 1;
            const int dx = a % ww - b % ww + ww - 1;
            dot += n.weight[static_cast<std::size_t>(dy * span + dx) * n.heads + h];
            if (label[a] != label[b]) dot += -100.0;  // Swin's mask value
            logits[b] = dot;
            top = std::max(top, dot);
          }
          double total = 0;
          for (double& l : logits) {
            l = std::exp(l - top);
            total += l;
          }
          for (int d = 0; d < hd; ++d) {
            double acc = 0;
            for (int b = 0; b < tokens; ++b) acc += logits[b] * qkv.at(v0 + d, py[b], px[b]);
            y.at(q0 + d, py[a], px[a]) = static_cast<float>(acc / total);
          }
        }
      }
    }
  }
  return y;
}

int permuted_bias_row(int a, int b, int window) {
  const int pw = window / 2;
  const int span = 2 * pw - 1;
  const int qy = a / window / 2;
  const int qx = a % window / 2;
  return (qy - b / pw + pw - 1) * span + (qx - b % pw + pw - 1);
}

Tensor permuted_attention(const Tensor& qkv, const Node& n) {
  const int ws = n.window;
  if (ws < 2 || ws % 2 != 0 || n.heads < 1 || qkv.c % 3 != 0 || (2 * qkv.c / 3) % 4 != 0 ||
      (2 * qkv.c / 3) % n.heads != 0) {
    op_error(n, "bad attention shape");
  }
  if (qkv.h % ws != 0 || qkv.w % ws != 0) {
    op_error(n, fmt::format("{}x{} is not a multiple of the window {}", qkv.w, qkv.h, ws));
  }
  const int channels = 2 * qkv.c / 3;
  const int quarter = channels / 4;
  const int hd = channels / n.heads;
  const int pw = ws / 2;
  const int tokens = ws * ws;
  const int keys = pw * pw;
  const int shift = n.window_shift;
  Tensor y(channels, qkv.h, qkv.w);
  std::vector<int> py(tokens), px(tokens), label(tokens), key_label(keys);
  std::vector<double> logits(keys);
  // Key k's channel c: the k (or v) projection's channel c % (C/4) at the pixel (dy, dx) =
  // ((c / (C/4)) / 2, (c / (C/4)) % 2) of its 2x2 block of the rolled window.
  const auto key_value = [&](int first, int wy, int wx, int k, int c) {
    const int part = c / quarter;
    const int ry = wy * ws + 2 * (k / pw) + part / 2;
    const int rx = wx * ws + 2 * (k % pw) + part % 2;
    return static_cast<double>(
        qkv.at(first + c % quarter, (ry + shift) % qkv.h, (rx + shift) % qkv.w));
  };
  for (int wy = 0; wy < qkv.h / ws; ++wy) {
    for (int wx = 0; wx < qkv.w / ws; ++wx) {
      for (int t = 0; t < tokens; ++t) {
        const int ry = wy * ws + t / ws;
        const int rx = wx * ws + t % ws;
        py[t] = (ry + shift) % qkv.h;
        px[t] = (rx + shift) % qkv.w;
        label[t] = 3 * shift_region(ry, qkv.h, ws, shift) + shift_region(rx, qkv.w, ws, shift);
      }
      // The keys' regions on the half-size grid, as the released mask takes them: shifted by
      // half the shift rounded up (its `-shift_size // 2` floors the negative half).
      for (int k = 0; k < keys; ++k) {
        key_label[k] = 3 * shift_region(wy * pw + k / pw, qkv.h / 2, pw, (shift + 1) / 2) +
                       shift_region(wx * pw + k % pw, qkv.w / 2, pw, (shift + 1) / 2);
      }
      for (int h = 0; h < n.heads; ++h) {
        for (int a = 0; a < tokens; ++a) {
          double top = -1e300;
          for (int k = 0; k < keys; ++k) {
            double dot = 0;
            for (int d = h * hd; d < (h + 1) * hd; ++d) {
              dot += static_cast<double>(qkv.at(d, py[a], px[a])) * n.scale *
                     key_value(channels, wy, wx, k, d);
            }
            dot += n.weight[static_cast<std::size_t>(permuted_bias_row(a, k, ws)) * n.heads + h];
            if (label[a] != key_label[k]) dot += -100.0;
            logits[k] = dot;
            top = std::max(top, dot);
          }
          double total = 0;
          for (double& l : logits) {
            l = std::exp(l - top);
            total += l;
          }
          for (int d = h * hd; d < (h + 1) * hd; ++d) {
            double acc = 0;
            for (int k = 0; k < keys; ++k) {
              acc += logits[k] * key_value(channels + quarter, wy, wx, k, d);
            }
            y.at(d, py[a], px[a]) = static_cast<float>(acc / total);
          }
        }
      }
    }
  }
  return y;
}

int reduction_times(int h, int w, int kernel, int at_least) {
  // floor(log_k(n)) of n >= 1, exactly (the released code's float logarithm agrees for the
  // sides an image can have); -1 for n = 0.
  const auto floor_log = [kernel](int n) {
    int l = -1;
    for (std::int64_t p = 1; p <= n; p *= kernel) ++l;
    return l;
  };
  const int k2 = kernel * kernel;
  return std::max({at_least, floor_log(h / k2), floor_log(w / k2)});
}

Tensor recursive_reduction(const Tensor& x, const Node& n) {
  const int k = n.kernel;
  const int times = reduction_times(x.h, x.w, k, n.count);
  Tensor cur = x;
  for (int t = 0; t < times; ++t) {
    if (cur.h < k || cur.w < k) {
      op_error(n, fmt::format("{}x{} is too small to reduce {} times by {}", x.w, x.h, times, k));
    }
    Tensor next(cur.c, cur.h / k, cur.w / k);
    for (int c = 0; c < cur.c; ++c)
      for (int y = 0; y < next.h; ++y)
        for (int xx = 0; xx < next.w; ++xx) {
          double acc = n.bias[c];
          for (int i = 0; i < k; ++i)
            for (int j = 0; j < k; ++j) {
              acc += static_cast<double>(n.weight[(static_cast<std::size_t>(c) * k + i) * k + j]) *
                     cur.at(c, y * k + i, xx * k + j);
            }
          next.at(c, y, xx) = static_cast<float>(acc);
        }
    cur = std::move(next);
  }
  return cur;
}

Tensor token_attention(const Tensor& q, const Tensor& kv, const Node& n) {
  const int cq = q.c;
  const int cv = kv.c - cq;
  if (n.heads < 1 || cq % n.heads != 0 || cv < 1 || cv % n.heads != 0) {
    op_error(n, "bad attention shape");
  }
  const int dq = cq / n.heads;
  const int dv = cv / n.heads;
  const std::size_t tokens = kv.plane();
  Tensor y(cv, q.h, q.w);
  std::vector<double> logits(tokens);
  for (std::size_t p = 0; p < q.plane(); ++p) {
    for (int h = 0; h < n.heads; ++h) {
      double top = -1e300;
      for (std::size_t t = 0; t < tokens; ++t) {
        double dot = 0;
        for (int d = h * dq; d < (h + 1) * dq; ++d) {
          dot += static_cast<double>(q.channel(d)[p]) * kv.channel(d)[t];
        }
        logits[t] = dot * n.scale;
        top = std::max(top, logits[t]);
      }
      double total = 0;
      for (double& l : logits) {
        l = std::exp(l - top);
        total += l;
      }
      for (int e = h * dv; e < (h + 1) * dv; ++e) {
        double acc = 0;
        for (std::size_t t = 0; t < tokens; ++t) acc += logits[t] * kv.channel(cq + e)[t];
        y.channel(e)[p] = static_cast<float>(acc / total);
      }
    }
  }
  return y;
}

int overlap_bias_row(int qy, int qx, int ky, int kx, int window, int keys) {
  const int span = window + keys - 1;
  const int row = (ky - qy + window - keys + 1) * span + (kx - qx + window - keys + 1);
  return row < 0 ? row + span * span : row;
}

Tensor overlap_attention(const Tensor& qkv, const Node& n) {
  const int ws = n.window;
  const int keys = n.overlap;
  if (ws < 1 || keys < ws || n.heads < 1 || qkv.c % (3 * n.heads) != 0) {
    op_error(n, "bad attention shape");
  }
  if (qkv.h % ws != 0 || qkv.w % ws != 0) {
    op_error(n, fmt::format("{}x{} is not a multiple of the window {}", qkv.w, qkv.h, ws));
  }
  const int channels = qkv.c / 3;
  const int hd = channels / n.heads;
  const int margin = (keys - ws) / 2;
  Tensor y(channels, qkv.h, qkv.w);
  std::vector<double> logits(static_cast<std::size_t>(keys) * keys);
  // Key (ky, kx) of window (wy, wx) is the pixel (wy*ws - margin + ky, ...): zero outside.
  const auto inside = [&](int yy, int xx) {
    return yy >= 0 && yy < qkv.h && xx >= 0 && xx < qkv.w;
  };
  for (int wy = 0; wy < qkv.h / ws; ++wy) {
    for (int wx = 0; wx < qkv.w / ws; ++wx) {
      for (int h = 0; h < n.heads; ++h) {
        const int q0 = h * hd;
        const int k0 = channels + h * hd;
        const int v0 = 2 * channels + h * hd;
        for (int qy = 0; qy < ws; ++qy) {
          for (int qx = 0; qx < ws; ++qx) {
            const int py = wy * ws + qy;
            const int px = wx * ws + qx;
            double top = -1e300;
            for (int ky = 0; ky < keys; ++ky) {
              for (int kx = 0; kx < keys; ++kx) {
                const int yy = wy * ws - margin + ky;
                const int xx = wx * ws - margin + kx;
                double dot = 0;
                if (inside(yy, xx)) {
                  for (int d = 0; d < hd; ++d) {
                    dot += static_cast<double>(qkv.at(q0 + d, py, px)) * n.scale *
                           qkv.at(k0 + d, yy, xx);
                  }
                }
                const int row = overlap_bias_row(qy, qx, ky, kx, ws, keys);
                dot += n.weight[static_cast<std::size_t>(row) * n.heads + h];
                logits[static_cast<std::size_t>(ky) * keys + kx] = dot;
                top = std::max(top, dot);
              }
            }
            double total = 0;
            for (double& l : logits) {
              l = std::exp(l - top);
              total += l;
            }
            for (int d = 0; d < hd; ++d) {
              double acc = 0;
              for (int ky = 0; ky < keys; ++ky) {
                for (int kx = 0; kx < keys; ++kx) {
                  const int yy = wy * ws - margin + ky;
                  const int xx = wx * ws - margin + kx;
                  if (inside(yy, xx)) {
                    acc +=
                        logits[static_cast<std::size_t>(ky) * keys + kx] * qkv.at(v0 + d, yy, xx);
                  }
                }
              }
              y.at(q0 + d, py, px) = static_cast<float>(acc / total);
            }
          }
        }
      }
    }
  }
  return y;
}

Tensor pad_to_multiple(const Tensor& x, const Node& n) {
  // The padded side: a multiple of the factor, and at least `count` (OmniSR's ESA pools 7x7 after
  // a stride-2 conv: it needs 15 pixels a side, which a tiny image only has when padded).
  const auto side = [&](int len) {
    const int want = std::max(len, n.count);
    return want + (n.factor - want % n.factor) % n.factor;
  };
  Node p = n;
  p.bottom = n.bottom + side(x.h) - x.h;
  p.right = n.right + side(x.w) - x.w;
  if (p.top == 0 && p.left == 0 && p.bottom == 0 && p.right == 0) return x;
  // Reflecting more rows than there are (PyTorch refuses) folds back again: tiny images run.
  return pad(x, p);
}

Tensor crop_like(const Tensor& x, const Tensor& like, int factor) {
  const int h = like.h * factor;
  const int w = like.w * factor;
  if (h > x.h || w > x.w) {
    throw Error(ErrorKind::internal, "crop_like",
                fmt::format("{}x{} is smaller than {}x{}", x.w, x.h, w, h));
  }
  Tensor y(x.c, h, w);
  for (int c = 0; c < x.c; ++c)
    for (int yy = 0; yy < h; ++yy) {
      std::copy_n(x.channel(c) + static_cast<std::size_t>(yy) * x.w, w, &y.at(c, yy, 0));
    }
  return y;
}

namespace {

// The groups channel_gram takes statistics over (graph.hpp): gh x gw of them, and the group of
// pixel (y, x).
struct PixelGroups {
  int window = 0;
  bool grid = false;
  int gh = 1, gw = 1;

  PixelGroups(const Tensor& x, const Node& n) : window(n.window), grid(n.grid) {
    if (window == 0) return;
    if (x.h % window != 0 || x.w % window != 0) {
      op_error(n, fmt::format("{}x{} is not a multiple of the window {}", x.w, x.h, window));
    }
    gh = grid ? window : x.h / window;
    gw = grid ? window : x.w / window;
  }
  int of(int y, int x) const {
    if (window == 0) return 0;
    return grid ? (y % window) * window + x % window : (y / window) * gw + x / window;
  }
};

void check_qkv(const Tensor& qkv, const Node& n) {
  if (n.heads < 1 || qkv.c % (3 * n.heads) != 0) op_error(n, "bad attention shape");
}

}  // namespace

Tensor channel_gram(const Tensor& qkv, const Node& n) {
  check_qkv(qkv, n);
  const PixelGroups groups(qkv, n);
  const int channels = qkv.c / 3;
  const int d = channels / n.heads;
  const std::size_t grams = static_cast<std::size_t>(n.heads) * d * d;
  const std::size_t stats = grams + 2 * static_cast<std::size_t>(channels);
  const std::size_t count = static_cast<std::size_t>(groups.gh) * groups.gw;
  std::vector<double> acc(count * stats, 0.0);  // [group][statistic]
  std::vector<double> pixels(count, 0.0);
  std::vector<double> qk(2 * static_cast<std::size_t>(channels));
  for (int y = 0; y < qkv.h; ++y) {
    for (int x = 0; x < qkv.w; ++x) {
      const auto g = static_cast<std::size_t>(groups.of(y, x));
      pixels[g] += 1;
      for (int c = 0; c < 2 * channels; ++c) qk[c] = qkv.at(c, y, x);
      double* a = &acc[g * stats];
      for (int h = 0; h < n.heads; ++h)
        for (int i = 0; i < d; ++i)
          for (int j = 0; j < d; ++j) {
            a[(static_cast<std::size_t>(h) * d + i) * d + j] +=
                qk[h * d + i] * qk[channels + h * d + j];
          }
      for (int c = 0; c < 2 * channels; ++c) a[grams + c] += qk[c] * qk[c];
    }
  }
  Tensor y(static_cast<int>(stats), groups.gh, groups.gw);
  for (std::size_t g = 0; g < count; ++g)
    for (std::size_t s = 0; s < stats; ++s) {
      y.data[s * count + g] = static_cast<float>(acc[g * stats + s] / std::max(1.0, pixels[g]));
    }
  return y;
}

std::vector<float> channel_attention_matrix(const Tensor& gram, const Node& n, int channels) {
  const int d = channels / n.heads;
  const std::size_t grams = static_cast<std::size_t>(n.heads) * d * d;
  const std::size_t count = gram.plane();
  // F.normalize divides by max(|x|, 1e-12); the means carry |x|^2 / pixels, and the pixel count
  // cancels out of q_i.k_j / (|q_i| |k_j|) except where a norm is that close to zero.
  const auto at = [&](std::size_t s, std::size_t g) {
    return static_cast<double>(gram.data[s * count + g]);
  };
  std::vector<float> a(count * grams);  // [group][head][i][j]
  std::vector<double> row(static_cast<std::size_t>(d));
  for (std::size_t g = 0; g < count; ++g)
    for (int h = 0; h < n.heads; ++h)
      for (int i = 0; i < d; ++i) {
        double top = -1e300;
        const std::size_t qi = static_cast<std::size_t>(h) * d + i;
        const double qn = std::max(std::sqrt(at(grams + qi, g)), 1e-12);
        for (int j = 0; j < d; ++j) {
          const std::size_t kj = channels + static_cast<std::size_t>(h) * d + j;
          const double kn = std::max(std::sqrt(at(grams + kj, g)), 1e-12);
          row[j] = n.weight[h] * at(qi * d + j, g) / (qn * kn);
          top = std::max(top, row[j]);
        }
        double total = 0;
        for (double& r : row) {
          r = std::exp(r - top);
          total += r;
        }
        for (int j = 0; j < d; ++j) a[g * grams + qi * d + j] = static_cast<float>(row[j] / total);
      }
  return a;
}

Tensor channel_attention(const Tensor& qkv, const Tensor& gram, const Node& n) {
  check_qkv(qkv, n);
  const PixelGroups groups(qkv, n);
  const int channels = qkv.c / 3;
  const int d = channels / n.heads;
  const std::size_t grams = static_cast<std::size_t>(n.heads) * d * d;
  if (gram.c != static_cast<int>(grams) + 2 * channels || gram.h != groups.gh ||
      gram.w != groups.gw) {
    op_error(n, fmt::format("statistics [{}, {}, {}] for {} channels", gram.c, gram.h, gram.w,
                            channels));
  }
  const std::vector<float> a = channel_attention_matrix(gram, n, channels);
  Tensor y(channels, qkv.h, qkv.w);
  for (int yy = 0; yy < qkv.h; ++yy)
    for (int xx = 0; xx < qkv.w; ++xx) {
      const float* m = &a[static_cast<std::size_t>(groups.of(yy, xx)) * grams];
      for (int h = 0; h < n.heads; ++h)
        for (int i = 0; i < d; ++i) {
          double acc = 0;
          for (int j = 0; j < d; ++j) {
            acc += static_cast<double>(m[(static_cast<std::size_t>(h) * d + i) * d + j]) *
                   qkv.at(2 * channels + h * d + j, yy, xx);
          }
          y.at(h * d + i, yy, xx) = static_cast<float>(acc);
        }
    }
  return y;
}

Tensor grid_to_windows(const Tensor& x, const Node& n, bool inverse) {
  const int f = n.factor;
  if (f < 1 || x.h % f != 0 || x.w % f != 0) {
    op_error(n, fmt::format("{}x{} is not a multiple of {}", x.w, x.h, f));
  }
  const int rows = x.h / f;  // the grid's step
  const int cols = x.w / f;
  Tensor y(x.c, x.h, x.w);
  for (int c = 0; c < x.c; ++c)
    for (int gy = 0; gy < rows; ++gy)
      for (int i = 0; i < f; ++i)
        for (int gx = 0; gx < cols; ++gx)
          for (int j = 0; j < f; ++j) {
            float& window =
                inverse ? y.at(c, i * rows + gy, j * cols + gx) : y.at(c, gy * f + i, gx * f + j);
            window =
                inverse ? x.at(c, gy * f + i, gx * f + j) : x.at(c, i * rows + gy, j * cols + gx);
          }
  return y;
}

}  // namespace hires::engine::ref
