// The cpu backend's transformer ops (SwinIR, HAT, DAT): window attention with the windows processed
// in blocks (memory bounded whatever the image size) across the threads, its two batched products
// as oneDNN matmuls and the softmax as oneDNN's; layer norm over channels on plain tensors.
// The reference loops (ops_reference_transformer.cpp) are their oracle.
#pragma once

#include <cstddef>
#include <memory>

#include "engine/graph.hpp"
#include "engine/tensor.hpp"

namespace hires::engine::cpu {

// window_attention, overlap_attention and permuted_attention nodes.
class WindowAttention {
 public:
  // Expands the position bias table once. Windows are processed in blocks whose buffers take at
  // most `block_bytes` (0: 16 MiB), at least one window.
  explicit WindowAttention(const Node& n, std::size_t block_bytes = 0);
  ~WindowAttention();
  WindowAttention(const WindowAttention&) = delete;
  WindowAttention& operator=(const WindowAttention&) = delete;
  // qkv [3C, H, W] (permuted: [C + C/2, H, W]) -> [C, H, W], H and W multiples of the window.
  Tensor run(const Tensor& qkv) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// LayerNorm over the channels of each pixel, rows of pixels across the threads.
Tensor layer_norm(const Tensor& x, const Node& n);

// DAT's channel attention: the statistics (channel_gram) and the attention applied to v
// (channel_attention), their per-head products as batched oneDNN matmuls over the pixels; per
// window or grid phase (OmniSR) each group's channels gathered contiguous, the groups across the
// threads.
Tensor channel_gram(const Tensor& qkv, const Node& n);
Tensor channel_attention(const Tensor& qkv, const Tensor& gram, const Node& n);

// RGT's token attention: every pixel's query against all tokens, in blocks of pixels (the scores
// bounded), the two products as batched oneDNN matmuls.
Tensor token_attention(const Tensor& q, const Tensor& kv, const Node& n);

}  // namespace hires::engine::cpu
