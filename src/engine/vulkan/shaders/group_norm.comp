#version 450
#extension GL_GOOGLE_include_directive : require
#include "value.glsl"
// PyTorch GroupNorm over a planar [C, H, W] tensor: one workgroup per group (C / groups channels
// x H x W values): the mean by a tree reduction, then the variance around it (two passes, as the
// reference, not E[x^2] - E[x]^2), then y = (x - mean) / sqrt(var + eps) * weight[c] + bias[c].
#define LOCAL_SIZE 256
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) writeonly buffer Out { VALUE y[]; };
layout(std430, binding = 1) readonly buffer In { VALUE x[]; };
layout(std430, binding = 2) readonly buffer Params { float wb[]; };  // weight[C] then bias[C]

layout(push_constant) uniform P {
  int c, plane, groups;
  float eps;
} p;

shared float partial[LOCAL_SIZE];

float reduce_sum(float v, uint t) {
  partial[t] = v;
  barrier();
  for (uint s = LOCAL_SIZE / 2; s > 0; s >>= 1) {
    if (t < s) partial[t] += partial[t + s];
    barrier();
  }
  const float total = partial[0];
  barrier();
  return total;
}

void main() {
  const int g = int(gl_WorkGroupID.x);
  const uint t = gl_LocalInvocationID.x;
  const int per_group = p.c / p.groups;
  const int count = per_group * p.plane;
  const int base = g * count;
  float sum = 0.0;
  for (int i = int(t); i < count; i += LOCAL_SIZE) sum += float(x[base + i]);
  const float mean = reduce_sum(sum, t) / float(count);
  float sq = 0.0;
  for (int i = int(t); i < count; i += LOCAL_SIZE) {
    const float d = float(x[base + i]) - mean;
    sq += d * d;
  }
  const float inv = inversesqrt(reduce_sum(sq, t) / float(count) + p.eps);
  for (int i = int(t); i < count; i += LOCAL_SIZE) {
    const int ch = g * per_group + i / p.plane;
    y[base + i] = VALUE((float(x[base + i]) - mean) * inv * wb[ch] + wb[p.c + ch]);
  }
}
