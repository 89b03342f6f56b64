// Plain-loop references of the transformer ops (SwinIR, HAT): layer norm over channels, shifted
// window attention, and the padding to a window multiple and crop back that SwinIR's forward pass
// does around the network. Written for clarity, in double; the oracle of attention_cpu.cpp.
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
  if (r < length - window) return 0;
  return r < length - shift ? 1 : 2;
}

Tensor window_attention(const Tensor& qkv, const Node& n) {
  const int ws = n.window;
  if (ws < 1 || n.heads < 1 || qkv.c % (3 * n.heads) != 0) op_error(n, "bad attention shape");
  if (qkv.h % ws != 0 || qkv.w % ws != 0) {
    op_error(n, fmt::format("{}x{} is not a multiple of the window {}", qkv.w, qkv.h, ws));
  }
  const int channels = qkv.c / 3;
  const int hd = channels / n.heads;
  const int tokens = ws * ws;
  const int span = 2 * ws - 1;
  const int s = n.window_shift;
  Tensor y(channels, qkv.h, qkv.w);
  // Per token of the window: its pixel in the image and its mask region.
  std::vector<int> py(tokens), px(tokens), label(tokens);
  std::vector<double> logits(tokens);
  for (int wy = 0; wy < qkv.h / ws; ++wy) {
    for (int wx = 0; wx < qkv.w / ws; ++wx) {
      // Window (wy, wx) of the image rolled by -shift: its token (i, j) is the rolled pixel
      // (wy*ws + i, wx*ws + j), which is the image's ((wy*ws + i + s) % H, ...).
      for (int t = 0; t < tokens; ++t) {
        const int ry = wy * ws + t / ws;
        const int rx = wx * ws + t % ws;
        py[t] = (ry + s) % qkv.h;
        px[t] = (rx + s) % qkv.w;
        label[t] = s == 0 ? 0 : 3 * shift_region(ry, qkv.h, ws, s) + shift_region(rx, qkv.w, ws, s);
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
            const int dy = a / ws - b / ws + ws - 1;
            const int dx = a % ws - b % ws + ws - 1;
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
  Node p = n;
  p.top = p.left = 0;
  p.bottom = (n.factor - x.h % n.factor) % n.factor;
  p.right = (n.factor - x.w % n.factor) % n.factor;
  if (p.bottom == 0 && p.right == 0) return x;
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

}  // namespace hires::engine::ref
