#version 450
#extension GL_GOOGLE_include_directive : require
#include "value.glsl"
// RGT's attention of every pixel to the global tokens (engine::ref::token_attention): q [Cq, H, W]
// and kv [Cq + Cv, h, w]; per head (q and k Cq/heads channels, v Cv/heads) softmax(q k * scale) v
// over all h x w tokens: output [Cv, H, W].
#include "common.glsl"
#include "attention.glsl"

layout(std430, binding = 0) writeonly buffer Out { VALUE y[]; };
layout(std430, binding = 1) readonly buffer Q { VALUE q[]; };
layout(std430, binding = 2) readonly buffer KV { VALUE kv[]; };

layout(push_constant) uniform P {
  int cq, cv, plane, tokens, heads;
  float scale;
} p;

void main() {
  const int dq = p.cq / p.heads;
  const int dv = p.cv / p.heads;
  int pix, head, d0, dn;
  if (!att_task(flat_index(), p.plane, p.heads, dv, pix, head, d0, dn)) return;
  const int v0 = (p.cq + head * dv + d0) * p.tokens;
  att_begin();
  for (int t = 0; t < p.tokens; ++t) {
    float dot = 0.0;
    for (int d = head * dq; d < (head + 1) * dq; ++d) dot += float(q[d * p.plane + pix]) * float(kv[d * p.tokens + t]);
    const float e = att_key(dot * p.scale);
    for (int d = 0; d < dn; ++d) att_acc[d] += e * float(kv[v0 + d * p.tokens + t]);
  }
  for (int d = 0; d < dn; ++d) y[(head * dv + d0 + d) * p.plane + pix] = VALUE(att_acc[d] / att_total);
}
