// Shared by the 1-D shaders: the flat index of this invocation. Large tensors are dispatched as a
// 2-D grid of 256-wide groups (group counts are limited to 65535 per dimension).
#define LOCAL_SIZE 256
layout(local_size_x = LOCAL_SIZE, local_size_y = 1, local_size_z = 1) in;

uint flat_index() {
  return gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * LOCAL_SIZE;
}

// Activation codes shared with the host (vulkan/kernels.hpp).
#define ACT_NONE 0
#define ACT_RELU 1
#define ACT_LEAKY 2
#define ACT_PRELU 3
#define ACT_SIGMOID 4
// 5 is activation.comp's scale_shift; these three run as their own dispatch (never fused).
#define ACT_SILU 6
#define ACT_GELU 7
#define ACT_MISH 8

// erf(x) by Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7): GLSL has no erf.
float erf_approx(float x) {
  const float t = 1.0 / (1.0 + 0.3275911 * abs(x));
  const float poly =
      t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const float r = 1.0 - poly * exp(-x * x);
  return x < 0.0 ? -r : r;
}

float activate(float v, int act, float alpha, float slope) {
  if (act == ACT_RELU) return max(v, 0.0);
  if (act == ACT_LEAKY) return v > 0.0 ? v : v * alpha;
  if (act == ACT_PRELU) return v > 0.0 ? v : v * slope;
  if (act == ACT_SIGMOID) return 1.0 / (1.0 + exp(-v));
  if (act == ACT_SILU) return v / (1.0 + exp(-v));
  if (act == ACT_GELU) return 0.5 * v * (1.0 + erf_approx(v * 0.70710678118654752));
  if (act == ACT_MISH) {
    const float softplus = v > 20.0 ? v : log(1.0 + exp(v));
    return v * tanh(softplus);
  }
  return v;
}
