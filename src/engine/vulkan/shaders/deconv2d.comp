#version 450
#extension GL_GOOGLE_include_directive : require
#include "value.glsl"
// Transposed convolution (PyTorch ConvTranspose2d) as a gather: each invocation sums, for one
// output value, the input pixels whose scatter lands on it. Weights are PyTorch's [in, out, k, k].
// params: bias[out_c], then PReLU slopes[out_c].
#include "common.glsl"

layout(std430, binding = 0) writeonly buffer Out { VALUE y[]; };
layout(std430, binding = 1) readonly buffer In { VALUE x[]; };
layout(std430, binding = 2) readonly buffer Weights { float w[]; };
layout(std430, binding = 3) readonly buffer Params { float params[]; };

layout(push_constant) uniform P {
  int in_c, in_h, in_w;
  int out_c, out_h, out_w;
  int k, stride, pad;
  int act;
  float alpha;
} p;

void main() {
  const uint i = flat_index();
  const int out_plane = p.out_h * p.out_w;
  if (i >= uint(p.out_c * out_plane)) return;
  const int oc = int(i) / out_plane;
  const int oy = (int(i) % out_plane) / p.out_w;
  const int ox = int(i) % p.out_w;
  float acc = params[oc];
  const int plane = p.in_h * p.in_w;
  for (int ky = 0; ky < p.k; ++ky) {
    const int ty = oy + p.pad - ky;  // = iy * stride
    if (ty < 0 || ty % p.stride != 0) continue;
    const int iy = ty / p.stride;
    if (iy >= p.in_h) continue;
    for (int kx = 0; kx < p.k; ++kx) {
      const int tx = ox + p.pad - kx;
      if (tx < 0 || tx % p.stride != 0) continue;
      const int ix = tx / p.stride;
      if (ix >= p.in_w) continue;
      for (int ic = 0; ic < p.in_c; ++ic) {
        acc += float(x[ic * plane + iy * p.in_w + ix]) * w[((ic * p.out_c + oc) * p.k + ky) * p.k + kx];
      }
    }
  }
  const float slope = p.act == ACT_PRELU ? params[p.out_c + oc] : 0.0;
  y[i] = VALUE(activate(acc, p.act, p.alpha, slope));
}
