#version 450
#extension GL_GOOGLE_include_directive : require
#include "value.glsl"
// Swin's (shifted) window attention core (engine::ref::window_attention): input qkv [3C, H, W],
// output [C, H, W]. The query at image pixel (py, px) sits at the rolled pixel (py - sy, px - sx)
// (mod the size) of window (ry / wh, rx / ww); it attends to that window's wh x ww tokens with
// the relative position bias (table [(2wh-1)(2ww-1), heads]) and -100 between shift regions.
#include "common.glsl"
#include "attention.glsl"

layout(std430, binding = 0) writeonly buffer Out { VALUE y[]; };
layout(std430, binding = 1) readonly buffer In { VALUE x[]; };
layout(std430, binding = 2) readonly buffer Bias { float table[]; };

layout(push_constant) uniform P {
  int c, h, w, heads, wh, ww, sy, sx;
  float scale;
} p;

void main() {
  const int plane = p.h * p.w;
  const int hd = p.c / p.heads;
  int pix, head, d0, dn;
  if (!att_task(flat_index(), plane, p.heads, hd, pix, head, d0, dn)) return;
  const int ry = (pix / p.w + p.h - p.sy % p.h) % p.h;  // GLSL's % wants no negatives
  const int rx = (pix % p.w + p.w - p.sx % p.w) % p.w;
  const int ai = ry % p.wh;
  const int aj = rx % p.ww;
  const int label = 3 * shift_region(ry, p.h, p.wh, p.sy) + shift_region(rx, p.w, p.ww, p.sx);
  const int q0 = head * hd * plane + pix;
  const int k0 = (p.c + head * hd) * plane;
  const int v0 = (2 * p.c + head * hd + d0) * plane;
  const int span = 2 * p.ww - 1;
  att_begin();
  for (int bi = 0; bi < p.wh; ++bi) {
    const int by = ry - ai + bi;
    const int ky = (by + p.sy) % p.h;
    for (int bj = 0; bj < p.ww; ++bj) {
      const int bx = rx - aj + bj;
      const int kpix = ky * p.w + (bx + p.sx) % p.w;
      float dot = 0.0;
      for (int d = 0; d < hd; ++d) dot += float(x[q0 + d * plane]) * float(x[k0 + d * plane + kpix]);
      float s = dot * p.scale + table[((ai - bi + p.wh - 1) * span + aj - bj + p.ww - 1) * p.heads + head];
      const int key_label = 3 * shift_region(by, p.h, p.wh, p.sy) + shift_region(bx, p.w, p.ww, p.sx);
      if (key_label != label) s -= 100.0;
      const float e = att_key(s);
      for (int d = 0; d < dn; ++d) att_acc[d] += e * float(x[v0 + d * plane + kpix]);
    }
  }
  for (int d = 0; d < dn; ++d) y[(head * hd + d0 + d) * plane + pix] = VALUE(att_acc[d] / att_total);
}
