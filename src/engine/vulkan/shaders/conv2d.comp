#version 450
#extension GL_GOOGLE_include_directive : require
#include "value.glsl"
// Direct convolution (k x k, stride, zero padding, groups) with the bias and an activation fused.
// Each invocation computes four output pixels of a row for a block of 4 output channels of one
// group (3x3 stride-1 convolutions read each input row span once). Weights are packed by the
// host as [group][block][in/groups][k][k] vec4 (vulkan/kernels.cpp), zero-padded to whole blocks.
// params: bias[out_c], then per-channel PReLU slopes[out_c] (when act is PReLU).
layout(local_size_x = 8, local_size_y = 8, local_size_z = 1) in;

layout(std430, binding = 0) writeonly buffer Out { VALUE y[]; };
layout(std430, binding = 1) readonly buffer In { VALUE x[]; };
layout(std430, binding = 2) readonly buffer Weights { vec4 w[]; };
layout(std430, binding = 3) readonly buffer Params { float params[]; };

layout(push_constant) uniform P {
  int in_c, in_h, in_w;
  int out_c, out_h, out_w;
  int k, stride, pad;
  int icg, ocg, ocg_pad;  // input / output channels per group, the latter padded to 4
  int act;
  float alpha;
} p;

#define ACT_NONE 0
#define ACT_RELU 1
#define ACT_LEAKY 2
#define ACT_PRELU 3
#define ACT_SIGMOID 4

vec4 activate4(vec4 v, vec4 slope) {
  if (p.act == ACT_RELU) return max(v, vec4(0.0));
  if (p.act == ACT_LEAKY) return mix(v * p.alpha, v, greaterThan(v, vec4(0.0)));
  if (p.act == ACT_PRELU) return mix(v * slope, v, greaterThan(v, vec4(0.0)));
  if (p.act == ACT_SIGMOID) return vec4(1.0) / (vec4(1.0) + exp(-v));
  return v;
}

// Four horizontally adjacent output pixels per invocation (the weights loaded once serve all
// four), for a block of 4 output channels: 16 accumulators.
#define PIXELS 4

// The weights of the workgroup's channel block pass through shared memory, a chunk of input
// channels at a time (every invocation of a workgroup reads the same weights).
#define SHARED_WEIGHTS 768  // vec4s: 12 KiB of the 16 KiB every device has
shared vec4 ws[SHARED_WEIGHTS];

void main() {
  const int ox0 = int(gl_GlobalInvocationID.x) * PIXELS;
  const int oy = int(gl_GlobalInvocationID.y);
  const int block = int(gl_WorkGroupID.z);  // over groups * ocg_pad / 4
  const bool inside = ox0 < p.out_w && oy < p.out_h;  // all take part in the barriers
  const int blocks_per_group = p.ocg_pad / 4;
  const int g = block / blocks_per_group;
  const int local0 = (block % blocks_per_group) * 4;  // first output channel within the group

  vec4 acc[PIXELS];
  for (int i = 0; i < PIXELS; ++i) acc[i] = vec4(0.0);
  const int plane = p.in_h * p.in_w;
  const int iy0 = oy * p.stride - p.pad;
  const int ix0 = ox0 * p.stride - p.pad;
  const bool fast3 = p.k == 3 && p.stride == 1;
  const int kk = p.k * p.k;
  const int chunk = max(1, SHARED_WEIGHTS / kk);  // input channels per pass
  const int tid = int(gl_LocalInvocationIndex);
  const int threads = int(gl_WorkGroupSize.x * gl_WorkGroupSize.y);
  for (int ic0 = 0; ic0 < p.icg; ic0 += chunk) {
    const int n_ic = min(chunk, p.icg - ic0);
    barrier();
    const int first = (block * p.icg + ic0) * kk;
    for (int i = tid; i < n_ic * kk; i += threads) ws[i] = w[first + i];
    barrier();
    if (!inside) continue;
    int wi = 0;
    for (int icl = 0; icl < n_ic; ++icl) {
      const int base = (g * p.icg + ic0 + icl) * plane;
      for (int ky = 0; ky < p.k; ++ky) {
        const int iy = iy0 + ky;
        if (iy < 0 || iy >= p.in_h) {
          wi += p.k;
          continue;
        }
        const int row = base + iy * p.in_w;
        if (fast3) {
          // The 6 input pixels the 4 outputs' 3x3 windows span on this row, read once.
          float xs[PIXELS + 2];
          for (int j = 0; j < PIXELS + 2; ++j) {
            const int ix = ix0 + j;
            xs[j] = ix >= 0 && ix < p.in_w ? float(x[row + ix]) : 0.0;
          }
          const vec4 w0 = ws[wi];
          const vec4 w1 = ws[wi + 1];
          const vec4 w2 = ws[wi + 2];
          for (int i = 0; i < PIXELS; ++i) {
            acc[i] += xs[i] * w0 + xs[i + 1] * w1 + xs[i + 2] * w2;
          }
          wi += 3;
          continue;
        }
        for (int kx = 0; kx < p.k; ++kx, ++wi) {
          const vec4 wv = ws[wi];
          for (int i = 0; i < PIXELS; ++i) {
            const int ix = ix0 + i * p.stride + kx;
            if (ix >= 0 && ix < p.in_w) acc[i] += float(x[row + ix]) * wv;
          }
        }
      }
    }
  }
  if (!inside) return;

  const int out_plane = p.out_h * p.out_w;
  vec4 bias = vec4(0.0);
  vec4 slope = vec4(0.0);
  for (int l = 0; l < 4; ++l) {
    const int local = local0 + l;
    if (local < p.ocg) {
      const int oc = g * p.ocg + local;
      bias[l] = params[oc];
      if (p.act == ACT_PRELU) slope[l] = params[p.out_c + oc];
    }
  }
  for (int i = 0; i < PIXELS; ++i) {
    const int ox = ox0 + i;
    if (ox >= p.out_w) break;
    const vec4 v = activate4(acc[i] + bias, slope);
    for (int l = 0; l < 4; ++l) {
      const int local = local0 + l;
      if (local < p.ocg) y[(g * p.ocg + local) * out_plane + oy * p.out_w + ox] = VALUE(v[l]);
    }
  }
}
