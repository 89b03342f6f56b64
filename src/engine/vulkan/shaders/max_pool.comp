#version 450
#extension GL_GOOGLE_include_directive : require
#include "value.glsl"
// k x k maximum with a stride, no padding (the remainder dropped), as PyTorch's MaxPool2d.
#include "common.glsl"

layout(std430, binding = 0) writeonly buffer Out { VALUE y[]; };
layout(std430, binding = 1) readonly buffer In { VALUE x[]; };

layout(push_constant) uniform P {
  int c, in_h, in_w, out_h, out_w, k, stride;
} p;

void main() {
  const uint i = flat_index();
  const int plane = p.out_h * p.out_w;
  if (i >= uint(p.c * plane)) return;
  const int c = int(i) / plane;
  const int y0 = ((int(i) % plane) / p.out_w) * p.stride;
  const int x0 = (int(i) % p.out_w) * p.stride;
  const int base = c * p.in_h * p.in_w;
  float m = float(x[base + y0 * p.in_w + x0]);
  for (int a = 0; a < p.k; ++a)
    for (int b = 0; b < p.k; ++b) m = max(m, float(x[base + (y0 + a) * p.in_w + x0 + b]));
  y[i] = VALUE(m);
}
