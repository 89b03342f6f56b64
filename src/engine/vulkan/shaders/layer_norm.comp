#version 450
#extension GL_GOOGLE_include_directive : require
#include "value.glsl"
// PyTorch LayerNorm over the channels of each pixel of a planar [C, H, W] tensor (a
// transformer's tokens): one invocation per pixel, the mean, then the variance around it (two
// passes, as the reference), then y = (x - mean) / sqrt(var + eps) * weight[c] + bias[c].
#include "common.glsl"

layout(std430, binding = 0) writeonly buffer Out { VALUE y[]; };
layout(std430, binding = 1) readonly buffer In { VALUE x[]; };
layout(std430, binding = 2) readonly buffer Params { float wb[]; };  // weight[C] then bias[C]

layout(push_constant) uniform P {
  int c, plane;
  float eps;
} p;

void main() {
  const uint i = flat_index();
  if (i >= uint(p.plane)) return;
  const int pix = int(i);
  float sum = 0.0;
  for (int c = 0; c < p.c; ++c) sum += float(x[c * p.plane + pix]);
  const float mean = sum / float(p.c);
  float sq = 0.0;
  for (int c = 0; c < p.c; ++c) {
    const float d = float(x[c * p.plane + pix]) - mean;
    sq += d * d;
  }
  const float inv = inversesqrt(sq / float(p.c) + p.eps);
  for (int c = 0; c < p.c; ++c) {
    y[c * p.plane + pix] = VALUE((float(x[c * p.plane + pix]) - mean) * inv * wb[c] + wb[p.c + c]);
  }
}
