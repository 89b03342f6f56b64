// Separable resampling of 8/16-bit images in linear light, with premultiplied alpha and optional
// flattening onto a background. Plain loops: this is both the implementation and the oracle.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace hires::core {

// box: area averaging when shrinking (each output pixel the mean of the input pixels it covers).
enum class Filter { nearest, triangle, catmull_rom, lanczos3, box };

// For every output index o along one axis: input indices start[o] .. start[o] + taps - 1 with
// weights w[o * taps + k] (summing to 1). Out-of-range taps are folded onto the edge pixel.
struct AxisWeights {
  int in_len = 0;
  int out_len = 0;
  int taps = 0;
  std::vector<int> start;
  std::vector<float> w;
};

// Centre-aligned mapping: output pixel o samples input position (o + 0.5) * in / out - 0.5.
// When shrinking, the kernel is widened by in/out (antialiasing) unless `antialias` is false:
// then the kernel samples the input at its own width, as resizers without antialiasing do
// (OpenCV's cv2.resize with INTER_LINEAR / INTER_CUBIC), and fine detail aliases.
AxisWeights make_axis_weights(int in_len, int out_len, Filter filter, bool antialias = true);

enum class SampleType { u8, u16 };

struct ResampleSpec {
  const AxisWeights* x = nullptr;
  const AxisWeights* y = nullptr;
  int bands = 3;  // input bands, alpha last when has_alpha
  bool has_alpha = false;
  bool linear_light = true;  // decode sRGB transfer before filtering
  SampleType in_type = SampleType::u8;
  SampleType out_type = SampleType::u8;
  // When set, alpha is composited onto this colour and dropped; values are in the space the
  // filtering runs in (linear or not), 0..1; a grey image uses the first value.
  std::optional<std::array<float, 3>> flatten;

  int out_bands() const { return flatten ? bands - 1 : bands; }
};

struct Rect {
  int left = 0;
  int top = 0;
  int width = 0;
  int height = 0;
};

// The input rectangle needed to compute `out` (always inside the input image).
Rect input_rect_for(const ResampleSpec& spec, const Rect& out);

// Computes output rectangle `out` from input pixels covering input_rect_for(spec, out).
// `in` points at pixel (in_rect.left, in_rect.top); strides are in bytes.
void resample_rect(const ResampleSpec& spec, const std::uint8_t* in, std::ptrdiff_t in_stride,
                   const Rect& in_rect, std::uint8_t* out, std::ptrdiff_t out_stride,
                   const Rect& out_rect);

// sRGB transfer function, exact (for tests and table building).
double srgb_to_linear(double v);
double linear_to_srgb(double v);

}  // namespace hires::core
