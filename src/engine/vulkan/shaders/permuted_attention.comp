#version 450
#extension GL_GOOGLE_include_directive : require
#include "value.glsl"
// SRFormer's permuted window attention core (engine::ref::permuted_attention): input
// [C + C/2, H, W] (q, then k and v of C/4 channels each), output [C, H, W]. In each (shifted)
// window of ws pixels the keys are its (ws/2)^2 2x2 blocks, key channel c being the k (or v)
// channel c % (C/4) of the block's pixel number c / (C/4); bias by the blocks' relative position
// (table [(ws-1)^2, heads]); keys' shift regions on the half-size grid, half the shift rounded up.
#include "common.glsl"
#include "attention.glsl"

layout(std430, binding = 0) writeonly buffer Out { VALUE y[]; };
layout(std430, binding = 1) readonly buffer In { VALUE x[]; };
layout(std430, binding = 2) readonly buffer Bias { float table[]; };

layout(push_constant) uniform P {
  int c, h, w, heads, ws, shift;
  float scale;
} p;

// Channel `ch` (of C) of key k of the window whose rolled top-left is (wy0, wx0), from the
// projection starting at channel `first`.
float key_value(int first, int wy0, int wx0, int k, int ch, int plane) {
  const int quarter = p.c / 4;
  const int pw = p.ws / 2;
  const int part = ch / quarter;
  const int ry = wy0 + 2 * (k / pw) + part / 2;
  const int rx = wx0 + 2 * (k % pw) + part % 2;
  return float(x[(first + ch % quarter) * plane + ((ry + p.shift) % p.h) * p.w + (rx + p.shift) % p.w]);
}

void main() {
  const int plane = p.h * p.w;
  const int hd = p.c / p.heads;
  int pix, head, d0, dn;
  if (!att_task(flat_index(), plane, p.heads, hd, pix, head, d0, dn)) return;
  const int ry = (pix / p.w + p.h - p.shift % p.h) % p.h;  // GLSL's % wants no negatives
  const int rx = (pix % p.w + p.w - p.shift % p.w) % p.w;
  const int pw = p.ws / 2;
  const int wy0 = ry - ry % p.ws;
  const int wx0 = rx - rx % p.ws;
  const int qy = (ry % p.ws) / 2;
  const int qx = (rx % p.ws) / 2;
  const int label =
      3 * shift_region(ry, p.h, p.ws, p.shift) + shift_region(rx, p.w, p.ws, p.shift);
  const int half_shift = (p.shift + 1) / 2;
  const int span = 2 * pw - 1;
  att_begin();
  for (int k = 0; k < pw * pw; ++k) {
    float dot = 0.0;
    for (int d = head * hd; d < (head + 1) * hd; ++d) {
      dot += float(x[d * plane + pix]) * key_value(p.c, wy0, wx0, k, d, plane);
    }
    float s = dot * p.scale + table[((qy - k / pw + pw - 1) * span + qx - k % pw + pw - 1) * p.heads + head];
    const int key_label = 3 * shift_region(wy0 / 2 + k / pw, p.h / 2, pw, half_shift) +
                          shift_region(wx0 / 2 + k % pw, p.w / 2, pw, half_shift);
    if (key_label != label) s -= 100.0;
    const float e = att_key(s);
    for (int d = 0; d < dn; ++d) {
      att_acc[d] += e * key_value(p.c + p.c / 4, wy0, wx0, k, head * hd + d0 + d, plane);
    }
  }
  for (int d = 0; d < dn; ++d) y[(head * hd + d0 + d) * plane + pix] = VALUE(att_acc[d] / att_total);
}
