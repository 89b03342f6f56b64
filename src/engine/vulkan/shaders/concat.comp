#version 450
#extension GL_GOOGLE_include_directive : require
#include "value.glsl"
// One part of a channel concatenation: copies a whole planar tensor into the output at an offset
// (planar CHW makes concatenation along channels a copy to consecutive ranges); with a source
// offset, a range of channels (slice_channels).
#include "common.glsl"

layout(std430, binding = 0) writeonly buffer Out { VALUE y[]; };
layout(std430, binding = 1) readonly buffer In { VALUE x[]; };

layout(push_constant) uniform P {
  int n, offset, src_offset;
} p;

void main() {
  const uint i = flat_index();
  if (i >= uint(p.n)) return;
  y[uint(p.offset) + i] = VALUE(float(x[uint(p.src_offset) + i]));
}
