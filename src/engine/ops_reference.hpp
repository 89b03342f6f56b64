// Plain-loop implementations of every op: the oracle the fast backends are tested against.
#pragma once

#include <vector>

#include "engine/graph.hpp"
#include "engine/tensor.hpp"

namespace hires::engine::ref {

Tensor conv2d(const Tensor& x, const Node& n);
// Transposed convolution: y[o, iy*s + ky - p, ix*s + kx - p] += x[i, iy, ix] * w[i, o, ky, kx].
Tensor deconv2d(const Tensor& x, const Node& n);
void relu(Tensor& x);
void leaky_relu(Tensor& x, float alpha);
void prelu(Tensor& x, const std::vector<float>& slopes);
void sigmoid(Tensor& x);
void silu(Tensor& x);  // x / (1 + exp(-x))
void gelu(Tensor& x);  // 0.5 x (1 + erf(x / sqrt 2))
void mish(Tensor& x);  // x tanh(log(1 + exp(x)))
void group_norm(Tensor& x, const Node& n);
void scale_shift(Tensor& x, float scale, float shift);
Tensor add(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);  // b may be [C,1,1]
Tensor concat(const std::vector<const Tensor*>& parts);
Tensor slice_channels(const Tensor& x, int begin, int count);
Tensor pixel_shuffle(const Tensor& x, int r);
Tensor pixel_unshuffle(const Tensor& x, int r);
Tensor upsample_nearest(const Tensor& x, int f);
Tensor upsample_bilinear(const Tensor& x, int f);               // align_corners = false, as PyTorch
Tensor resize_bilinear(const Tensor& x, int out_h, int out_w);  // the same, to any size
// DySample's bilinear sampling at per-pixel offsets (OpType::offset_sample).
Tensor offset_sample(const Tensor& x, const Tensor& offsets, const Node& n);
Tensor max_pool(const Tensor& x, const Node& n);  // kernel, stride, no padding
Tensor pad(const Tensor& x, const Node& n);
Tensor crop(const Tensor& x, const Node& n);
Tensor global_avg_pool(const Tensor& x);

// The transformer ops (ops_reference_transformer.cpp).
Tensor layer_norm(const Tensor& x, const Node& n);  // over the channels of each pixel
// Window attention (graph.hpp): in double, one window and head at a time.
Tensor window_attention(const Tensor& qkv, const Node& n);
// SRFormer's permuted self-attention (graph.hpp), in double.
Tensor permuted_attention(const Tensor& qkv, const Node& n);
// The row of SRFormer's bias table for query token a of a `window`-wide window and key k of the
// half-size window of 2x2 blocks: the relative position of a's block and k.
int permuted_bias_row(int a, int k, int window);
// RGT's recursive reduction and token attention (graph.hpp), in double; how many times the
// reduction runs on an h x w image.
int reduction_times(int h, int w, int kernel, int at_least);
Tensor recursive_reduction(const Tensor& x, const Node& n);
Tensor token_attention(const Tensor& q, const Tensor& kv, const Node& n);
// Overlapping cross-attention (graph.hpp), in double.
Tensor overlap_attention(const Tensor& qkv, const Node& n);
// The row of HAT's bias table for query (qy, qx) of a window and key (ky, kx) of the key window
// `keys` wide around it: the released code's index, negative ones counted from the end.
int overlap_bias_row(int qy, int qx, int ky, int kx, int window, int keys);
Tensor pad_to_multiple(const Tensor& x, const Node& n);
Tensor crop_like(const Tensor& x, const Tensor& like, int factor);
// The region of row (or column) r of a side of `length` pixels for the shifted-window mask:
// 0 for rows whose shifted windows lie inside the image, 1 and 2 for the two parts the cyclic
// shift brings together in the last window (Swin's three slices per dimension).
int shift_region(int r, int length, int window, int shift);
// DAT's channel self-attention (graph.hpp): the statistics over the image, the per-head
// attention matrices they give ([heads][d][d], row-stochastic), and the attention applied to v.
Tensor channel_gram(const Tensor& qkv, const Node& n);
std::vector<float> channel_attention_matrix(const Tensor& gram, const Node& n, int channels);
Tensor channel_attention(const Tensor& qkv, const Tensor& gram, const Node& n);
// OmniSR's grid layout (graph.hpp): grid_to_windows, or with `inverse` windows_to_grid.
Tensor grid_to_windows(const Tensor& x, const Node& n, bool inverse);

// Runs one node on its inputs (in node.inputs order).
Tensor run_node(const Node& n, const std::vector<const Tensor*>& inputs);

}  // namespace hires::engine::ref
