#version 450
#extension GL_GOOGLE_include_directive : require
#include "value.glsl"
// Channel self-attention statistics (engine::ref::channel_gram): input qkv [3C, H, W], output
// [heads*d*d + 2C, gh, gw]: per group of pixels, the means of q_i k_j per head (d x d), then of
// the squares of the 2C q and k channels. Groups: the whole image (window 0), window x window
// blocks, or (grid) the pixels `window` apart. One invocation per statistic and group.
#include "common.glsl"

layout(std430, binding = 0) writeonly buffer Out { VALUE y[]; };
layout(std430, binding = 1) readonly buffer In { VALUE x[]; };

layout(push_constant) uniform P {
  int c, h, w, heads, window, grid, gh, gw;
} p;

void main() {
  const uint i = flat_index();
  const int d = p.c / p.heads;
  const int grams = p.heads * d * d;
  const int count = p.gh * p.gw;
  if (i >= uint((grams + 2 * p.c) * count)) return;
  const int s = int(i) / count;
  const int g = int(i) % count;
  int a = s - grams;  // the channels multiplied
  int b = a;
  if (s < grams) {
    a = (s / (d * d)) * d + (s / d) % d;
    b = p.c + (s / (d * d)) * d + s % d;
  }
  // The group's rows y0 + m * step (m < ny), and columns likewise.
  int y0 = 0, x0 = 0, step = 1, ny = p.h, nx = p.w;
  if (p.window > 0 && p.grid != 0) {
    y0 = g / p.gw;
    x0 = g % p.gw;
    step = p.window;
    ny = p.h / p.window;
    nx = p.w / p.window;
  } else if (p.window > 0) {
    y0 = (g / p.gw) * p.window;
    x0 = (g % p.gw) * p.window;
    ny = p.window;
    nx = p.window;
  }
  const int plane = p.h * p.w;
  float sum = 0.0;
  for (int m = 0; m < ny; ++m) {
    const int row = (y0 + m * step) * p.w;
    for (int n = 0; n < nx; ++n) {
      const int pix = row + x0 + n * step;
      sum += float(x[a * plane + pix]) * float(x[b * plane + pix]);
    }
  }
  y[i] = VALUE(sum / float(max(1, ny * nx)));
}
