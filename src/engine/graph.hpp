// The small graph of ops that super-resolution nets are made of. Values are numbered; each node
// reads values and writes exactly one. Weights live in the nodes (fp32, PyTorch layouts).
#pragma once

#include <string>
#include <vector>

#include "engine/tensor.hpp"

namespace hires::engine {

enum class OpType {
  conv2d,             // k x k, stride 1 or 2, groups, optional bias; weight [out, in/groups, k, k]
  deconv2d,           // transposed conv (PyTorch ConvTranspose2d): k x k, stride, padding, bias;
                      // weight [in, out, k, k]; output (H-1)*stride - 2*padding + k
  relu,               //
  leaky_relu,         // alpha
  prelu,              // per-channel slopes (one slope = shared)
  sigmoid,            //
  add,                // two inputs, same shape
  mul,                // two inputs, same shape; or [C,1,1] second input = per-channel scale
  concat,             // along channels, any number of inputs
  pixel_shuffle,      // factor r: [C*r*r, H, W] -> [C, H*r, W*r]
  pixel_unshuffle,    // factor r: [C, H*r, W*r] -> [C*r*r, H, W]
  upsample_nearest,   // factor (integer)
  upsample_bilinear,  // factor (integer), align_corners = false
  pad,                // pad_* pixels, mode: zero or replicate or reflect
  crop,               // crop_* pixels removed from each side
  global_avg_pool,    // [C, H, W] -> [C, 1, 1]
  scale_shift,        // y = x * scale + shift (scalars): input normalisation
  silu,               // x * sigmoid(x) (SiLU / swish)
  gelu,               // x * Phi(x), the exact (erf) GELU of PyTorch's nn.GELU()
  slice_channels,     // channels [begin, begin + count) of the input (PLKSR's partial conv)
  mish,               // x * tanh(softplus(x))
  group_norm,         // PyTorch GroupNorm: `groups` groups, per-channel weight and bias, eps;
                      // statistics over the whole image (global context, like global_avg_pool)
  layer_norm,         // PyTorch LayerNorm over the channels of each pixel (a transformer's tokens):
                      // per-channel weight and bias, eps
  window_attention,   // Swin's (shifted) window multi-head self-attention core: input the qkv
                      // projection [3C, H, W] (q, k, v, each `heads` x C/heads channels), output
                      // [C, H, W] = softmax(q k^T * scale + relative position bias + shift mask) v
                      // per window of `window` x `window` pixels (or `window` rows x
  // `window_w` columns), windows cyclically shifted by `window_shift` (rows and, unless
  // `window_shift_x` says otherwise, columns); weight = the relative position bias table
  // [(2h-1)(2w-1), heads]; H and W multiples of the window's sides
  overlap_attention,    // HAT's overlapping cross-attention core: input qkv [3C, H, W], output
                        // [C, H, W]; queries in windows of `window`, keys and values in the
                        // `overlap` x `overlap` pixels centred on each (zero outside the image);
                        // weight = the bias table [(window + overlap - 1)^2, heads], indexed as the
                        // released code does (negative indices count from the end)
  permuted_attention,   // SRFormer's permuted self-attention core: input [C + C/2, H, W], the q
                        // projection (C channels) then the kv projection (C/4 for k, C/4 for v);
                        // output [C, H, W]. Per (shifted) window of `window` (even) pixels, the
                        // keys and values are its (window/2)^2 2x2 blocks, each block's four
                        // pixels' C/4 channels side by side (C channels, pixel-major); every
                        // pixel's query attends to them with the bias of its block's relative
                        // position (table [(window - 1)^2, heads]) and Swin's shift mask (keys'
                        // regions on the half-size grid, shifted by half the shift rounded up)
  recursive_reduction,  // RGT's recursive generalization: a depth-wise `kernel` x `kernel` conv
                        // with stride `kernel` (weight [C, 1, k, k], bias [C], no padding, the
                        // remainder dropped) applied t times, t = max(`count`, floor(log_k(H /
                        // k^2)), floor(log_k(W / k^2))) (the released rule at inference; the
                        // divisions floor): the output depends on the image's whole extent
  token_attention,      // two inputs, q [Cq, H, W] and kv [Cq + C, h, w] (k: Cq channels, v: C):
                        // every pixel attends to all h x w tokens, per head (q and k Cq/heads
                        // channels, v C/heads) softmax(q k^T * scale) v: output [C, H, W]; global
  pad_to_multiple,      // pads bottom and right to multiples of `factor` (pad_mode), as SwinIR's
                        // check_image_size, and to at least `count` pixels a side (0: no minimum);
                        // plus `top`, `bottom`, `left`, `right` pixels more (Real-CUGAN's
                        // pre-padding), all in one pad of the original image
  crop_like,            // two inputs (x, ref): the top-left ref.h * factor x ref.w * factor of x
  channel_gram,  // channel self-attention statistics (DAT, OmniSR): input qkv [3C, H, W] (q, k,
                 // v, each `heads` x C/heads channels); per group of pixels and head, the
                 // means of q_i k_j (d x d), then the means of q_i^2 and of k_i^2: output
                 // [heads*d*d + 2C, gh, gw]. Groups: the whole image (`window` 0, 1 x 1; a
                 // global statistic, shared between tiles like global_avg_pool), each
                 // `window` x `window` block (H/window x W/window), or with `grid` the
                 // pixels `window` apart (window x window groups; global, like the whole)
  channel_attention,  // two inputs (qkv, its channel_gram): per group and head, A = softmax over j
                      // of temperature * gram_ij / (|q_i| |k_j|) (q and k L2-normalised over the
                      // group), output [C, H, W] with channel i = sum_j A_ij v_j;
                      // weight = the temperatures [heads]; `window` and `grid` as channel_gram's
  grid_to_windows,    // OmniSR's grid attention layout: [C, H, W] -> [C, H, W], the pixels
                      // `factor` apart (rows i * H/factor + y) gathered into factor x factor
                      // windows: out(y * factor + i, x * factor + j) = in(i * H/f + y, j * W/f + x)
  windows_to_grid,    // its inverse
  max_pool,           // `kernel` x `kernel` maximum, `stride`, no padding (floor)
  resize_bilinear_like,  // two inputs (x, ref): x resized to ref's height and width, bilinear
                         // with PyTorch's align_corners = false
  offset_sample,         // DySample's sampling (Liu et al., ICCV 2023): two inputs, x [C, H, W] and
                  // offsets [2 * groups * f^2, H, W] (f = `factor`); output [C, H*f, W*f] whose
                  // pixel (y*f + i, x*f + j) in channel group g (`groups` of C/groups channels)
                  // is x bilinearly sampled at (x + dx, y + dy) input pixels, the position
                  // clamped to the image (grid_sample, align_corners = false, border), with dx the
                  // offsets' channel g*f^2 + i*f + j at (y, x) and dy the one groups*f^2 after it
};

// Global statistics (small outputs over the whole image), which tiles of one image can share (see
// engine::estimate_global_means): global_avg_pool, and channel_gram over the whole image or the
// grid (its per-window form is local).
struct Node;
bool is_global_statistic(const Node& n);

const char* op_name(OpType t);

enum class PadMode { zero, replicate, reflect };

struct Node {
  OpType type = OpType::relu;
  std::string name;         // for messages, e.g. the ncnn layer name or PyTorch module path
  std::vector<int> inputs;  // value ids
  int output = -1;          // value id

  // conv2d, deconv2d
  int in_channels = 0;
  int out_channels = 0;
  int kernel = 1;
  int stride = 1;
  int padding = 0;  // symmetric zero padding
  int groups = 1;
  std::vector<float> weight;  // conv2d [out, in/groups, k, k]; deconv2d [in, out, k, k]
  std::vector<float> bias;    // [out] or empty

  // activations and elementwise
  float alpha = 0.0F;         // leaky_relu slope
  std::vector<float> slopes;  // prelu
  float scale = 1.0F;         // scale_shift
  float shift = 0.0F;         // scale_shift

  // resampling / layout
  int factor = 1;

  // slice_channels
  int begin = 0;
  int count = 0;
  // group_norm (also uses groups, weight [C], bias [C]), layer_norm (weight [C], bias [C])
  float eps = 1e-5F;

  // window_attention (also uses weight = position bias table, scale = the q scale)
  int heads = 1;
  int window = 0;
  int window_shift = 0;
  int overlap = 0;          // overlap_attention: the key window's side
  int window_w = 0;         // window_attention: the window's width when not square (0: window)
  int window_shift_x = -1;  // window_attention: the column shift when it differs (-1: window_shift)
  bool grid = false;        // channel_gram / channel_attention: groups of pixels `window` apart

  // pad / crop
  int top = 0, bottom = 0, left = 0, right = 0;
  PadMode pad_mode = PadMode::zero;
};

inline bool is_global_statistic(const Node& n) {
  return n.type == OpType::global_avg_pool ||
         (n.type == OpType::channel_gram && (n.window == 0 || n.grid));
}

// window_attention's window width and column shift (square windows leave them unset).
inline int window_width(const Node& n) {
  return n.window_w > 0 ? n.window_w : n.window;
}
inline int window_shift_x(const Node& n) {
  return n.window_shift_x >= 0 ? n.window_shift_x : n.window_shift;
}

struct Graph {
  std::string name;
  int num_values = 1;  // value 0 is the input image [C, H, W], values in [0, 1]
  int input = 0;
  int output = 0;
  int in_channels = 3;
  int out_channels = 3;
  int scale = 1;             // output size = input size * scale
  int receptive_radius = 0;  // input pixels of context each output pixel depends on, per side
  int size_multiple = 1;     // input sides must be a multiple of this (e.g. pixel_unshuffle)
  // Tiles, bands and their context start at multiples of this (window attention: the windows of
  // a tile must be the whole image's); inputs may be of any size (the graph pads itself).
  int tile_align = 1;
  std::vector<Node> nodes;  // topological order

  int add_value() { return num_values++; }
};

// Checks shapes and wiring; throws hires::Error(internal) naming the node on a mistake.
void validate(const Graph& g);

// Estimates `receptive_radius` from the ops (sum of conv/deconv reach on the input grid). Global
// average pooling adds nothing here (see has_global_context).
int estimate_receptive_radius(const Graph& g);

// True when the graph has global average pooling (e.g. squeeze-and-excitation blocks) or
// GroupNorm (RealPLKSR, statistics over the whole image): every
// output pixel then depends on the whole input, which tiles only approximate (a tile's SE means
// are over the tile and its context), so such graphs want the largest tiles possible.
bool has_global_context(const Graph& g);

}  // namespace hires::engine
