#version 450
#extension GL_GOOGLE_include_directive : require
#include "value.glsl"
// Resampling to out_h x out_w: nearest by an integer factor (mode 0), or bilinear with
// align_corners = false to any size (mode 1: upsample_bilinear, resize_bilinear_like), as PyTorch
// and the reference loops (engine/ops_reference.cpp).
#include "common.glsl"

layout(std430, binding = 0) writeonly buffer Out { VALUE y[]; };
layout(std430, binding = 1) readonly buffer In { VALUE x[]; };

layout(push_constant) uniform P {
  int c, in_h, in_w, out_h, out_w, mode;
} p;

void source(int o, int n, int out_n, out int i0, out int i1, out float t) {
  float s = (float(o) + 0.5) * float(n) / float(out_n) - 0.5;
  s = max(s, 0.0);
  i0 = min(int(s), n - 1);
  i1 = min(i0 + 1, n - 1);
  t = s - float(i0);
}

void main() {
  const uint i = flat_index();
  const int out_h = p.out_h;
  const int out_w = p.out_w;
  const int plane = out_h * out_w;
  if (i >= uint(p.c * plane)) return;
  const int c = int(i) / plane;
  const int oy = (int(i) % plane) / out_w;
  const int ox = int(i) % out_w;
  const int base = c * p.in_h * p.in_w;
  if (p.mode == 0) {
    y[i] = VALUE(float(x[base + (oy * p.in_h / out_h) * p.in_w + ox * p.in_w / out_w]));
    return;
  }
  int y0, y1, x0, x1;
  float ty, tx;
  source(oy, p.in_h, out_h, y0, y1, ty);
  source(ox, p.in_w, out_w, x0, x1, tx);
  const float top = float(x[base + y0 * p.in_w + x0]) * (1.0 - tx) + float(x[base + y0 * p.in_w + x1]) * tx;
  const float bot = float(x[base + y1 * p.in_w + x0]) * (1.0 - tx) + float(x[base + y1 * p.in_w + x1]) * tx;
  y[i] = VALUE(top * (1.0 - ty) + bot * ty);
}
