// What DAT (dat.cpp) and RGT (rgt.cpp) share: the spatial attention on rectangular windows
// (half the heads on split_h x split_w windows, half on the transposed ones, every fourth block
// shifted by half a window, q, k and v zero-padded to a multiple of the larger split), its
// dynamic position bias (a small MLP over the relative offsets, evaluated once at load), the
// window's size read from the offsets, and the spatial-gate feed-forward network.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "models/swin_common.hpp"

namespace hires::models {

// "layers.L.blocks.B": a block's prefix in DAT and RGT.
std::string rect_block_name(int layer, int block);

// The residual groups: blocks per group (counted from '...blocks.B.norm1.weight') and heads per
// group (twice the rows of the first block's position MLP's last layer); Error(input) naming
// the tensor when it is missing or its heads do not divide `embed` channels in halves.
struct RectGroups {
  std::vector<int> depths;
  std::vector<int> heads;
};
RectGroups detect_rect_groups(const WeightLookup& weights, int embed, const std::string& source,
                              const std::string& hint);

// The released code shifts the spatial windows of blocks 2, 6, 10, ... in even groups and of
// blocks 0, 4, 8, ... in odd ones, by half a window.
bool rect_window_shifted(int layer, int block);

// The spatial window: `h` rows x `w` columns (the other half of the heads: w x h).
struct RectSplit {
  int h = 8;
  int w = 32;
};

// The window of the attention `attn` ('layers.0.blocks.0.attn'): from the first offset of
// `attn`.attns.0.rpe_biases (the released code's offsets start at (1 - rows, 1 - columns)), or
// where only shapes are known (`hires models`), from its (2 rows - 1)(2 columns - 1) offsets and
// the rows x columns tokens of relative_position_index, taking the smaller side for the rows as
// the released models do. Error(input) naming the tensor when neither fits.
RectSplit detect_rect_split(const WeightLookup& weights, const std::string& attn,
                            const std::string& source, const std::string& hint);

struct RectBuilder : SwinBuilder {
  // The dynamic position bias of `prefix` ('...attns.0'): an MLP (pos_proj, then three of
  // LayerNorm, ReLU, Linear) maps each relative offset (dy, dx) of a `wh` x `ww` window, the rows
  // of `prefix`.rpe_biases, to one bias per head: the table window_attention indexes.
  std::vector<float> position_bias(const std::string& prefix, int wh, int ww, int heads);

  // `p`.qkv and the two window shapes' attentions on its halves: the attended [dim] (the two
  // halves side by side, cropped to x's size) and v (the projection's v part, [dim]).
  struct Attended {
    int attended = 0;
    int v = 0;
  };
  Attended rectangle_attention(const std::string& p, int x, int dim, int heads, RectSplit split,
                               bool shift);

  // The spatial-gate feed-forward network `p`: fc1 to `hidden`, GELU, first half times
  // dwconv(LayerNorm(second half)), fc2.
  int sgfn(const std::string& p, int x, int dim, int hidden);

  // The body after the first conv's LayerNorm `x`: residual groups of `depths` blocks made by
  // `block(layer, index, input)`, each closed by layers.L.conv and a residual, then norm,
  // conv_after_body and the residual to `first` (the first conv's output).
  int groups_body(int x, int first, int dim, const std::vector<int>& depths, bool three_conv,
                  const std::function<int(int, int, int)>& block);
};

}  // namespace hires::models
