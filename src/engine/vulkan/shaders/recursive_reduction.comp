#version 450
#extension GL_GOOGLE_include_directive : require
#include "value.glsl"
// RGT's recursive generalization (engine::ref::recursive_reduction): the depth-wise k x k,
// stride-k conv applied `times` times, computed in one pass: an output value is the sum over its
// K x K source block (K = k^times) of x times the product of the weights its pixel meets at each
// level (the level-l weight is indexed by the l-th base-k digit of the offset), plus the bias
// carried up the levels, b (1 + S + ... + S^(times-1)) with S the sum of the channel's weights.
#include "common.glsl"

layout(std430, binding = 0) writeonly buffer Out { VALUE y[]; };
layout(std430, binding = 1) readonly buffer In { VALUE x[]; };
layout(std430, binding = 2) readonly buffer Params { float wb[]; };  // weight [C, k, k], bias [C]

layout(push_constant) uniform P {
  int c, in_h, in_w, out_h, out_w, k, times;
} p;

void main() {
  const uint i = flat_index();
  const int plane = p.out_h * p.out_w;
  if (i >= uint(p.c * plane)) return;
  const int c = int(i) / plane;
  const int oy = (int(i) % plane) / p.out_w;
  const int ox = int(i) % p.out_w;
  const int kk = p.k * p.k;
  int side = 1;
  for (int l = 0; l < p.times; ++l) side *= p.k;
  const int w0 = c * kk;
  float acc = 0.0;
  for (int dy = 0; dy < side; ++dy) {
    for (int dx = 0; dx < side; ++dx) {
      float coef = 1.0;
      int a = dy;
      int b = dx;
      for (int l = 0; l < p.times; ++l) {
        coef *= wb[w0 + (a % p.k) * p.k + b % p.k];
        a /= p.k;
        b /= p.k;
      }
      acc += coef * float(x[(c * p.in_h + oy * side + dy) * p.in_w + ox * side + dx]);
    }
  }
  float s = 0.0;
  for (int t = 0; t < kk; ++t) s += wb[w0 + t];
  float carried = 0.0;
  for (int l = 0; l < p.times; ++l) carried = carried * s + 1.0;
  y[i] = VALUE(acc + wb[p.c * kk + c] * carried);
}
