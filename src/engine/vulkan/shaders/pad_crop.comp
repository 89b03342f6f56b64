#version 450
#extension GL_GOOGLE_include_directive : require
#include "value.glsl"
// pad (mode 0 zero, 1 replicate, 2 reflect without repeating the edge, as PyTorch) and crop
// (mode 3): y[c, oy, ox] = x[c, oy - top, ox - left] with the border rule of the mode.
// For crop, top and left are negative (the pixels removed).
#include "common.glsl"

layout(std430, binding = 0) writeonly buffer Out { VALUE y[]; };
layout(std430, binding = 1) readonly buffer In { VALUE x[]; };

layout(push_constant) uniform P {
  int c, in_h, in_w, out_h, out_w, top, left, mode;
} p;

int border(int i, int len) {
  if (i >= 0 && i < len) return i;
  if (p.mode == 1 || len == 1) return clamp(i, 0, len - 1);
  for (int guard = 0; guard < 64 && (i < 0 || i >= len); ++guard) i = i < 0 ? -i : 2 * (len - 1) - i;
  return clamp(i, 0, len - 1);
}

void main() {
  const uint i = flat_index();
  const int plane = p.out_h * p.out_w;
  if (i >= uint(p.c * plane)) return;
  const int c = int(i) / plane;
  const int sy = (int(i) % plane) / p.out_w - p.top;
  const int sx = int(i) % p.out_w - p.left;
  if (p.mode == 0 && (sy < 0 || sy >= p.in_h || sx < 0 || sx >= p.in_w)) {
    y[i] = VALUE(0.0);
    return;
  }
  y[i] = VALUE(float(x[(c * p.in_h + border(sy, p.in_h)) * p.in_w + border(sx, p.in_w)]));
}
