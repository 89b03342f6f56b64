#version 450
#extension GL_GOOGLE_include_directive : require
#include "value.glsl"
// OmniSR's grid layout (engine::ref::grid_to_windows): mode 0 gathers the pixels f apart into
// f x f windows, out(gy * f + i, gx * f + j) = in(i * H/f + gy, j * W/f + gx); mode 1 the inverse.
#include "common.glsl"

layout(std430, binding = 0) writeonly buffer Out { VALUE y[]; };
layout(std430, binding = 1) readonly buffer In { VALUE x[]; };

layout(push_constant) uniform P {
  int c, h, w, f, inverse;
} p;

int source(int o, int len) {
  const int step = len / p.f;
  return p.inverse == 0 ? (o % p.f) * step + o / p.f : (o % step) * p.f + o / step;
}

void main() {
  const uint i = flat_index();
  const int plane = p.h * p.w;
  if (i >= uint(p.c * plane)) return;
  const int c = int(i) / plane;
  const int oy = (int(i) % plane) / p.w;
  const int ox = int(i) % p.w;
  y[i] = VALUE(float(x[c * plane + source(oy, p.h) * p.w + source(ox, p.w)]));
}
