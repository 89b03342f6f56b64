#version 450
#extension GL_GOOGLE_include_directive : require
#include "value.glsl"
// Elementwise activations: relu, leaky relu (alpha), PReLU (one slope or one per channel),
// sigmoid, SiLU, GELU (erf), Mish; and scale_shift (y = x * scale + shift) as act = 5.
#include "common.glsl"

layout(std430, binding = 0) writeonly buffer Out { VALUE y[]; };
layout(std430, binding = 1) readonly buffer In { VALUE x[]; };
layout(std430, binding = 3) readonly buffer Slopes { float slopes[]; };

layout(push_constant) uniform P {
  int n, plane, act, num_slopes;
  float alpha, scale, shift;
} p;

void main() {
  const uint i = flat_index();
  if (i >= uint(p.n)) return;
  const float v = float(x[i]);
  if (p.act == 5) {
    y[i] = VALUE(v * p.scale + p.shift);
    return;
  }
  float slope = 0.0;
  if (p.act == ACT_PRELU) slope = slopes[p.num_slopes == 1 ? 0 : int(i) / p.plane];
  y[i] = VALUE(activate(v, p.act, p.alpha, slope));
}
