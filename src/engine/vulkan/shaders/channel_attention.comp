#version 450
#extension GL_GOOGLE_include_directive : require
#include "value.glsl"
// Channel self-attention (engine::ref::channel_attention): inputs qkv [3C, H, W] and its
// channel_gram statistics; per group and head A_ij = softmax over j of temperature * gram_ij /
// (|q_i| |k_j|) (norms from the means of squares, at least 1e-12 as F.normalize), output channel
// i = sum_j A_ij v_j. One invocation per output value (its row of A recomputed: d is small).
#include "common.glsl"

layout(std430, binding = 0) writeonly buffer Out { VALUE y[]; };
layout(std430, binding = 1) readonly buffer In { VALUE x[]; };
layout(std430, binding = 2) readonly buffer Gram { VALUE gram[]; };
layout(std430, binding = 3) readonly buffer Temperature { float temperature[]; };

layout(push_constant) uniform P {
  int c, h, w, heads, window, grid, gh, gw;
} p;

void main() {
  const uint i = flat_index();
  const int plane = p.h * p.w;
  if (i >= uint(p.c * plane)) return;
  const int ch = int(i) / plane;
  const int pix = int(i) % plane;
  const int d = p.c / p.heads;
  const int head = ch / d;
  const int grams = p.heads * d * d;
  const int count = p.gh * p.gw;
  int g = 0;
  if (p.window > 0) {
    const int py = pix / p.w;
    const int px = pix % p.w;
    g = p.grid != 0 ? (py % p.window) * p.window + px % p.window
                    : (py / p.window) * p.gw + px / p.window;
  }
  const float t = temperature[head] / max(sqrt(float(gram[(grams + ch) * count + g])), 1e-12);
  float top = -3.0e38;
  for (int j = 0; j < d; ++j) {
    const float kn = max(sqrt(float(gram[(grams + p.c + head * d + j) * count + g])), 1e-12);
    top = max(top, t * float(gram[(ch * d + j) * count + g]) / kn);
  }
  float total = 0.0;
  float acc = 0.0;
  for (int j = 0; j < d; ++j) {
    const float kn = max(sqrt(float(gram[(grams + p.c + head * d + j) * count + g])), 1e-12);
    const float e = exp(t * float(gram[(ch * d + j) * count + g]) / kn - top);
    total += e;
    acc += e * float(x[(2 * p.c + head * d + j) * plane + pix]);
  }
  y[i] = VALUE(acc / total);
}
