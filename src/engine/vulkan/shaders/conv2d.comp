#version 450
// Direct convolution (k x k, stride, zero padding, groups) with the bias and an activation fused.
// Each invocation computes one output pixel for a block of 4 output channels of one group, so
// every input value read is used four times; weights are packed by the host as
// [group][block][in/groups][k][k] vec4 (vulkan/kernels.cpp), zero-padded to whole blocks.
// params: bias[out_c], then per-channel PReLU slopes[out_c] (when act is PReLU).
layout(local_size_x = 8, local_size_y = 8, local_size_z = 1) in;

layout(std430, binding = 0) writeonly buffer Out { float y[]; };
layout(std430, binding = 1) readonly buffer In { float x[]; };
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

void main() {
  const int ox = int(gl_GlobalInvocationID.x);
  const int oy = int(gl_GlobalInvocationID.y);
  const int block = int(gl_GlobalInvocationID.z);  // over groups * ocg_pad / 4
  if (ox >= p.out_w || oy >= p.out_h) return;
  const int blocks_per_group = p.ocg_pad / 4;
  const int g = block / blocks_per_group;
  const int local0 = (block % blocks_per_group) * 4;  // first output channel within the group

  vec4 acc = vec4(0.0);
  const int plane = p.in_h * p.in_w;
  const int iy0 = oy * p.stride - p.pad;
  const int ix0 = ox * p.stride - p.pad;
  int wi = block * p.icg * p.k * p.k;
  for (int ic = 0; ic < p.icg; ++ic) {
    const int base = (g * p.icg + ic) * plane;
    for (int ky = 0; ky < p.k; ++ky) {
      const int iy = iy0 + ky;
      if (iy < 0 || iy >= p.in_h) {
        wi += p.k;
        continue;
      }
      const int row = base + iy * p.in_w;
      for (int kx = 0; kx < p.k; ++kx, ++wi) {
        const int ix = ix0 + kx;
        if (ix >= 0 && ix < p.in_w) acc += x[row + ix] * w[wi];
      }
    }
  }

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
  const vec4 v = activate4(acc + bias, slope);
  for (int l = 0; l < 4; ++l) {
    const int local = local0 + l;
    if (local < p.ocg) y[(g * p.ocg + local) * out_plane + oy * p.out_w + ox] = v[l];
  }
}
