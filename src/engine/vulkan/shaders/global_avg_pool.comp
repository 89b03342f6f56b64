#version 450
#extension GL_GOOGLE_include_directive : require
#include "value.glsl"
// Global average pooling [C, H, W] -> [C, 1, 1]: one workgroup per channel, each invocation sums
// a strided share of the plane, then a tree reduction in shared memory.
#define LOCAL_SIZE 256
layout(local_size_x = LOCAL_SIZE) in;

layout(std430, binding = 0) writeonly buffer Out { VALUE y[]; };
layout(std430, binding = 1) readonly buffer In { VALUE x[]; };

layout(push_constant) uniform P {
  int c, plane;
} p;

shared float partial[LOCAL_SIZE];

void main() {
  const int c = int(gl_WorkGroupID.x) + int(gl_WorkGroupID.y) * int(gl_NumWorkGroups.x);
  const uint t = gl_LocalInvocationID.x;
  float sum = 0.0;
  if (c < p.c) {
    for (int i = int(t); i < p.plane; i += LOCAL_SIZE) sum += float(x[c * p.plane + i]);
  }
  partial[t] = sum;
  barrier();
  for (uint s = LOCAL_SIZE / 2; s > 0; s >>= 1) {
    if (t < s) partial[t] += partial[t + s];
    barrier();
  }
  if (t == 0 && c < p.c) y[c] = VALUE(partial[0] / float(p.plane));
}
