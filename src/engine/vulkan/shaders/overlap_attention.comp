#version 450
#extension GL_GOOGLE_include_directive : require
#include "value.glsl"
// HAT's overlapping cross-attention core (engine::ref::overlap_attention): queries in windows of
// `ws`, keys and values the `keys` x `keys` pixels centred on each window (outside the image the
// key is zero: its logit is the bias alone and it adds no value); bias table
// [(ws + keys - 1)^2, heads], negative rows counted from the end as the released code does.
#include "common.glsl"
#include "attention.glsl"

layout(std430, binding = 0) writeonly buffer Out { VALUE y[]; };
layout(std430, binding = 1) readonly buffer In { VALUE x[]; };
layout(std430, binding = 2) readonly buffer Bias { float table[]; };

layout(push_constant) uniform P {
  int c, h, w, heads, ws, keys;
  float scale;
} p;

void main() {
  const int plane = p.h * p.w;
  const int hd = p.c / p.heads;
  int pix, head, d0, dn;
  if (!att_task(flat_index(), plane, p.heads, hd, pix, head, d0, dn)) return;
  const int py = pix / p.w;
  const int px = pix % p.w;
  const int qy = py % p.ws;
  const int qx = px % p.ws;
  const int margin = (p.keys - p.ws) / 2;
  const int top = py - qy - margin;
  const int left = px - qx - margin;
  const int span = p.ws + p.keys - 1;
  const int q0 = head * hd * plane + pix;
  const int k0 = (p.c + head * hd) * plane;
  const int v0 = (2 * p.c + head * hd + d0) * plane;
  att_begin();
  for (int ky = 0; ky < p.keys; ++ky) {
    const int yy = top + ky;
    for (int kx = 0; kx < p.keys; ++kx) {
      const int xx = left + kx;
      const bool inside = yy >= 0 && yy < p.h && xx >= 0 && xx < p.w;
      const int kpix = yy * p.w + xx;
      float dot = 0.0;
      if (inside) {
        for (int d = 0; d < hd; ++d) dot += float(x[q0 + d * plane]) * float(x[k0 + d * plane + kpix]);
      }
      int row = (ky - qy + p.ws - p.keys + 1) * span + (kx - qx + p.ws - p.keys + 1);
      if (row < 0) row += span * span;
      const float e = att_key(dot * p.scale + table[row * p.heads + head]);
      if (inside) {
        for (int d = 0; d < dn; ++d) att_acc[d] += e * float(x[v0 + d * plane + kpix]);
      }
    }
  }
  for (int d = 0; d < dn; ++d) y[(head * hd + d0 + d) * plane + pix] = VALUE(att_acc[d] / att_total);
}
