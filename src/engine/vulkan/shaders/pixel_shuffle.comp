#version 450
#extension GL_GOOGLE_include_directive : require
#include "value.glsl"
// pixel_shuffle (mode 0): [C*r*r, H, W] -> [C, H*r, W*r]; pixel_unshuffle (mode 1): the inverse.
// One invocation per output value; (out_c, out_h, out_w) is the output's shape.
#include "common.glsl"

layout(std430, binding = 0) writeonly buffer Out { VALUE y[]; };
layout(std430, binding = 1) readonly buffer In { VALUE x[]; };

layout(push_constant) uniform P {
  int out_c, out_h, out_w, r, mode;
} p;

void main() {
  const uint i = flat_index();
  const int plane = p.out_h * p.out_w;
  if (i >= uint(p.out_c * plane)) return;
  const int c = int(i) / plane;
  const int oy = (int(i) % plane) / p.out_w;
  const int ox = int(i) % p.out_w;
  const int r = p.r;
  if (p.mode == 0) {
    // y[c, oy, ox] = x[c*r*r + (oy%r)*r + ox%r, oy/r, ox/r]
    const int in_h = p.out_h / r;
    const int in_w = p.out_w / r;
    const int ic = c * r * r + (oy % r) * r + (ox % r);
    y[i] = VALUE(float(x[(ic * in_h + oy / r) * in_w + ox / r]));
  } else {
    // y[c, oy, ox] with c = ic*r*r + i*r + j reads x[ic, oy*r + i, ox*r + j]
    const int in_h = p.out_h * r;
    const int in_w = p.out_w * r;
    const int ic = c / (r * r);
    const int s = c % (r * r);
    y[i] = VALUE(float(x[(ic * in_h + oy * r + s / r) * in_w + ox * r + s % r]));
  }
}
