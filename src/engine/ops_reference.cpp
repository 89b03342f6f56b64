#include "engine/ops_reference.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <cmath>

#include "hires/error.hpp"

namespace hires::engine::ref {
namespace {

[[noreturn]] void shape_error(const Node& n, const std::string& what) {
  throw Error(ErrorKind::internal, fmt::format("node '{}' ({})", n.name, op_name(n.type)), what);
}

void require_same_shape(const Node& n, const Tensor& a, const Tensor& b) {
  if (a.c != b.c || a.h != b.h || a.w != b.w) {
    shape_error(
        n, fmt::format("shapes differ: [{},{},{}] vs [{},{},{}]", a.c, a.h, a.w, b.c, b.h, b.w));
  }
}

}  // namespace

Tensor conv2d(const Tensor& x, const Node& n) {
  const int k = n.kernel;
  const int s = n.stride;
  const int p = n.padding;
  const int oh = (x.h + 2 * p - k) / s + 1;
  const int ow = (x.w + 2 * p - k) / s + 1;
  const int icg = n.in_channels / n.groups;
  const int ocg = n.out_channels / n.groups;
  Tensor y(n.out_channels, oh, ow);
  for (int oc = 0; oc < n.out_channels; ++oc) {
    float* out = y.channel(oc);
    const float b = n.bias.empty() ? 0.0F : n.bias[oc];
    std::fill(out, out + y.plane(), b);
    const int g = oc / ocg;
    for (int icl = 0; icl < icg; ++icl) {
      const float* in = x.channel(g * icg + icl);
      for (int ky = 0; ky < k; ++ky) {
        for (int kx = 0; kx < k; ++kx) {
          const float w = n.weight[((static_cast<std::size_t>(oc) * icg + icl) * k + ky) * k + kx];
          for (int yo = 0; yo < oh; ++yo) {
            const int yi = yo * s + ky - p;
            if (yi < 0 || yi >= x.h) continue;
            const float* row = in + static_cast<std::size_t>(yi) * x.w;
            float* orow = out + static_cast<std::size_t>(yo) * ow;
            // x range with xi = xo * s + kx - p inside [0, x.w)
            int x0 = 0;
            while (x0 < ow && x0 * s + kx - p < 0) ++x0;
            int x1 = ow;
            while (x1 > x0 && (x1 - 1) * s + kx - p >= x.w) --x1;
            for (int xo = x0; xo < x1; ++xo) orow[xo] += w * row[xo * s + kx - p];
          }
        }
      }
    }
  }
  return y;
}

Tensor deconv2d(const Tensor& x, const Node& n) {
  const int k = n.kernel;
  const int s = n.stride;
  const int p = n.padding;
  const int oh = (x.h - 1) * s - 2 * p + k;
  const int ow = (x.w - 1) * s - 2 * p + k;
  if (oh < 1 || ow < 1) shape_error(n, fmt::format("input {}x{} is too small", x.w, x.h));
  Tensor y(n.out_channels, oh, ow);
  for (int oc = 0; oc < n.out_channels; ++oc) {
    float* out = y.channel(oc);
    const float b = n.bias.empty() ? 0.0F : n.bias[oc];
    std::fill(out, out + y.plane(), b);
    for (int ic = 0; ic < n.in_channels; ++ic) {
      const float* in = x.channel(ic);
      for (int ky = 0; ky < k; ++ky) {
        for (int kx = 0; kx < k; ++kx) {
          const float w =
              n.weight[((static_cast<std::size_t>(ic) * n.out_channels + oc) * k + ky) * k + kx];
          for (int yi = 0; yi < x.h; ++yi) {
            const int yo = yi * s + ky - p;
            if (yo < 0 || yo >= oh) continue;
            const float* row = in + static_cast<std::size_t>(yi) * x.w;
            float* orow = out + static_cast<std::size_t>(yo) * ow;
            for (int xi = 0; xi < x.w; ++xi) {
              const int xo = xi * s + kx - p;
              if (xo >= 0 && xo < ow) orow[xo] += w * row[xi];
            }
          }
        }
      }
    }
  }
  return y;
}

void relu(Tensor& x) {
  for (float& v : x.data) v = v > 0.0F ? v : 0.0F;
}

void leaky_relu(Tensor& x, float alpha) {
  for (float& v : x.data) v = v > 0.0F ? v : v * alpha;
}

void prelu(Tensor& x, const std::vector<float>& slopes) {
  for (int c = 0; c < x.c; ++c) {
    const float a = slopes.size() == 1 ? slopes[0] : slopes[c];
    float* p = x.channel(c);
    for (std::size_t i = 0; i < x.plane(); ++i) p[i] = p[i] > 0.0F ? p[i] : p[i] * a;
  }
}

void sigmoid(Tensor& x) {
  for (float& v : x.data) v = 1.0F / (1.0F + std::exp(-v));
}

Tensor slice_channels(const Tensor& x, int begin, int count) {
  Tensor y(count, x.h, x.w);
  std::copy(x.channel(begin), x.channel(begin) + y.size(), y.data.begin());
  return y;
}

void silu(Tensor& x) {
  for (float& v : x.data) v = static_cast<float>(v / (1.0 + std::exp(-static_cast<double>(v))));
}

void gelu(Tensor& x) {
  for (float& v : x.data) {
    const double d = v;
    v = static_cast<float>(0.5 * d * (1.0 + std::erf(d / std::sqrt(2.0))));
  }
}

void mish(Tensor& x) {
  for (float& v : x.data) {
    const double d = v;
    const double softplus = d > 20.0 ? d : std::log1p(std::exp(d));
    v = static_cast<float>(d * std::tanh(softplus));
  }
}

void group_norm(Tensor& x, const Node& n) {
  const int per_group = x.c / n.groups;
  const std::size_t count = static_cast<std::size_t>(per_group) * x.plane();
  for (int grp = 0; grp < n.groups; ++grp) {
    float* p = x.channel(grp * per_group);
    double sum = 0;
    for (std::size_t i = 0; i < count; ++i) sum += p[i];
    const double mean = sum / static_cast<double>(count);
    double sq = 0;
    for (std::size_t i = 0; i < count; ++i) sq += (p[i] - mean) * (p[i] - mean);
    const double inv = 1.0 / std::sqrt(sq / static_cast<double>(count) + n.eps);
    for (int k = 0; k < per_group; ++k) {
      const int ch = grp * per_group + k;
      float* q = x.channel(ch);
      for (std::size_t i = 0; i < x.plane(); ++i) {
        q[i] = static_cast<float>((q[i] - mean) * inv * n.weight[ch] + n.bias[ch]);
      }
    }
  }
}

void scale_shift(Tensor& x, float scale, float shift) {
  for (float& v : x.data) v = v * scale + shift;
}

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor y = a;
  for (std::size_t i = 0; i < y.size(); ++i) y.data[i] += b.data[i];
  return y;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor y = a;
  if (b.h == 1 && b.w == 1 && (a.h != 1 || a.w != 1)) {
    for (int c = 0; c < a.c; ++c) {
      float* p = y.channel(c);
      for (std::size_t i = 0; i < y.plane(); ++i) p[i] *= b.data[c];
    }
    return y;
  }
  for (std::size_t i = 0; i < y.size(); ++i) y.data[i] *= b.data[i];
  return y;
}

Tensor concat(const std::vector<const Tensor*>& parts) {
  int c = 0;
  for (const Tensor* t : parts) c += t->c;
  Tensor y(c, parts[0]->h, parts[0]->w);
  std::size_t off = 0;
  for (const Tensor* t : parts) {
    std::copy(t->data.begin(), t->data.end(), y.data.begin() + static_cast<std::ptrdiff_t>(off));
    off += t->size();
  }
  return y;
}

Tensor pixel_shuffle(const Tensor& x, int r) {
  const int c = x.c / (r * r);
  Tensor y(c, x.h * r, x.w * r);
  for (int oc = 0; oc < c; ++oc)
    for (int i = 0; i < r; ++i)
      for (int j = 0; j < r; ++j) {
        const float* in = x.channel(oc * r * r + i * r + j);
        for (int yy = 0; yy < x.h; ++yy)
          for (int xx = 0; xx < x.w; ++xx) y.at(oc, yy * r + i, xx * r + j) = in[yy * x.w + xx];
      }
  return y;
}

Tensor pixel_unshuffle(const Tensor& x, int r) {
  const int h = x.h / r;
  const int w = x.w / r;
  Tensor y(x.c * r * r, h, w);
  for (int c = 0; c < x.c; ++c)
    for (int i = 0; i < r; ++i)
      for (int j = 0; j < r; ++j)
        for (int yy = 0; yy < h; ++yy)
          for (int xx = 0; xx < w; ++xx)
            y.at(c * r * r + i * r + j, yy, xx) = x.at(c, yy * r + i, xx * r + j);
  return y;
}

Tensor upsample_nearest(const Tensor& x, int f) {
  Tensor y(x.c, x.h * f, x.w * f);
  for (int c = 0; c < x.c; ++c)
    for (int yy = 0; yy < y.h; ++yy)
      for (int xx = 0; xx < y.w; ++xx) y.at(c, yy, xx) = x.at(c, yy / f, xx / f);
  return y;
}

Tensor resize_bilinear(const Tensor& x, int out_h, int out_w) {
  Tensor y(x.c, out_h, out_w);
  // PyTorch's align_corners = false: source = (o + 0.5) * in / out - 0.5, clamped at 0.
  auto src = [](int o, int in, int out, int& i0, int& i1, float& t) {
    double s = (o + 0.5) * static_cast<double>(in) / out - 0.5;
    s = std::max(s, 0.0);
    i0 = std::min(static_cast<int>(s), in - 1);
    i1 = std::min(i0 + 1, in - 1);
    t = static_cast<float>(s - i0);
  };
  for (int yy = 0; yy < y.h; ++yy) {
    int y0 = 0, y1 = 0;
    float ty = 0;
    src(yy, x.h, out_h, y0, y1, ty);
    for (int xx = 0; xx < y.w; ++xx) {
      int x0 = 0, x1 = 0;
      float tx = 0;
      src(xx, x.w, out_w, x0, x1, tx);
      for (int c = 0; c < x.c; ++c) {
        const float top = x.at(c, y0, x0) * (1 - tx) + x.at(c, y0, x1) * tx;
        const float bot = x.at(c, y1, x0) * (1 - tx) + x.at(c, y1, x1) * tx;
        y.at(c, yy, xx) = top * (1 - ty) + bot * ty;
      }
    }
  }
  return y;
}

Tensor offset_sample(const Tensor& x, const Tensor& offsets, const Node& n) {
  const int f = n.factor;
  const int per = x.c / n.groups;
  const int f2 = f * f;
  if (offsets.c != 2 * n.groups * f2 || offsets.h != x.h || offsets.w != x.w) {
    shape_error(n, fmt::format("offsets [{}, {}, {}] for [{}, {}, {}] at factor {}", offsets.c,
                               offsets.h, offsets.w, x.c, x.h, x.w, f));
  }
  Tensor y(x.c, x.h * f, x.w * f);
  for (int g = 0; g < n.groups; ++g)
    for (int yy = 0; yy < x.h; ++yy)
      for (int xx = 0; xx < x.w; ++xx)
        for (int k = 0; k < f2; ++k) {
          // The sampling position in input pixels, clamped to the image (border padding).
          const double sx =
              std::clamp(xx + static_cast<double>(offsets.at(g * f2 + k, yy, xx)), 0.0, x.w - 1.0);
          const double sy =
              std::clamp(yy + static_cast<double>(offsets.at((n.groups + g) * f2 + k, yy, xx)), 0.0,
                         x.h - 1.0);
          const int x0 = static_cast<int>(std::floor(sx));
          const int y0 = static_cast<int>(std::floor(sy));
          const int x1 = std::min(x0 + 1, x.w - 1);
          const int y1 = std::min(y0 + 1, x.h - 1);
          const double tx = sx - x0;
          const double ty = sy - y0;
          for (int c = g * per; c < (g + 1) * per; ++c) {
            const double top = x.at(c, y0, x0) * (1 - tx) + x.at(c, y0, x1) * tx;
            const double bottom = x.at(c, y1, x0) * (1 - tx) + x.at(c, y1, x1) * tx;
            y.at(c, yy * f + k / f, xx * f + k % f) =
                static_cast<float>(top * (1 - ty) + bottom * ty);
          }
        }
  return y;
}

Tensor upsample_bilinear(const Tensor& x, int f) {
  return resize_bilinear(x, x.h * f, x.w * f);
}

Tensor max_pool(const Tensor& x, const Node& n) {
  if (n.kernel < 1 || n.stride < 1 || x.h < n.kernel || x.w < n.kernel) {
    shape_error(
        n, fmt::format("{}x{} is smaller than the {}x{} window", x.w, x.h, n.kernel, n.kernel));
  }
  Tensor y(x.c, (x.h - n.kernel) / n.stride + 1, (x.w - n.kernel) / n.stride + 1);
  for (int c = 0; c < x.c; ++c)
    for (int yy = 0; yy < y.h; ++yy)
      for (int xx = 0; xx < y.w; ++xx) {
        float m = x.at(c, yy * n.stride, xx * n.stride);
        for (int i = 0; i < n.kernel; ++i)
          for (int j = 0; j < n.kernel; ++j) {
            m = std::max(m, x.at(c, yy * n.stride + i, xx * n.stride + j));
          }
        y.at(c, yy, xx) = m;
      }
  return y;
}

Tensor pad(const Tensor& x, const Node& n) {
  Tensor y(x.c, x.h + n.top + n.bottom, x.w + n.left + n.right);
  auto index = [&](int i, int len) {
    if (i >= 0 && i < len) return i;
    if (n.pad_mode == PadMode::replicate || len == 1) return std::clamp(i, 0, len - 1);
    // reflect (without repeating the edge), as PyTorch
    while (i < 0 || i >= len) i = i < 0 ? -i : 2 * (len - 1) - i;
    return i;
  };
  for (int c = 0; c < x.c; ++c)
    for (int yy = 0; yy < y.h; ++yy)
      for (int xx = 0; xx < y.w; ++xx) {
        const int sy = yy - n.top;
        const int sx = xx - n.left;
        if (n.pad_mode == PadMode::zero && (sy < 0 || sy >= x.h || sx < 0 || sx >= x.w)) {
          y.at(c, yy, xx) = 0.0F;
        } else {
          y.at(c, yy, xx) = x.at(c, index(sy, x.h), index(sx, x.w));
        }
      }
  return y;
}

Tensor crop(const Tensor& x, const Node& n) {
  Tensor y(x.c, x.h - n.top - n.bottom, x.w - n.left - n.right);
  if (y.h <= 0 || y.w <= 0) shape_error(n, "crop removes the whole tensor");
  for (int c = 0; c < x.c; ++c)
    for (int yy = 0; yy < y.h; ++yy)
      for (int xx = 0; xx < y.w; ++xx) y.at(c, yy, xx) = x.at(c, yy + n.top, xx + n.left);
  return y;
}

Tensor global_avg_pool(const Tensor& x) {
  Tensor y(x.c, 1, 1);
  for (int c = 0; c < x.c; ++c) {
    double sum = 0;
    const float* p = x.channel(c);
    for (std::size_t i = 0; i < x.plane(); ++i) sum += p[i];
    y.data[c] = static_cast<float>(sum / static_cast<double>(x.plane()));
  }
  return y;
}

Tensor run_node(const Node& n, const std::vector<const Tensor*>& in) {
  const Tensor& x = *in[0];
  switch (n.type) {
    case OpType::conv2d:
      if (x.c != n.in_channels) {
        shape_error(n, fmt::format("input has {} channels, expected {}", x.c, n.in_channels));
      }
      return conv2d(x, n);
    case OpType::deconv2d:
      if (x.c != n.in_channels) {
        shape_error(n, fmt::format("input has {} channels, expected {}", x.c, n.in_channels));
      }
      return deconv2d(x, n);
    case OpType::relu: {
      Tensor y = x;
      relu(y);
      return y;
    }
    case OpType::leaky_relu: {
      Tensor y = x;
      leaky_relu(y, n.alpha);
      return y;
    }
    case OpType::prelu: {
      Tensor y = x;
      prelu(y, n.slopes);
      return y;
    }
    case OpType::sigmoid: {
      Tensor y = x;
      sigmoid(y);
      return y;
    }
    case OpType::silu: {
      Tensor y = x;
      silu(y);
      return y;
    }
    case OpType::gelu: {
      Tensor y = x;
      gelu(y);
      return y;
    }
    case OpType::mish: {
      Tensor y = x;
      mish(y);
      return y;
    }
    case OpType::group_norm: {
      if (n.groups < 1 || x.c % n.groups != 0 || n.weight.size() != static_cast<std::size_t>(x.c)) {
        shape_error(n, fmt::format("{} groups for {} channels", n.groups, x.c));
      }
      Tensor y = x;
      group_norm(y, n);
      return y;
    }
    case OpType::slice_channels:
      if (n.begin < 0 || n.count < 1 || n.begin + n.count > x.c) {
        shape_error(n, fmt::format("channels {} to {} of {}", n.begin, n.begin + n.count, x.c));
      }
      return slice_channels(x, n.begin, n.count);
    case OpType::scale_shift: {
      Tensor y = x;
      scale_shift(y, n.scale, n.shift);
      return y;
    }
    case OpType::add:
      require_same_shape(n, x, *in[1]);
      return add(x, *in[1]);
    case OpType::mul:
      if (!(in[1]->h == 1 && in[1]->w == 1 && in[1]->c == x.c)) require_same_shape(n, x, *in[1]);
      return mul(x, *in[1]);
    case OpType::concat:
      for (const Tensor* t : in) {
        if (t->h != x.h || t->w != x.w) shape_error(n, "inputs differ in size");
      }
      return concat(in);
    case OpType::pixel_shuffle:
      if (x.c % (n.factor * n.factor) != 0) shape_error(n, "channels not divisible by factor^2");
      return pixel_shuffle(x, n.factor);
    case OpType::pixel_unshuffle:
      if (x.h % n.factor != 0 || x.w % n.factor != 0) shape_error(n, "size not divisible");
      return pixel_unshuffle(x, n.factor);
    case OpType::upsample_nearest:
      return upsample_nearest(x, n.factor);
    case OpType::upsample_bilinear:
      return upsample_bilinear(x, n.factor);
    case OpType::pad:
      return pad(x, n);
    case OpType::crop:
      return crop(x, n);
    case OpType::global_avg_pool:
      return global_avg_pool(x);
    case OpType::layer_norm:
      return layer_norm(x, n);
    case OpType::window_attention:
      return window_attention(x, n);
    case OpType::overlap_attention:
      return overlap_attention(x, n);
    case OpType::permuted_attention:
      return permuted_attention(x, n);
    case OpType::recursive_reduction:
      return recursive_reduction(x, n);
    case OpType::pad_to_multiple:
      return pad_to_multiple(x, n);
    case OpType::crop_like:
      return crop_like(x, *in[1], n.factor);
    case OpType::channel_gram:
      return channel_gram(x, n);
    case OpType::channel_attention:
      return channel_attention(x, *in[1], n);
    case OpType::grid_to_windows:
    case OpType::windows_to_grid:
      return grid_to_windows(x, n, n.type == OpType::windows_to_grid);
    case OpType::max_pool:
      return max_pool(x, n);
    case OpType::resize_bilinear_like:
      return resize_bilinear(x, in[1]->h, in[1]->w);
    case OpType::token_attention:
      return token_attention(x, *in[1], n);
    case OpType::offset_sample:
      return offset_sample(x, *in[1], n);
  }
  shape_error(n, "unknown op");
}

}  // namespace hires::engine::ref
