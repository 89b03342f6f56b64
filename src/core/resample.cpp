#include "core/resample.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace hires::core {
namespace {

double sinc(double x) {
  if (std::abs(x) < 1e-9) return 1.0;
  const double px = std::numbers::pi * x;
  return std::sin(px) / px;
}

double support_of(Filter f) {
  switch (f) {
    case Filter::nearest:
      return 0.5;
    case Filter::triangle:
      return 1.0;
    case Filter::catmull_rom:
      return 2.0;
    case Filter::lanczos3:
      return 3.0;
    case Filter::box:
      return 0.5;
  }
  return 1.0;
}

double kernel(Filter f, double x) {
  x = std::abs(x);
  switch (f) {
    case Filter::nearest:
      return x <= 0.5 ? 1.0 : 0.0;
    case Filter::triangle:
      return x < 1.0 ? 1.0 - x : 0.0;
    case Filter::catmull_rom: {  // Keys cubic, a = -0.5
      constexpr double a = -0.5;
      if (x < 1.0) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2.0) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
      return 0.0;
    }
    case Filter::lanczos3:
      return x < 3.0 ? sinc(x) * sinc(x / 3.0) : 0.0;
    case Filter::box:
      return x < 0.5 ? 1.0 : 0.0;
  }
  return 0.0;
}

}  // namespace

AxisWeights make_axis_weights(int in_len, int out_len, Filter filter, bool antialias) {
  AxisWeights a;
  a.in_len = in_len;
  a.out_len = out_len;
  const double ratio = static_cast<double>(in_len) / out_len;  // input pixels per output pixel
  // A box that does not shrink covers one input pixel: nearest neighbour.
  const bool point =
      filter == Filter::nearest || (filter == Filter::box && (!antialias || ratio <= 1.0));
  const double widen = antialias ? std::max(1.0, ratio) : 1.0;  // antialias when shrinking
  const double support = point ? 0.0 : support_of(filter) * widen;
  const auto edge = [in_len](int i) { return std::clamp(i, 0, in_len - 1); };
  // Output o's taps: input lo..hi, folded onto the edge pixel where they fall outside. Every
  // kernel here is zero at +-support, so the open interval holds all the taps. Zero weights
  // inside it are kept: that keeps start[] non-decreasing, which input_rect_for needs.
  struct Span {
    int lo = 0;
    int hi = 0;
    double centre = 0;
  };
  const auto span_of = [&](int o) {
    Span sp;
    if (point) {
      sp.lo = sp.hi = static_cast<int>(std::floor((o + 0.5) * ratio));
    } else {
      sp.centre = (o + 0.5) * ratio - 0.5;
      sp.lo = static_cast<int>(std::floor(sp.centre - support)) + 1;
      sp.hi = static_cast<int>(std::ceil(sp.centre + support)) - 1;
    }
    return sp;
  };
  // Flat tables, no per-row containers: a 1,000,000-pixel axis costs its tables only.
  int taps = 1;
  for (int o = 0; o < out_len; ++o) {
    const Span sp = span_of(o);
    taps = std::max(taps, edge(sp.hi) - edge(sp.lo) + 1);
  }
  taps = std::min(taps, in_len);
  a.taps = taps;
  a.start.resize(static_cast<std::size_t>(out_len));
  a.w.assign(static_cast<std::size_t>(out_len) * taps, 0.0F);
  std::vector<double> row(static_cast<std::size_t>(taps));
  for (int o = 0; o < out_len; ++o) {
    const Span sp = span_of(o);
    const int s = std::min(edge(sp.lo), in_len - taps);
    a.start[o] = s;
    float* w = a.w.data() + static_cast<std::size_t>(o) * taps;
    if (point) {
      w[edge(sp.lo) - s] = 1.0F;
      continue;
    }
    std::fill(row.begin(), row.end(), 0.0);
    double sum = 0;
    for (int i = sp.lo; i <= sp.hi; ++i) {
      const double wt = kernel(filter, (i - sp.centre) / widen);
      row[static_cast<std::size_t>(edge(i) - s)] += wt;
      sum += wt;
    }
    for (int k = 0; k < taps; ++k)
      w[k] = static_cast<float>(row[static_cast<std::size_t>(k)] / sum);
  }
  return a;
}

double srgb_to_linear(double v) {
  return v <= 0.04045 ? v / 12.92 : std::pow((v + 0.055) / 1.055, 2.4);
}

double linear_to_srgb(double v) {
  return v <= 0.0031308 ? v * 12.92 : 1.055 * std::pow(v, 1.0 / 2.4) - 0.055;
}

namespace {

// Decode tables: sample value -> linear light.
struct DecodeTables {
  std::vector<float> u8 = std::vector<float>(256);
  std::vector<float> u16 = std::vector<float>(65536);
  DecodeTables() {
    for (int i = 0; i < 256; ++i) u8[i] = static_cast<float>(srgb_to_linear(i / 255.0));
    for (int i = 0; i < 65536; ++i) u16[i] = static_cast<float>(srgb_to_linear(i / 65535.0));
  }
};

// Encode tables: linear light quantised finely enough that the result is within half a step.
constexpr int kEnc8Bits = 16;
constexpr int kEnc16Bits = 20;
struct EncodeTables {
  std::vector<std::uint8_t> u8 = std::vector<std::uint8_t>(1U << kEnc8Bits);
  std::vector<std::uint16_t> u16 = std::vector<std::uint16_t>(1U << kEnc16Bits);
  EncodeTables() {
    const double n8 = (1U << kEnc8Bits) - 1;
    for (std::size_t i = 0; i < u8.size(); ++i) {
      u8[i] = static_cast<std::uint8_t>(std::lround(linear_to_srgb(i / n8) * 255.0));
    }
    const double n16 = (1U << kEnc16Bits) - 1;
    for (std::size_t i = 0; i < u16.size(); ++i) {
      u16[i] = static_cast<std::uint16_t>(std::lround(linear_to_srgb(i / n16) * 65535.0));
    }
  }
};

const DecodeTables& decode_tables() {
  static const DecodeTables t;
  return t;
}
const EncodeTables& encode_tables() {
  static const EncodeTables t;
  return t;
}

float clamp01(float v) {
  return v < 0.0F ? 0.0F : (v > 1.0F ? 1.0F : v);
}

// Converts samples of one input row to float (linear or plain 0..1), premultiplying colour by
// alpha when asked.
void decode_row(const ResampleSpec& s, const std::uint8_t* row, int count, bool premultiply,
                float* out) {
  const int bands = s.bands;
  const int colour = s.has_alpha ? bands - 1 : bands;
  const auto& t = decode_tables();
  for (int x = 0; x < count; ++x) {
    float* px = out + static_cast<std::ptrdiff_t>(x) * bands;
    for (int b = 0; b < bands; ++b) {
      const bool is_alpha = b == colour;
      float v = 0;
      if (s.in_type == SampleType::u8) {
        const std::uint8_t raw = row[x * bands + b];
        v = (s.linear_light && !is_alpha) ? t.u8[raw] : static_cast<float>(raw) / 255.0F;
      } else {
        const auto* r16 = reinterpret_cast<const std::uint16_t*>(row);
        const std::uint16_t raw = r16[x * bands + b];
        v = (s.linear_light && !is_alpha) ? t.u16[raw] : static_cast<float>(raw) / 65535.0F;
      }
      px[b] = v;
    }
    if (premultiply) {
      for (int b = 0; b < colour; ++b) px[b] *= px[colour];
    }
  }
}

// v is clamped to [0, 1] first, so adding 0.5 and truncating rounds to nearest.
std::size_t round_nonneg(double v) {
  return static_cast<std::size_t>(v + 0.5);  // NOLINT(bugprone-incorrect-roundings)
}

std::uint16_t encode_sample(const ResampleSpec& s, float v, bool is_alpha) {
  const double x = clamp01(v);
  const bool curve = s.linear_light && !is_alpha;
  if (s.out_type == SampleType::u8) {
    if (curve) return encode_tables().u8[round_nonneg(x * ((1U << kEnc8Bits) - 1))];
    return static_cast<std::uint16_t>(round_nonneg(x * 255.0));
  }
  if (curve) return encode_tables().u16[round_nonneg(x * ((1U << kEnc16Bits) - 1))];
  return static_cast<std::uint16_t>(round_nonneg(x * 65535.0));
}

// Un-premultiplies (or flattens) one filtered pixel and writes it in the output sample type.
void encode_pixel(const ResampleSpec& s, bool premultiplied, const float* px, std::uint8_t* out,
                  int x) {
  const int bands = s.bands;
  const int colour = s.has_alpha ? bands - 1 : bands;
  const int out_bands = s.out_bands();
  std::array<float, 4> v{};
  const float alpha = s.has_alpha ? clamp01(px[colour]) : 1.0F;
  for (int b = 0; b < colour; ++b) {
    float c = px[b];
    if (s.flatten) {
      const float bg = (*s.flatten)[b];
      const float straight = premultiplied ? c : c * alpha;
      c = straight + bg * (1.0F - alpha);
    } else if (premultiplied) {
      c = alpha > 1e-7F ? c / alpha : 0.0F;
    }
    v[b] = c;
  }
  if (s.has_alpha && !s.flatten) v[colour] = alpha;
  for (int b = 0; b < out_bands; ++b) {
    const std::uint16_t e = encode_sample(s, v[b], s.has_alpha && b == colour);
    if (s.out_type == SampleType::u8) {
      out[x * out_bands + b] = static_cast<std::uint8_t>(e);
    } else {
      reinterpret_cast<std::uint16_t*>(out)[x * out_bands + b] = e;
    }
  }
}

}  // namespace

Rect input_rect_for(const ResampleSpec& spec, const Rect& out) {
  const AxisWeights& ax = *spec.x;
  const AxisWeights& ay = *spec.y;
  const int x0 = ax.start[out.left];
  const int x1 = ax.start[out.left + out.width - 1] + ax.taps;
  const int y0 = ay.start[out.top];
  const int y1 = ay.start[out.top + out.height - 1] + ay.taps;
  return {x0, y0, x1 - x0, y1 - y0};
}

void resample_rect(const ResampleSpec& s, const std::uint8_t* in, std::ptrdiff_t in_stride,
                   const Rect& in_rect, std::uint8_t* out, std::ptrdiff_t out_stride,
                   const Rect& out_rect) {
  const AxisWeights& ax = *s.x;
  const AxisWeights& ay = *s.y;
  const Rect need = input_rect_for(s, out_rect);
  const int bands = s.bands;
  const bool premultiply = s.has_alpha && (ax.taps > 1 || ay.taps > 1);
  const std::size_t in_bpp =
      (s.in_type == SampleType::u8 ? 1U : 2U) * static_cast<std::size_t>(bands);

  thread_local std::vector<float> src;
  thread_local std::vector<float> tmp;
  thread_local std::vector<float> acc;
  const std::size_t src_row = static_cast<std::size_t>(need.width) * bands;
  const std::size_t out_row = static_cast<std::size_t>(out_rect.width) * bands;
  src.resize(src_row);
  tmp.resize(out_row * need.height);
  acc.resize(out_row);

  // Horizontal pass over every needed input row.
  for (int r = 0; r < need.height; ++r) {
    const std::uint8_t* row = in + (need.top + r - in_rect.top) * in_stride +
                              (need.left - in_rect.left) * static_cast<std::ptrdiff_t>(in_bpp);
    decode_row(s, row, need.width, premultiply, src.data());
    float* dst = tmp.data() + out_row * r;
    for (int ox = 0; ox < out_rect.width; ++ox) {
      const int o = out_rect.left + ox;
      const float* w = ax.w.data() + static_cast<std::size_t>(o) * ax.taps;
      const float* p = src.data() + static_cast<std::size_t>(ax.start[o] - need.left) * bands;
      for (int b = 0; b < bands; ++b) {
        float sum = 0;
        for (int k = 0; k < ax.taps; ++k) sum += w[k] * p[k * bands + b];
        dst[ox * bands + b] = sum;
      }
    }
  }
  // Vertical pass, then encode.
  for (int oy = 0; oy < out_rect.height; ++oy) {
    const int o = out_rect.top + oy;
    const float* w = ay.w.data() + static_cast<std::size_t>(o) * ay.taps;
    const int first = ay.start[o] - need.top;
    std::fill(acc.begin(), acc.end(), 0.0F);
    for (int k = 0; k < ay.taps; ++k) {
      const float wk = w[k];
      if (wk == 0.0F) continue;
      const float* t = tmp.data() + out_row * (first + k);
      for (std::size_t i = 0; i < out_row; ++i) acc[i] += wk * t[i];
    }
    std::uint8_t* dst = out + oy * out_stride;
    for (int ox = 0; ox < out_rect.width; ++ox) {
      encode_pixel(s, premultiply, acc.data() + static_cast<std::size_t>(ox) * bands, dst, ox);
    }
  }
}

}  // namespace hires::core
