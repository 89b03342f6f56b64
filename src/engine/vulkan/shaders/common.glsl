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

float activate(float v, int act, float alpha, float slope) {
  if (act == ACT_RELU) return max(v, 0.0);
  if (act == ACT_LEAKY) return v > 0.0 ? v : v * alpha;
  if (act == ACT_PRELU) return v > 0.0 ? v : v * slope;
  if (act == ACT_SIGMOID) return 1.0 / (1.0 + exp(-v));
  return v;
}
