#include <gtest/gtest.h>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "core/resample.hpp"

namespace hires::core {
namespace {

struct Plane {
  int w, h, bands;
  SampleType type;
  std::vector<std::uint8_t> bytes;
  int bpp() const { return bands * (type == SampleType::u8 ? 1 : 2); }
  std::ptrdiff_t stride() const { return static_cast<std::ptrdiff_t>(w) * bpp(); }
  int get(int x, int y, int b) const {
    const std::size_t i = static_cast<std::size_t>(y) * w * bands + x * bands + b;
    if (type == SampleType::u8) return bytes[i];
    return reinterpret_cast<const std::uint16_t*>(bytes.data())[i];
  }
  void set(int x, int y, int b, int v) {
    const std::size_t i = static_cast<std::size_t>(y) * w * bands + x * bands + b;
    if (type == SampleType::u8) {
      bytes[i] = static_cast<std::uint8_t>(v);
    } else {
      reinterpret_cast<std::uint16_t*>(bytes.data())[i] = static_cast<std::uint16_t>(v);
    }
  }
};

Plane make_plane(int w, int h, int bands, SampleType t) {
  Plane p{w, h, bands, t, {}};
  p.bytes.assign(static_cast<std::size_t>(w) * h * p.bpp(), 0);
  return p;
}

struct Resampled {
  AxisWeights x, y;
  Plane out;
};

Resampled run(const Plane& in, int ow, int oh, Filter f, bool alpha,
              SampleType out_type = SampleType::u8,
              std::optional<std::array<float, 3>> flatten = std::nullopt) {
  Resampled r{make_axis_weights(in.w, ow, f), make_axis_weights(in.h, oh, f), {}};
  ResampleSpec s;
  s.x = &r.x;
  s.y = &r.y;
  s.bands = in.bands;
  s.has_alpha = alpha;
  s.linear_light = f != Filter::nearest;
  s.in_type = in.type;
  s.out_type = out_type;
  s.flatten = flatten;
  r.out = make_plane(ow, oh, s.out_bands(), out_type);
  // Compute in two horizontal strips to exercise partial rectangles.
  const int split = oh / 2;
  for (const Rect o : {Rect{0, 0, ow, split}, Rect{0, split, ow, oh - split}}) {
    if (o.height == 0) continue;
    Rect full{0, 0, in.w, in.h};
    resample_rect(s, in.bytes.data(), in.stride(), full,
                  r.out.bytes.data() + static_cast<std::ptrdiff_t>(o.top) * r.out.stride(),
                  r.out.stride(), o);
  }
  return r;
}

TEST(AxisWeights, SumToOneAndStayInside) {
  for (Filter f : {Filter::nearest, Filter::triangle, Filter::catmull_rom, Filter::lanczos3}) {
    for (auto [in, out] : {std::pair{7, 13}, {13, 7}, {1, 5}, {5, 1}, {100, 400}, {400, 100}}) {
      const AxisWeights a = make_axis_weights(in, out, f);
      ASSERT_EQ(a.start.size(), static_cast<std::size_t>(out));
      for (int o = 0; o < out; ++o) {
        if (o > 0) {
          EXPECT_GE(a.start[o], a.start[o - 1]) << "start must not go back, o=" << o;
        }
        EXPECT_GE(a.start[o], 0);
        EXPECT_LE(a.start[o] + a.taps, in)
            << "filter " << static_cast<int>(f) << " " << in << "->" << out << " o=" << o;
        const float* w = a.w.data() + static_cast<std::size_t>(o) * a.taps;
        EXPECT_NEAR(std::accumulate(w, w + a.taps, 0.0), 1.0, 1e-5)
            << "filter " << static_cast<int>(f) << " " << in << "->" << out << " o=" << o;
      }
    }
  }
}

TEST(AxisWeights, NearestDoublesEachPixel) {
  const AxisWeights a = make_axis_weights(3, 6, Filter::nearest);
  EXPECT_EQ(a.taps, 1);
  EXPECT_EQ(a.start, (std::vector<int>{0, 0, 1, 1, 2, 2}));
}

TEST(Resample, SameSizeIsIdentityForEveryFilterAndDepth) {
  std::mt19937 rng(7);
  for (SampleType t : {SampleType::u8, SampleType::u16}) {
    Plane in = make_plane(7, 13, 4, t);
    const int peak = t == SampleType::u8 ? 255 : 65535;
    for (int y = 0; y < in.h; ++y)
      for (int x = 0; x < in.w; ++x)
        for (int b = 0; b < 4; ++b) in.set(x, y, b, static_cast<int>(rng() % (peak + 1)));
    for (int x = 0; x < in.w; ++x) in.set(x, 0, 3, peak);  // opaque row
    for (Filter f : {Filter::nearest, Filter::triangle, Filter::catmull_rom, Filter::lanczos3}) {
      const Resampled r = run(in, 7, 13, f, /*alpha=*/true, t);
      for (int y = 0; y < in.h; ++y) {
        for (int x = 0; x < in.w; ++x) {
          const int a = in.get(x, y, 3);
          ASSERT_EQ(r.out.get(x, y, 3), a);
          // Colour under (near-)zero alpha carries no information once premultiplied.
          if (f != Filter::nearest && a * 255 < peak * 8) continue;
          for (int b = 0; b < 3; ++b) {
            ASSERT_NEAR(r.out.get(x, y, b), in.get(x, y, b), t == SampleType::u8 ? 0 : 2)
                << "filter " << static_cast<int>(f) << " x=" << x << " y=" << y << " b=" << b
                << " alpha=" << a;
          }
        }
      }
    }
  }
}

TEST(Resample, NearestCopiesSixteenBitSamplesExactly) {
  Plane in = make_plane(3, 2, 1, SampleType::u16);
  const int vals[6] = {0, 1, 65535, 12345, 40000, 7};
  for (int i = 0; i < 6; ++i) in.set(i % 3, i / 3, 0, vals[i]);
  const Resampled r = run(in, 6, 4, Filter::nearest, false, SampleType::u16);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 6; ++x) EXPECT_EQ(r.out.get(x, y, 0), vals[(y / 2) * 3 + x / 2]);
}

TEST(Resample, AveragesInLinearLight) {
  // Black and white averaged: 0.5 in linear light is sRGB 188, not 128 (gamma-space averaging).
  Plane in = make_plane(2, 1, 1, SampleType::u8);
  in.set(1, 0, 0, 255);
  const Resampled r = run(in, 1, 1, Filter::triangle, false);
  EXPECT_EQ(r.out.get(0, 0, 0), 188);
}

TEST(Resample, TransparentNeighboursDoNotBleedColour) {
  // Opaque red next to fully transparent green: no green may appear in visible pixels.
  Plane in = make_plane(2, 1, 4, SampleType::u8);
  in.set(0, 0, 0, 255);
  in.set(0, 0, 3, 255);
  in.set(1, 0, 1, 255);
  for (Filter f : {Filter::triangle, Filter::catmull_rom, Filter::lanczos3}) {
    const Resampled r = run(in, 8, 1, f, true);
    for (int x = 0; x < 8; ++x) {
      if (r.out.get(x, 0, 3) == 0) continue;
      EXPECT_EQ(r.out.get(x, 0, 1), 0) << "green bled in at x=" << x;
      EXPECT_EQ(r.out.get(x, 0, 0), 255) << "red darkened at x=" << x;
    }
    EXPECT_EQ(r.out.get(0, 0, 3), 255);
    EXPECT_EQ(r.out.get(7, 0, 3), 0);
  }
}

TEST(Resample, FlattensOntoBackground) {
  Plane in = make_plane(2, 1, 2, SampleType::u8);  // grey + alpha
  in.set(0, 0, 0, 0);
  in.set(0, 0, 1, 255);  // opaque black
  in.set(1, 0, 0, 0);
  in.set(1, 0, 1, 0);  // transparent
  const Resampled r =
      run(in, 2, 1, Filter::lanczos3, true, SampleType::u8, std::array<float, 3>{1.0F, 1.0F, 1.0F});
  EXPECT_EQ(r.out.bands, 1);
  EXPECT_EQ(r.out.get(0, 0, 0), 0);
  EXPECT_EQ(r.out.get(1, 0, 0), 255);
}

TEST(Resample, ConstantStaysConstantWithoutRinging) {
  Plane in = make_plane(5, 4, 3, SampleType::u8);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 5; ++x)
      for (int b = 0; b < 3; ++b) in.set(x, y, b, 77 + b);
  const Resampled r = run(in, 19, 11, Filter::lanczos3, false);
  for (int y = 0; y < 11; ++y)
    for (int x = 0; x < 19; ++x)
      for (int b = 0; b < 3; ++b) ASSERT_EQ(r.out.get(x, y, b), 77 + b);
}

// The oracle: a direct, non-separable double-precision sum over the 2-D footprint.
TEST(Resample, SeparableFloatMatchesDirectDoubleOracle) {
  std::mt19937 rng(11);
  Plane in = make_plane(9, 7, 3, SampleType::u8);
  for (auto& v : in.bytes) v = static_cast<std::uint8_t>(rng() % 256);
  for (Filter f : {Filter::triangle, Filter::catmull_rom, Filter::lanczos3}) {
    for (auto [ow, oh] : {std::pair{31, 17}, {4, 3}, {9, 20}}) {
      const Resampled r = run(in, ow, oh, f, false);
      for (int oy = 0; oy < oh; ++oy) {
        for (int ox = 0; ox < ow; ++ox) {
          for (int b = 0; b < 3; ++b) {
            double sum = 0;
            for (int ky = 0; ky < r.y.taps; ++ky) {
              for (int kx = 0; kx < r.x.taps; ++kx) {
                const double w =
                    static_cast<double>(r.x.w[ox * r.x.taps + kx]) * r.y.w[oy * r.y.taps + ky];
                sum +=
                    w * srgb_to_linear(in.get(r.x.start[ox] + kx, r.y.start[oy] + ky, b) / 255.0);
              }
            }
            const double expect = 255.0 * linear_to_srgb(std::clamp(sum, 0.0, 1.0));
            ASSERT_NEAR(r.out.get(ox, oy, b), expect, 0.51)
                << "filter " << static_cast<int>(f) << " " << ow << "x" << oh << " at " << ox << ","
                << oy << " band " << b;
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace hires::core
