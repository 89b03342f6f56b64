#version 450
#extension GL_GOOGLE_include_directive : require
#include "value.glsl"
// DySample's sampling (engine::ref::offset_sample): output pixel (y*f + i, x*f + j) of channel
// group g is x bilinearly sampled at (x + dx, y + dy), clamped to the image, with dx the offsets'
// channel g*f^2 + i*f + j at (y, x) and dy the one groups*f^2 after it.
#include "common.glsl"

layout(std430, binding = 0) writeonly buffer Out { VALUE y[]; };
layout(std430, binding = 1) readonly buffer In { VALUE x[]; };
layout(std430, binding = 2) readonly buffer Offsets { VALUE offsets[]; };

layout(push_constant) uniform P {
  int c, h, w, f, groups;
} p;

void main() {
  const uint i = flat_index();
  const int out_w = p.w * p.f;
  const int out_plane = p.h * p.f * out_w;
  if (i >= uint(p.c * out_plane)) return;
  const int c = int(i) / out_plane;
  const int oy = (int(i) % out_plane) / out_w;
  const int ox = int(i) % out_w;
  const int iy = oy / p.f;
  const int ix = ox / p.f;
  const int f2 = p.f * p.f;
  const int g = c / (p.c / p.groups);
  const int k = (oy % p.f) * p.f + ox % p.f;
  const int plane = p.h * p.w;
  const int at = iy * p.w + ix;
  const float sx = clamp(float(ix) + float(offsets[(g * f2 + k) * plane + at]), 0.0, float(p.w - 1));
  const float sy =
      clamp(float(iy) + float(offsets[((p.groups + g) * f2 + k) * plane + at]), 0.0, float(p.h - 1));
  const int x0 = int(floor(sx));
  const int y0 = int(floor(sy));
  const int x1 = min(x0 + 1, p.w - 1);
  const int y1 = min(y0 + 1, p.h - 1);
  const float tx = sx - float(x0);
  const float ty = sy - float(y0);
  const int base = c * plane;
  const float top = float(x[base + y0 * p.w + x0]) * (1.0 - tx) + float(x[base + y0 * p.w + x1]) * tx;
  const float bottom = float(x[base + y1 * p.w + x0]) * (1.0 - tx) + float(x[base + y1 * p.w + x1]) * tx;
  y[i] = VALUE(top * (1.0 - ty) + bottom * ty);
}
