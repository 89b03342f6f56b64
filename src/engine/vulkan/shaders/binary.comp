#version 450
#extension GL_GOOGLE_include_directive : require
#include "value.glsl"
// add (mode 0), mul of equal shapes (mode 1), mul by a per-channel [C,1,1] value (mode 2).
#include "common.glsl"

layout(std430, binding = 0) writeonly buffer Out { VALUE y[]; };
layout(std430, binding = 1) readonly buffer A { VALUE a[]; };
layout(std430, binding = 2) readonly buffer B { VALUE b[]; };

layout(push_constant) uniform P {
  int n, plane, mode;
} p;

void main() {
  const uint i = flat_index();
  if (i >= uint(p.n)) return;
  if (p.mode == 0) {
    y[i] = VALUE(float(a[i]) + float(b[i]));
  } else if (p.mode == 1) {
    y[i] = VALUE(float(a[i]) * float(b[i]));
  } else {
    y[i] = VALUE(float(a[i]) * float(b[int(i) / p.plane]));
  }
}
