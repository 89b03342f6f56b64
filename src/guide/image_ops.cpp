#include "guide/image_ops.hpp"

#include <algorithm>
#include <cmath>

namespace hires {

Pixels::Pixels(int w, int h, int c, float fill)
    : width(w), height(h), channels(c), data(static_cast<std::size_t>(w) * h * c, fill) {}

namespace guide {

float srgb_to_linear(float v) {
  v = std::clamp(v, 0.0F, 1.0F);
  return v <= 0.04045F ? v / 12.92F : std::pow((v + 0.055F) / 1.055F, 2.4F);
}

float linear_to_srgb(float v) {
  v = std::clamp(v, 0.0F, 1.0F);
  return v <= 0.0031308F ? v * 12.92F : 1.055F * std::pow(v, 1.0F / 2.4F) - 0.055F;
}

Plane luma255(const Pixels& image) {
  Plane out(image.width, image.height);
  const std::size_t n = out.v.size();
  for (std::size_t i = 0; i < n; ++i) {
    const float* p = &image.data[i * image.channels];
    out.v[i] = image.channels >= 3 ? 255.0F * (0.299F * p[0] + 0.587F * p[1] + 0.114F * p[2])
                                   : 255.0F * p[0];
  }
  return out;
}

Plane channel255(const Pixels& image, int c) {
  Plane out(image.width, image.height);
  const std::size_t n = out.v.size();
  for (std::size_t i = 0; i < n; ++i) out.v[i] = 255.0F * image.data[i * image.channels + c];
  return out;
}

namespace {

std::vector<float> gauss_kernel(double sigma) {
  const int r = std::max(1, static_cast<int>(std::ceil(3.0 * sigma)));
  std::vector<float> k(2 * r + 1);
  double sum = 0;
  for (int i = -r; i <= r; ++i) {
    const double v = std::exp(-0.5 * i * i / (sigma * sigma));
    k[i + r] = static_cast<float>(v);
    sum += v;
  }
  for (auto& v : k) v = static_cast<float>(v / sum);
  return k;
}

}  // namespace

Plane gauss_blur(const Plane& in, double sigma) {
  if (sigma <= 0) return in;
  const std::vector<float> k = gauss_kernel(sigma);
  const int r = static_cast<int>(k.size() / 2);
  Plane tmp(in.w, in.h);
  for (int y = 0; y < in.h; ++y) {
    for (int x = 0; x < in.w; ++x) {
      float s = 0;
      for (int i = -r; i <= r; ++i) s += k[i + r] * in(std::clamp(x + i, 0, in.w - 1), y);
      tmp(x, y) = s;
    }
  }
  Plane out(in.w, in.h);
  for (int y = 0; y < in.h; ++y) {
    for (int x = 0; x < in.w; ++x) {
      float s = 0;
      for (int i = -r; i <= r; ++i) s += k[i + r] * tmp(x, std::clamp(y + i, 0, in.h - 1));
      out(x, y) = s;
    }
  }
  return out;
}

Plane box_mean(const Plane& in, int r) {
  const int w = in.w;
  const int h = in.h;
  std::vector<double> sat(static_cast<std::size_t>(w + 1) * (h + 1), 0.0);
  auto S = [&](int x, int y) -> double& { return sat[static_cast<std::size_t>(y) * (w + 1) + x]; };
  for (int y = 0; y < h; ++y) {
    double row = 0;
    for (int x = 0; x < w; ++x) {
      row += in(x, y);
      S(x + 1, y + 1) = S(x + 1, y) + row;
    }
  }
  Plane out(w, h);
  for (int y = 0; y < h; ++y) {
    const int y0 = std::max(0, y - r);
    const int y1 = std::min(h, y + r + 1);
    for (int x = 0; x < w; ++x) {
      const int x0 = std::max(0, x - r);
      const int x1 = std::min(w, x + r + 1);
      const double sum = S(x1, y1) - S(x0, y1) - S(x1, y0) + S(x0, y0);
      out(x, y) = static_cast<float>(sum / ((x1 - x0) * (y1 - y0)));
    }
  }
  return out;
}

namespace {

// For each output index, the input indices it covers with their weights (area averaging).
struct Span {
  int first = 0;
  std::vector<float> weights;
};

std::vector<Span> area_spans(int in, int out) {
  std::vector<Span> spans(out);
  const double step = static_cast<double>(in) / out;
  for (int o = 0; o < out; ++o) {
    const double a = o * step;
    const double b = std::min<double>(in, (o + 1) * step);
    Span& s = spans[o];
    s.first = static_cast<int>(std::floor(a));
    const int last = std::min(in - 1, static_cast<int>(std::ceil(b)) - 1);
    for (int i = s.first; i <= last; ++i) {
      const double cover = std::min<double>(b, i + 1) - std::max<double>(a, i);
      s.weights.push_back(static_cast<float>(cover / (b - a)));
    }
  }
  return spans;
}

}  // namespace

Pixels shrink_area(const Pixels& in, int w, int h) {
  const int c = in.channels;
  std::vector<float> lin(in.data.size());
  for (std::size_t i = 0; i < lin.size(); ++i) lin[i] = srgb_to_linear(in.data[i]);
  const std::vector<Span> xs = area_spans(in.width, w);
  const std::vector<Span> ys = area_spans(in.height, h);
  std::vector<float> tmp(static_cast<std::size_t>(w) * in.height * c, 0.0F);
  for (int y = 0; y < in.height; ++y) {
    for (int x = 0; x < w; ++x) {
      const Span& s = xs[x];
      for (std::size_t k = 0; k < s.weights.size(); ++k) {
        const float* p = &lin[(static_cast<std::size_t>(y) * in.width + s.first + k) * c];
        float* q = &tmp[(static_cast<std::size_t>(y) * w + x) * c];
        for (int ch = 0; ch < c; ++ch) q[ch] += s.weights[k] * p[ch];
      }
    }
  }
  Pixels out(w, h, c);
  for (int y = 0; y < h; ++y) {
    const Span& s = ys[y];
    for (std::size_t k = 0; k < s.weights.size(); ++k) {
      const float* row = &tmp[(s.first + k) * static_cast<std::size_t>(w) * c];
      float* dst = &out.data[static_cast<std::size_t>(y) * w * c];
      for (int i = 0; i < w * c; ++i) dst[i] += s.weights[k] * row[i];
    }
  }
  for (auto& v : out.data) v = linear_to_srgb(v);
  return out;
}

Pixels resize_bilinear(const Pixels& in, int w, int h) {
  Pixels out(w, h, in.channels);
  const double sx = static_cast<double>(in.width) / w;
  const double sy = static_cast<double>(in.height) / h;
  for (int y = 0; y < h; ++y) {
    const double fy = std::clamp((y + 0.5) * sy - 0.5, 0.0, in.height - 1.0);
    const int y0 = static_cast<int>(fy);
    const int y1 = std::min(y0 + 1, in.height - 1);
    const auto ty = static_cast<float>(fy - y0);
    for (int x = 0; x < w; ++x) {
      const double fx = std::clamp((x + 0.5) * sx - 0.5, 0.0, in.width - 1.0);
      const int x0 = static_cast<int>(fx);
      const int x1 = std::min(x0 + 1, in.width - 1);
      const auto tx = static_cast<float>(fx - x0);
      for (int c = 0; c < in.channels; ++c) {
        const float top = in.at(x0, y0, c) * (1 - tx) + in.at(x1, y0, c) * tx;
        const float bottom = in.at(x0, y1, c) * (1 - tx) + in.at(x1, y1, c) * tx;
        out.at(x, y, c) = top * (1 - ty) + bottom * ty;
      }
    }
  }
  return out;
}

Pixels as_rgb(const Pixels& in) {
  if (in.channels == 3) return in;
  Pixels out(in.width, in.height, 3);
  const std::size_t n = static_cast<std::size_t>(in.width) * in.height;
  for (std::size_t i = 0; i < n; ++i) {
    for (int c = 0; c < 3; ++c) out.data[i * 3 + c] = in.data[i * in.channels];
  }
  return out;
}

Lab srgb_to_lab(double r, double g, double b) {
  const double lr = srgb_to_linear(static_cast<float>(r));
  const double lg = srgb_to_linear(static_cast<float>(g));
  const double lb = srgb_to_linear(static_cast<float>(b));
  const double x = (0.4124 * lr + 0.3576 * lg + 0.1805 * lb) / 0.95047;
  const double y = 0.2126 * lr + 0.7152 * lg + 0.0722 * lb;
  const double z = (0.0193 * lr + 0.1192 * lg + 0.9505 * lb) / 1.08883;
  auto f = [](double t) {
    return t > 216.0 / 24389.0 ? std::cbrt(t) : (24389.0 / 27.0 * t + 16.0) / 116.0;
  };
  const double fx = f(x);
  const double fy = f(y);
  const double fz = f(z);
  return {116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)};
}

}  // namespace guide
}  // namespace hires
