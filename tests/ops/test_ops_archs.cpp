// The ops the community architectures add (issue 14: SPAN, PLKSR, SwinIR): SiLU, GELU and Mish
// (oneDNN eltwise or fused into a convolution on the cpu backend), same-shape add/mul as oneDNN
// binary ops, depth-wise / grouped large-kernel convolutions up to 17x17, channel slices and
// GroupNorm; LayerNorm over channels, shifted window attention (blocks of windows, oneDNN
// matmuls), SRFormer's permuted attention, padding to a window multiple and the crop back; each
// against the reference loops.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <iostream>

#include <cmath>
#include <random>

#include "engine/attention_cpu.hpp"
#include "engine/backend.hpp"
#include "engine/ops_reference.hpp"
#include "hires/error.hpp"

namespace hires::engine {
namespace {

Tensor random_tensor(int c, int h, int w, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-2.0F, 2.0F);
  Tensor t(c, h, w);
  for (float& v : t.data) v = d(rng);
  return t;
}

Node conv_node(int in_c, int out_c, int k, int groups, unsigned seed) {
  // Weights ~ 1/sqrt(fan-in): outputs stay O(1) however large the kernel, so 1e-4 means fp32.
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0F,
                                    1.0F / std::sqrt(static_cast<float>(in_c / groups * k * k)));
  Node n;
  n.type = OpType::conv2d;
  n.name = fmt::format("conv{}x{}g{}", k, k, groups);
  n.in_channels = in_c;
  n.out_channels = out_c;
  n.kernel = k;
  n.padding = k / 2;
  n.groups = groups;
  n.weight.resize(static_cast<std::size_t>(out_c) * (in_c / groups) * k * k);
  for (float& v : n.weight) v = d(rng);
  n.bias.resize(static_cast<std::size_t>(out_c));
  for (float& v : n.bias) v = d(rng);
  return n;
}

Node op(OpType t) {
  Node n;
  n.type = t;
  n.name = op_name(t);
  n.shift = -0.5F;
  return n;
}

Graph chain(std::vector<Node> nodes, int in_c) {
  Graph g;
  g.name = "test";
  g.in_channels = in_c;
  int x = g.input;
  for (Node& n : nodes) {
    if (n.inputs.empty()) n.inputs = {x};
    n.output = x = g.add_value();
    g.nodes.push_back(std::move(n));
  }
  g.output = x;
  g.out_channels = g.nodes.empty() ? in_c : g.nodes.back().out_channels;
  validate(g);
  return g;
}

// Each backend of backend_order() against the reference, printing the case on a mismatch.
void compare_backends(const Graph& g, const Tensor& x, float tol, const std::string& what) {
  const Tensor want = make_reference_backend(g)->run(x);
  for (BackendKind kind : backend_order()) {
    if (kind == BackendKind::reference) continue;
    const Tensor got = make_backend(kind, g, {})->run(x);
    ASSERT_EQ(got.size(), want.size()) << what;
    double worst = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
      worst = std::max(worst, static_cast<double>(std::abs(got.data[i] - want.data[i])));
    }
    EXPECT_LT(worst, tol) << backend_name(kind) << " vs reference: " << what << " (" << x.c << "x"
                          << x.h << "x" << x.w << ")";
  }
}

TEST(OpsArchs, ReferenceSiluAndGeluKnownValues) {
  Tensor x(1, 1, 3);
  x.data = {-1.0F, 0.0F, 2.0F};
  Tensor s = x;
  ref::silu(s);
  EXPECT_NEAR(s.data[0], -0.2689414F, 1e-6);
  EXPECT_EQ(s.data[1], 0.0F);
  EXPECT_NEAR(s.data[2], 1.7615942F, 1e-6);
  Tensor g = x;
  ref::gelu(g);  // exact GELU: x * Phi(x)
  EXPECT_NEAR(g.data[0], -0.1586553F, 1e-6);
  EXPECT_EQ(g.data[1], 0.0F);
  EXPECT_NEAR(g.data[2], 1.9544997F, 1e-6);
  Tensor m = x;
  ref::mish(m);
  EXPECT_NEAR(m.data[0], -0.3034014F, 1e-6);
  EXPECT_EQ(m.data[1], 0.0F);
  EXPECT_NEAR(m.data[2], 1.9439589F, 1e-6);
}

TEST(OpsArchs, ElementwiseOpsAfterAConvolution) {
  // Each after a 3x3 (Winograd on cpu: nChw8c) and a 5x5 (oneDNN) conv, as the value's only
  // reader (fused where the backend can) and with a second reader (a standalone eltwise).
  for (OpType t :
       {OpType::silu, OpType::gelu, OpType::mish, OpType::sigmoid, OpType::scale_shift}) {
    for (int k : {3, 5, 1}) {
      for (int channels : {5, 16}) {
        Graph fused = chain({conv_node(3, channels, k, 1, 7), op(t)}, 3);
        compare_backends(fused, random_tensor(3, 11, 9, 3), 1e-4F,
                         fmt::format("conv{} + {} ({} ch)", k, op_name(t), channels));
        // conv -> t -> add(t, conv): the conv output is read twice, so t stands alone.
        Graph g = chain({conv_node(3, channels, k, 1, 8), op(t)}, 3);
        Node sum = op(OpType::add);
        sum.inputs = {g.nodes[0].output, g.nodes[1].output};
        sum.output = g.add_value();
        g.output = sum.output;
        g.nodes.push_back(std::move(sum));
        validate(g);
        compare_backends(g, random_tensor(3, 10, 13, 4), 1e-4F,
                         fmt::format("conv{} -> {} + conv ({} ch)", k, op_name(t), channels));
      }
    }
  }
}

TEST(OpsArchs, SameShapeMulAndAddOnMixedLayouts) {
  // a from a Winograd conv (nChw8c), b from a 1x1 oneDNN conv (its own layout): b is reordered.
  for (OpType t : {OpType::add, OpType::mul}) {
    Graph g = chain({conv_node(3, 12, 3, 1, 11)}, 3);
    Node b = conv_node(3, 12, 1, 1, 12);
    b.inputs = {g.input};
    b.output = g.add_value();
    const int bv = b.output;
    g.nodes.push_back(std::move(b));
    Node m = op(t);
    m.inputs = {g.nodes[0].output, bv};
    m.output = g.add_value();
    g.output = m.output;
    g.nodes.push_back(std::move(m));
    validate(g);
    compare_backends(g, random_tensor(3, 9, 14, 13), 1e-4F, op_name(t));
  }
}

TEST(OpsArchs, DepthwiseAndGroupedLargeKernels) {
  for (int k : {3, 5, 7, 13, 17}) {
    for (int groups : {1, 4, 16}) {
      const int channels = 16;
      Graph g = chain({conv_node(channels, channels, 1, 1, 20),
                       conv_node(channels, channels, k, groups, 21 + k)},
                      channels);
      compare_backends(g, random_tensor(channels, 19, 23, 22), 2e-4F,
                       fmt::format("conv {}x{} groups {}", k, k, groups));
    }
  }
}

TEST(OpsArchs, GroupNorm) {
  for (int groups : {1, 4, 12}) {
    Node norm = op(OpType::group_norm);
    norm.groups = groups;
    for (int c = 0; c < 12; ++c) {
      norm.weight.push_back(0.5F + 0.1F * c);
      norm.bias.push_back(0.05F * c - 0.2F);
    }
    Graph g = chain({conv_node(3, 12, 3, 1, 40), norm}, 3);
    compare_backends(g, random_tensor(3, 13, 17, 41), 1e-4F,
                     fmt::format("group_norm {} groups", groups));
  }
  // One group of [1, 3]: mean 2, variance 1 -> -1, 1 (eps aside), then * 2 + 1.
  Node n = op(OpType::group_norm);
  n.groups = 1;
  n.eps = 0.0F;
  n.weight = {2.0F};
  n.bias = {1.0F};
  Tensor t(1, 1, 2);
  t.data = {1.0F, 3.0F};
  ref::group_norm(t, n);
  EXPECT_EQ(t.data, (std::vector<float>{-1.0F, 3.0F}));
}

TEST(OpsArchs, PartialChannelConvolution) {
  // PLKSR's partial large-kernel conv: the first 4 of 12 channels through a 17x17 conv, the rest
  // passed on, joined again.
  Graph g = chain({conv_node(3, 12, 3, 1, 30)}, 3);
  const int x = g.nodes[0].output;
  Node head = op(OpType::slice_channels);
  head.begin = 0;
  head.count = 4;
  Node lk = conv_node(4, 4, 17, 1, 31);
  Node rest = op(OpType::slice_channels);
  rest.begin = 4;
  rest.count = 8;
  head.inputs = {x};
  head.output = g.add_value();
  lk.inputs = {head.output};
  lk.output = g.add_value();
  rest.inputs = {x};
  rest.output = g.add_value();
  Node cat = op(OpType::concat);
  cat.inputs = {lk.output, rest.output};
  cat.output = g.add_value();
  g.output = cat.output;
  for (Node* n : {&head, &lk, &rest, &cat}) g.nodes.push_back(*n);
  validate(g);
  compare_backends(g, random_tensor(3, 21, 18, 32), 2e-4F, "slice + conv17 + concat");
  // Known values, and a slice outside the input is refused.
  Tensor t(3, 1, 2);
  t.data = {1, 2, 3, 4, 5, 6};
  EXPECT_EQ(ref::slice_channels(t, 1, 2).data, (std::vector<float>{3, 4, 5, 6}));
  Node bad = op(OpType::slice_channels);
  bad.begin = 10;
  bad.count = 4;
  EXPECT_THROW(chain({conv_node(3, 12, 3, 1, 30), bad}, 3), Error);
}

// The cpu backend slices and concatenates convolution outputs in their own (blocked) layout:
// channel ranges on and off the 16-channel blocks, and inputs of mixed layouts, against the
// reference.
TEST(OpsArchs, SlicesAndConcatenationsOfBlockedOutputs) {
  for (const auto& [begin, count] :
       {std::pair{0, 16}, std::pair{16, 32}, std::pair{5, 7}, std::pair{40, 8}, std::pair{47, 1}}) {
    Node s = op(OpType::slice_channels);
    s.begin = begin;
    s.count = count;
    Graph g = chain({conv_node(3, 48, 3, 1, 110), s}, 3);
    compare_backends(g, random_tensor(3, 13, 17, 111), 1e-4F,
                     fmt::format("slice {} + {} of a conv's 48 channels", begin, count));
  }
  // concat(conv output, a slice of it, the input): blocked, plain and plain.
  Graph g = chain({conv_node(3, 32, 3, 1, 112)}, 3);
  const int conv_out = g.output;
  Node s = op(OpType::slice_channels);
  s.begin = 3;
  s.count = 5;
  s.inputs = {conv_out};
  s.output = g.add_value();
  g.nodes.push_back(s);
  Node cat = op(OpType::concat);
  cat.inputs = {conv_out, s.output, g.input};
  cat.output = g.add_value();
  g.nodes.push_back(cat);
  g.output = cat.output;
  g.out_channels = 32 + 5 + 3;
  validate(g);
  compare_backends(g, random_tensor(3, 9, 20, 113), 1e-4F, "concat of mixed layouts");
}

Node layer_norm_node(int channels) {
  Node n = op(OpType::layer_norm);
  for (int c = 0; c < channels; ++c) {
    n.weight.push_back(1.0F + 0.05F * static_cast<float>(c % 7));
    n.bias.push_back(0.02F * static_cast<float>(c % 5) - 0.04F);
  }
  return n;
}

// Window attention on `window` rows x `window_w` columns (square when 0), shifted by `shift`
// rows and `shift_x` columns (`shift` when -1).
Node attention_node(int heads, int window, int shift, unsigned seed, int window_w = 0,
                    int shift_x = -1) {
  Node n = op(OpType::window_attention);
  n.heads = heads;
  n.window = window;
  n.window_w = window_w;
  n.window_shift = shift;
  n.window_shift_x = shift_x;
  n.scale = 0.7F;
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0F, 0.5F);
  n.weight.resize(static_cast<std::size_t>((2 * window - 1) * (2 * window_width(n) - 1) * heads));
  for (float& v : n.weight) v = d(rng);
  return n;
}

TEST(OpsArchs, LayerNormOverChannels) {
  // One pixel of [1, 2, 3, 6]: mean 3, variance 3.5; eps 0 -> (x - 3) / sqrt(3.5).
  Node n = layer_norm_node(4);
  n.weight = {1, 1, 2, 1};
  n.bias = {0, 0, 0, 1};
  n.eps = 0.0F;
  Tensor t(4, 1, 1);
  t.data = {1, 2, 3, 6};
  const float inv = 1.0F / std::sqrt(3.5F);
  const std::vector<float> want = {-2 * inv, -inv, 0.0F, 3 * inv + 1};
  for (const Tensor& got : {ref::layer_norm(t, n), cpu::layer_norm(t, n)}) {
    for (int c = 0; c < 4; ++c) EXPECT_NEAR(got.data[c], want[c], 1e-6) << c;
  }
  for (int channels : {3, 16, 60}) {
    Graph g = chain({conv_node(3, channels, 3, 1, 50), layer_norm_node(channels)}, 3);
    compare_backends(g, random_tensor(3, 9, 21, 51), 1e-4F,
                     fmt::format("layer_norm over {} channels", channels));
  }
}

// Uniform attention (q = k = 0, no bias) averages v over the tokens a pixel may see: with the
// shift, Swin's windows are a grid offset by the shift and clipped at the image's edges (the
// wrapped-around parts of the last windows are masked apart).
TEST(OpsArchs, ShiftedWindowsAreAGridOffsetByTheShift) {
  Node n = attention_node(1, 2, 1, 60);
  std::fill(n.weight.begin(), n.weight.end(), 0.0F);
  Tensor qkv(3, 4, 4);  // one channel each of q, k, v; v(y, x) = 4y + x
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) qkv.at(2, y, x) = static_cast<float>(4 * y + x);
  // Rows (and columns) fall into {0}, {1, 2} and {3}.
  const auto mean_of = [](std::vector<int> ys, std::vector<int> xs) {
    float sum = 0;
    for (int y : ys)
      for (int x : xs) sum += static_cast<float>(4 * y + x);
    return sum / static_cast<float>(ys.size() * xs.size());
  };
  const std::vector<std::vector<int>> group = {{0}, {1, 2}, {1, 2}, {3}};
  cpu::WindowAttention fast(n, 1);  // one window per block
  for (const Tensor& got : {ref::window_attention(qkv, n), fast.run(qkv)}) {
    ASSERT_EQ(got.c, 1);
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 4; ++x)
        EXPECT_NEAR(got.at(0, y, x), mean_of(group[y], group[x]), 1e-5) << y << "," << x;
  }
  // Without the shift: plain 2x2 windows.
  n.window_shift = 0;
  const Tensor plain = ref::window_attention(qkv, n);
  EXPECT_NEAR(plain.at(0, 0, 0), mean_of({0, 1}, {0, 1}), 1e-5);
  EXPECT_NEAR(plain.at(0, 3, 2), mean_of({2, 3}, {2, 3}), 1e-5);
}

// DAT's rectangular windows: 2 rows x 4 columns shifted by 1 row and 2 columns are, for uniform
// attention, a grid of 2x4 cells offset by (1, 2) and clipped at the edges.
TEST(OpsArchs, RectangularShiftedWindowsAreAGridOffsetByTheShift) {
  Node n = attention_node(1, 2, 1, 65, 4, 2);
  std::fill(n.weight.begin(), n.weight.end(), 0.0F);
  Tensor qkv(3, 4, 8);  // v(y, x) = 8y + x
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 8; ++x) qkv.at(2, y, x) = static_cast<float>(8 * y + x);
  const std::vector<std::vector<int>> rows = {{0}, {1, 2}, {1, 2}, {3}};
  const std::vector<std::vector<int>> cols = {
      {0, 1}, {0, 1}, {2, 3, 4, 5}, {2, 3, 4, 5}, {2, 3, 4, 5}, {2, 3, 4, 5}, {6, 7}, {6, 7}};
  cpu::WindowAttention fast(n, 1);
  for (const Tensor& got : {ref::window_attention(qkv, n), fast.run(qkv)}) {
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 8; ++x) {
        float sum = 0;
        for (int yy : rows[y])
          for (int xx : cols[x]) sum += static_cast<float>(8 * yy + xx);
        EXPECT_NEAR(got.at(0, y, x), sum / static_cast<float>(rows[y].size() * cols[x].size()),
                    1e-5)
            << y << "," << x;
      }
  }
}

TEST(OpsArchs, WindowAttentionMatchesTheReference) {
  struct Case {
    int heads, head_dim, window, shift, h, w;
    int window_w = 0, shift_x = -1;
  };
  for (const Case& c :
       {Case{1, 4, 4, 0, 8, 12}, Case{2, 3, 4, 2, 12, 8}, Case{3, 5, 2, 1, 6, 10},
        Case{2, 8, 8, 4, 16, 24}, Case{1, 2, 4, 2, 4, 4}, Case{2, 3, 2, 1, 6, 8, 4, 2},
        Case{1, 4, 4, 0, 8, 6, 2, 0}, Case{2, 2, 8, 4, 16, 8, 2, 1}}) {
    const int channels = c.heads * c.head_dim;
    Node attn = attention_node(c.heads, c.window, c.shift, 61, c.window_w, c.shift_x);
    const Tensor qkv = random_tensor(3 * channels, c.h, c.w, 62);
    const Tensor want = ref::window_attention(qkv, attn);
    const int ww = window_width(attn);
    const std::string what =
        fmt::format("{} heads of {}, window {}x{}, shift {},{}, {}x{}", c.heads, c.head_dim,
                    c.window, ww, c.shift, window_shift_x(attn), c.w, c.h);
    // Whole image in one block, one window per block, and blocks of three (the last partial).
    const std::size_t tokens = static_cast<std::size_t>(c.window) * ww;
    const std::size_t window_bytes =
        sizeof(float) * (4 * static_cast<std::size_t>(channels) * tokens +
                         static_cast<std::size_t>(c.heads) * tokens * tokens);
    for (std::size_t block : {std::size_t{0}, std::size_t{1}, 3 * window_bytes}) {
      const Tensor got = cpu::WindowAttention(attn, block).run(qkv);
      ASSERT_EQ(got.size(), want.size());
      double worst = 0;
      for (std::size_t i = 0; i < got.size(); ++i) {
        worst = std::max(worst, static_cast<double>(std::abs(got.data[i] - want.data[i])));
      }
      EXPECT_LT(worst, 1e-5) << what << ", block bytes " << block;
    }
    // Through the backends, after a conv making q, k and v.
    Graph g = chain({conv_node(3, 3 * channels, 1, 1, 63), attn}, 3);
    compare_backends(g, random_tensor(3, c.h, c.w, 64), 1e-4F, what);
  }
}

TEST(OpsArchs, OverlapAttentionMatchesTheReference) {
  // HAT's OCA: the bias index of the released code reaches below zero and counts from the end.
  EXPECT_EQ(ref::overlap_bias_row(0, 0, 0, 0, 4, 6), -1 * 9 - 1 + 81);
  EXPECT_EQ(ref::overlap_bias_row(3, 3, 5, 5, 4, 6), 1 * 9 + 1);
  EXPECT_EQ(ref::overlap_bias_row(0, 0, 5, 5, 4, 6), 4 * 9 + 4);
  struct Case {
    int heads, head_dim, window, keys, h, w;
  };
  for (const Case& c : {Case{1, 4, 4, 6, 8, 12}, Case{2, 3, 4, 8, 12, 8}, Case{3, 2, 2, 4, 6, 4},
                        Case{2, 4, 8, 12, 16, 8}}) {
    const int channels = c.heads * c.head_dim;
    Node attn = op(OpType::overlap_attention);
    attn.heads = c.heads;
    attn.window = c.window;
    attn.overlap = c.keys;
    attn.scale = 0.6F;
    std::mt19937 rng(80);
    std::normal_distribution<float> d(0.0F, 0.5F);
    attn.weight.resize(
        static_cast<std::size_t>((c.window + c.keys - 1) * (c.window + c.keys - 1) * c.heads));
    for (float& v : attn.weight) v = d(rng);
    const Tensor qkv = random_tensor(3 * channels, c.h, c.w, 81);
    const Tensor want = ref::overlap_attention(qkv, attn);
    const std::string what = fmt::format("{} heads of {}, window {}, keys {}, {}x{}", c.heads,
                                         c.head_dim, c.window, c.keys, c.w, c.h);
    for (std::size_t block : {std::size_t{0}, std::size_t{1}}) {
      const Tensor got = cpu::WindowAttention(attn, block).run(qkv);
      double worst = 0;
      for (std::size_t i = 0; i < got.size(); ++i) {
        worst = std::max(worst, static_cast<double>(std::abs(got.data[i] - want.data[i])));
      }
      EXPECT_LT(worst, 1e-5) << what << ", block bytes " << block;
    }
    Graph g = chain({conv_node(3, 3 * channels, 1, 1, 82), attn}, 3);
    compare_backends(g, random_tensor(3, c.h, c.w, 83), 1e-4F, what);
  }
}

// SRFormer's permuted self-attention on a window of `window` pixels.
Node permuted_node(int heads, int window, int shift, unsigned seed) {
  Node n = op(OpType::permuted_attention);
  n.heads = heads;
  n.window = window;
  n.window_shift = shift;
  n.scale = 0.6F;
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0F, 0.5F);
  n.weight.resize(static_cast<std::size_t>((window - 1) * (window - 1) * heads));
  for (float& v : n.weight) v = d(rng);
  return n;
}

// Uniform attention (q = k = 0, no bias) averages the keys' values: key channel c of a 2x2 block
// is v at the block's pixel (c / 2, c % 2) when k and v have one channel each (C = 4).
TEST(OpsArchs, PermutedAttentionKeysAreTwoByTwoBlocks) {
  EXPECT_EQ(ref::permuted_bias_row(0, 0, 4), 1 * 3 + 1);
  EXPECT_EQ(ref::permuted_bias_row(15, 0, 4), 2 * 3 + 2);  // pixel (3, 3): block (1, 1)
  EXPECT_EQ(ref::permuted_bias_row(2, 3, 4), 0 * 3 + 1);   // pixel (0, 2): block (0, 1) vs (1, 1)
  Node n = permuted_node(1, 4, 0, 90);
  std::fill(n.weight.begin(), n.weight.end(), 0.0F);
  Tensor qkv(6, 4, 8);  // q: 4 channels, k: 1, v: 1; v(y, x) = 8y + x; two windows side by side
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 8; ++x) qkv.at(5, y, x) = static_cast<float>(8 * y + x);
  cpu::WindowAttention fast(n, 1);
  for (const Tensor& got : {ref::permuted_attention(qkv, n), fast.run(qkv)}) {
    ASSERT_EQ(got.c, 4);
    for (int c = 0; c < 4; ++c)
      for (int y = 0; y < 4; ++y)
        for (int x = 0; x < 8; ++x) {
          float sum = 0;
          for (int by = 0; by < 2; ++by)
            for (int bx = 0; bx < 2; ++bx) {
              sum += static_cast<float>(8 * (2 * by + c / 2) + x / 4 * 4 + 2 * bx + c % 2);
            }
          EXPECT_NEAR(got.at(c, y, x), sum / 4, 1e-5) << c << ": " << y << "," << x;
        }
  }
}

TEST(OpsArchs, PermutedAttentionMatchesTheReference) {
  struct Case {
    int heads, channels, window, shift, h, w;
  };
  for (const Case& c :
       {Case{1, 4, 4, 0, 4, 8}, Case{2, 8, 4, 2, 8, 8}, Case{3, 12, 8, 4, 16, 8},
        Case{2, 8, 6, 3, 12, 12}, Case{4, 16, 4, 2, 4, 4}, Case{1, 4, 4, 1, 8, 4}}) {
    Node attn = permuted_node(c.heads, c.window, c.shift, 91);
    const Tensor qkv = random_tensor(c.channels * 3 / 2, c.h, c.w, 92);
    const Tensor want = ref::permuted_attention(qkv, attn);
    const std::string what = fmt::format("{} heads, {} channels, window {}, shift {}, {}x{}",
                                         c.heads, c.channels, c.window, c.shift, c.w, c.h);
    ASSERT_EQ(want.c, c.channels) << what;
    const std::size_t tokens = static_cast<std::size_t>(c.window) * c.window;
    const std::size_t window_bytes =
        sizeof(float) * (3 * static_cast<std::size_t>(c.channels) * tokens +
                         static_cast<std::size_t>(c.heads) * tokens * tokens / 4);
    for (std::size_t block : {std::size_t{0}, std::size_t{1}, 3 * window_bytes}) {
      const Tensor got = cpu::WindowAttention(attn, block).run(qkv);
      ASSERT_EQ(got.size(), want.size());
      double worst = 0;
      for (std::size_t i = 0; i < got.size(); ++i) {
        worst = std::max(worst, static_cast<double>(std::abs(got.data[i] - want.data[i])));
      }
      EXPECT_LT(worst, 1e-5) << what << ", block bytes " << block;
    }
    Graph g = chain({conv_node(3, c.channels * 3 / 2, 1, 1, 93), attn}, 3);
    compare_backends(g, random_tensor(3, c.h, c.w, 94), 1e-4F, what);
  }
  // The graph refuses what the op cannot run: an odd window, a shift of a whole window.
  for (const auto& [window, shift] : {std::pair{5, 0}, std::pair{4, 4}}) {
    Node bad = permuted_node(1, window, shift, 95);
    EXPECT_THROW(chain({conv_node(3, 6, 1, 1, 96), bad}, 3), Error) << window << "," << shift;
  }
}

// RGT's reduction count: max(2, floor(log4(side / 16))) as the released code at inference.
TEST(OpsArchs, RecursiveReductionTimesAndValues) {
  EXPECT_EQ(ref::reduction_times(16, 16, 4, 2), 2);
  EXPECT_EQ(ref::reduction_times(1023, 40, 4, 2), 2);
  EXPECT_EQ(ref::reduction_times(1024, 40, 4, 2), 3);  // 1024 / 16 = 64 = 4^3
  EXPECT_EQ(ref::reduction_times(30, 4096, 4, 2), 4);
  EXPECT_EQ(ref::reduction_times(3, 3, 4, 2), 2);  // too small: the minimum (the op then refuses)
  // Twice by 4 with weights 1/16 and bias 0: the mean of each 16x16 block; the remainder dropped.
  Node n = op(OpType::recursive_reduction);
  n.kernel = 4;
  n.count = 2;
  n.weight.assign(2 * 16, 1.0F / 16);
  n.bias = {0.0F, 1.0F};
  Tensor x(2, 17, 35);
  for (int y = 0; y < 17; ++y)
    for (int xx = 0; xx < 35; ++xx) {
      x.at(0, y, xx) = static_cast<float>(xx / 16);  // block column index
      x.at(1, y, xx) = 2.0F;
    }
  const Tensor r = ref::recursive_reduction(x, n);
  ASSERT_EQ(r.h, 1);
  ASSERT_EQ(r.w, 2);
  EXPECT_NEAR(r.at(0, 0, 0), 0.0F, 1e-6);
  EXPECT_NEAR(r.at(0, 0, 1), 1.0F, 1e-6);
  EXPECT_NEAR(r.at(1, 0, 1), 2.0F + 1.0F + 1.0F, 1e-5);  // bias once per reduction
  EXPECT_THROW(ref::recursive_reduction(Tensor(2, 15, 40), n), Error);
  // Three times on a 1024-pixel side, through the backends after a conv.
  Node big = op(OpType::recursive_reduction);
  big.kernel = 4;
  big.count = 2;
  big.weight.resize(3 * 16);
  for (std::size_t i = 0; i < big.weight.size(); ++i) big.weight[i] = 0.05F * (i % 5);
  big.bias = {0.1F, -0.2F, 0.0F};
  Graph g = chain({conv_node(3, 3, 1, 1, 97), big}, 3);
  const Tensor want = make_reference_backend(g)->run(random_tensor(3, 1030, 70, 98));
  EXPECT_EQ(want.h, 1030 / 64);
  EXPECT_EQ(want.w, 70 / 64);
  compare_backends(g, random_tensor(3, 1030, 70, 98), 1e-4F, "reduction 3 times");
}

// Every pixel's query against all tokens: uniform queries (q = 0) average the values; and the
// cpu path (blocks of pixels, oneDNN matmuls) against the reference.
TEST(OpsArchs, TokenAttentionAgainstAllTokens) {
  Node n = op(OpType::token_attention);
  n.heads = 2;
  n.scale = 0.8F;
  Tensor q(4, 3, 5);  // zero queries: uniform attention
  Tensor kv(4 + 2, 2, 3);
  for (std::size_t t = 0; t < kv.plane(); ++t) {
    kv.channel(4)[t] = static_cast<float>(t);       // head 0's value
    kv.channel(5)[t] = static_cast<float>(10 * t);  // head 1's
  }
  for (const Tensor& got : {ref::token_attention(q, kv, n), cpu::token_attention(q, kv, n)}) {
    ASSERT_EQ(got.c, 2);
    for (std::size_t p = 0; p < got.plane(); ++p) {
      EXPECT_NEAR(got.channel(0)[p], 2.5F, 1e-5);
      EXPECT_NEAR(got.channel(1)[p], 25.0F, 1e-4);
    }
  }
  struct Case {
    int heads, cq, cv, h, w, th, tw;
  };
  for (const Case& c :
       {Case{1, 4, 4, 5, 7, 1, 1}, Case{2, 8, 12, 9, 6, 2, 3}, Case{3, 6, 9, 40, 33, 4, 5}}) {
    Node a = op(OpType::token_attention);
    a.heads = c.heads;
    a.scale = 0.5F;
    const Tensor qq = random_tensor(c.cq, c.h, c.w, 99);
    const Tensor tokens = random_tensor(c.cq + c.cv, c.th, c.tw, 100);
    const Tensor want = ref::token_attention(qq, tokens, a);
    const Tensor got = cpu::token_attention(qq, tokens, a);
    ASSERT_EQ(got.size(), want.size());
    double worst = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
      worst = std::max(worst, static_cast<double>(std::abs(got.data[i] - want.data[i])));
    }
    EXPECT_LT(worst, 1e-5) << c.heads << " heads, " << c.cq << "+" << c.cv << " channels";
  }
}

// DAT's channel attention, statistics and mixing: a graph qkv -> channel_gram -> attention.
Graph channel_attention_graph(int heads, int head_dim, unsigned seed) {
  const int channels = heads * head_dim;
  Graph g = chain({conv_node(3, 3 * channels, 1, 1, seed)}, 3);
  const int qkv = g.nodes.back().output;
  Node gram = op(OpType::channel_gram);
  gram.heads = heads;
  gram.inputs = {qkv};
  gram.output = g.add_value();
  g.nodes.push_back(gram);
  Node attn = op(OpType::channel_attention);
  attn.heads = heads;
  for (int h = 0; h < heads; ++h) attn.weight.push_back(1.0F + 0.7F * static_cast<float>(h));
  attn.inputs = {qkv, gram.output};
  attn.output = g.add_value();
  g.nodes.push_back(attn);
  g.output = attn.output;
  validate(g);
  return g;
}

TEST(OpsArchs, ChannelAttentionOverTheWholeImage) {
  // One head of two channels. q = (1, 0 | 0, 1) over two pixels, k = q: normalised, q.k^T is
  // the identity, so A = softmax(t * I) by rows: a = e^t / (e^t + 1) on the diagonal.
  Node n = op(OpType::channel_attention);
  n.heads = 1;
  n.weight = {2.0F};
  Tensor qkv(6, 1, 2);
  qkv.data = {3, 0, 0, 5, 7, 0, 0, 2, 10, 20, 30, 40};  // q, k scaled: normalisation removes it
  Node g = op(OpType::channel_gram);
  g.heads = 1;
  const Tensor gram = ref::channel_gram(qkv, g);
  ASSERT_EQ(gram.size(), 4U + 4U);
  EXPECT_NEAR(gram.data[0], 3.0 * 7 / 2, 1e-6);  // mean of q0 k0
  EXPECT_NEAR(gram.data[4], 9.0 / 2, 1e-6);      // mean of q0^2
  const double a = std::exp(2.0) / (std::exp(2.0) + 1.0);
  for (const Tensor& got : {ref::channel_attention(qkv, gram, n),
                            cpu::channel_attention(qkv, cpu::channel_gram(qkv, g), n)}) {
    EXPECT_NEAR(got.at(0, 0, 0), a * 10 + (1 - a) * 30, 1e-4);
    EXPECT_NEAR(got.at(1, 0, 1), (1 - a) * 20 + a * 40, 1e-4);
  }
  for (const auto& [heads, head_dim] : {std::pair{1, 4}, std::pair{3, 5}, std::pair{6, 2}}) {
    const Graph graph = channel_attention_graph(heads, head_dim, 90);
    compare_backends(graph, random_tensor(3, 11, 17, 91), 1e-4F,
                     fmt::format("channel attention, {} heads of {}", heads, head_dim));
  }
}

// OmniSR's ops: the grid layout and back, max pooling, bilinear resize to another's size, and
// channel attention per window and per grid phase.
TEST(OpsArchs, OmnisrGridPoolResizeAndGroupedChannelAttention) {
  Node to = op(OpType::grid_to_windows);
  to.factor = 2;
  Tensor t(1, 4, 6);
  for (std::size_t i = 0; i < t.size(); ++i) t.data[i] = static_cast<float>(i);
  const Tensor w = ref::grid_to_windows(t, to, false);
  // Window (0, 0) holds the pixels rows 2 and columns 3 apart: (0,0), (0,3), (2,0), (2,3).
  EXPECT_EQ(w.at(0, 0, 0), t.at(0, 0, 0));
  EXPECT_EQ(w.at(0, 0, 1), t.at(0, 0, 3));
  EXPECT_EQ(w.at(0, 1, 0), t.at(0, 2, 0));
  EXPECT_EQ(w.at(0, 1, 1), t.at(0, 2, 3));
  EXPECT_EQ(w.at(0, 2, 4), t.at(0, 1, 2));  // window (1, 2), token (0, 0)
  EXPECT_EQ(ref::grid_to_windows(w, to, true).data, t.data);
  Node pool = op(OpType::max_pool);
  pool.kernel = 3;
  pool.stride = 2;
  const Tensor p = ref::max_pool(t, pool);  // 4x6 -> 1x2: the 3x3 windows at columns 0 and 2
  ASSERT_EQ(p.h, 1);
  ASSERT_EQ(p.w, 2);
  EXPECT_EQ(p.data, (std::vector<float>{14, 16}));
  // Bilinear to another size: to an integer multiple it is the upsample op.
  const Tensor up = ref::resize_bilinear(t, 8, 12);
  EXPECT_EQ(up.data, ref::upsample_bilinear(t, 2).data);
  const Tensor down = ref::resize_bilinear(t, 2, 3);  // centres of 2x2 blocks: their means
  EXPECT_NEAR(down.at(0, 1, 2), (t.at(0, 2, 4) + t.at(0, 2, 5) + t.at(0, 3, 4) + t.at(0, 3, 5)) / 4,
              1e-5);
  // Grouped channel attention: the cpu path (each group gathered contiguous, groups across the
  // threads) against the reference, statistics and mixing, on windows and grid phases.
  for (const bool grid : {false, true}) {
    Node gram = op(OpType::channel_gram);
    gram.heads = 4;
    gram.window = 8;
    gram.grid = grid;
    const Tensor qkv = random_tensor(3 * 16, 16, 24, 95);
    const Tensor want = ref::channel_gram(qkv, gram);
    const Tensor got = cpu::channel_gram(qkv, gram);
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got.data[i], want.data[i], 1e-5) << i;
    Node mix = gram;
    mix.type = OpType::channel_attention;
    mix.weight = {1.0F, 2.0F, 0.5F, 3.0F};
    const Tensor a = ref::channel_attention(qkv, want, mix);
    const Tensor b = cpu::channel_attention(qkv, want, mix);
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a.data[i], b.data[i], 1e-5) << i;
  }
  // Through the backends and against the whole-image form on a single window.
  for (const bool grid : {false, true}) {
    Graph g = channel_attention_graph(2, 3, 92);
    for (Node& n : g.nodes) {
      n.window = n.type == OpType::conv2d ? 0 : 4;
      n.grid = grid;
    }
    validate(g);
    compare_backends(g, random_tensor(3, 8, 12, 93), 1e-4F,
                     grid ? "channel attention per grid phase" : "channel attention per window");
    const Tensor one = random_tensor(3, 4, 4, 94);
    const Graph whole = channel_attention_graph(2, 3, 92);
    const Tensor a = make_reference_backend(g)->run(one);
    const Tensor b = make_reference_backend(whole)->run(one);
    if (!grid) {
      EXPECT_EQ(a.data, b.data) << "one window is the whole image";
    }
  }
}

TEST(OpsArchs, PadToAWindowMultipleAndCropBack) {
  Node pad = op(OpType::pad_to_multiple);
  pad.factor = 4;
  pad.pad_mode = PadMode::reflect;
  Tensor t(1, 2, 3);
  t.data = {1, 2, 3, 4, 5, 6};
  // Reflected (without repeating the edge) to 4x4, as PyTorch's F.pad(mode="reflect").
  const Tensor padded = ref::pad_to_multiple(t, pad);
  EXPECT_EQ(padded.data, (std::vector<float>{1, 2, 3, 2, 4, 5, 6, 5, 1, 2, 3, 2, 4, 5, 6, 5}));
  EXPECT_EQ(ref::pad_to_multiple(padded, pad).data, padded.data);  // already a multiple
  // With margins (Real-CUGAN's pre-padding): one reflect pad of the original image, 1 row and
  // column before, 1 plus those to the multiple after: rows r1 r0 r1 r0 r1 r0, columns
  // c1 c0 c1 c2 c1 c0.
  Node framed = pad;
  framed.top = framed.bottom = framed.left = framed.right = 1;
  const Tensor f = ref::pad_to_multiple(t, framed);
  ASSERT_EQ(f.h, 6);
  ASSERT_EQ(f.w, 6);
  const std::vector<float> r1{5, 4, 5, 6, 5, 4};
  const std::vector<float> r0{2, 1, 2, 3, 2, 1};
  std::vector<float> want;
  for (int row = 0; row < 6; ++row)
    want.insert(want.end(), (row % 2 == 0 ? r1 : r0).begin(), (row % 2 == 0 ? r1 : r0).end());
  EXPECT_EQ(f.data, want);
  Graph m = chain({framed, conv_node(3, 3, 3, 1, 72)}, 3);
  compare_backends(m, random_tensor(3, 7, 9, 73), 1e-4F, "pad_to_multiple with margins");
  Tensor big(2, 9, 9);
  for (std::size_t i = 0; i < big.size(); ++i) big.data[i] = static_cast<float>(i);
  const Tensor cropped = ref::crop_like(big, t, 2);  // 2x3 at x2: 4x6
  ASSERT_EQ(cropped.h, 4);
  ASSERT_EQ(cropped.w, 6);
  EXPECT_EQ(cropped.at(1, 3, 5), big.at(1, 3, 5));
  EXPECT_THROW(ref::crop_like(t, big, 1), Error);
  // A graph framing a conv: pad, conv, crop to the input's size (x1).
  Graph g = chain({pad, conv_node(3, 3, 3, 1, 70)}, 3);
  Node crop = op(OpType::crop_like);
  crop.factor = 1;
  crop.inputs = {g.nodes.back().output, g.input};
  crop.output = g.add_value();
  g.output = crop.output;
  g.nodes.push_back(crop);
  validate(g);
  compare_backends(g, random_tensor(3, 13, 10, 71), 1e-4F, "pad_to_multiple + conv + crop_like");
  EXPECT_EQ(make_reference_backend(g)->run(random_tensor(3, 13, 10, 71)).h, 13);
}

// DySample's sampling: at the sub-pixels' centres it is bilinear upsampling (align_corners =
// false, edges clamped); at learned offsets, through the backends (offsets of up to 3 pixels:
// positions outside the image clamp to its border).
TEST(OpsArchs, OffsetSampleIsBilinearAtTheCentres) {
  const Tensor x = random_tensor(4, 5, 7, 110);
  for (const int f : {2, 3}) {
    Node n = op(OpType::offset_sample);
    n.factor = f;
    n.groups = 2;
    Tensor centres(2 * n.groups * f * f, x.h, x.w);
    for (int g = 0; g < n.groups; ++g)
      for (int k = 0; k < f * f; ++k)
        for (std::size_t p = 0; p < x.plane(); ++p) {
          centres.channel(g * f * f + k)[p] = (static_cast<float>(k % f) - (f - 1) / 2.0F) / f;
          centres.channel((n.groups + g) * f * f + k)[p] =
              (static_cast<float>(k / f) - (f - 1) / 2.0F) / f;
        }
    const Tensor got = ref::offset_sample(x, centres, n);
    const Tensor want = ref::upsample_bilinear(x, f);
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      ASSERT_NEAR(got.data[i], want.data[i], 1e-5) << "factor " << f << " at " << i;
    }
  }
  for (const auto& [f, groups] : {std::pair{2, 4}, std::pair{3, 3}, std::pair{4, 1}}) {
    Graph g = chain({conv_node(3, 12, 3, 1, 111)}, 3);
    const int feats = g.output;
    Node offsets = conv_node(12, 2 * groups * f * f, 1, 1, 112);
    for (float& v : offsets.weight) v *= 3.0F;
    offsets.inputs = {feats};
    offsets.output = g.add_value();
    g.nodes.push_back(offsets);
    Node n = op(OpType::offset_sample);
    n.factor = f;
    n.groups = groups;
    n.inputs = {feats, offsets.output};
    n.output = g.add_value();
    g.nodes.push_back(n);
    g.output = n.output;
    g.out_channels = 12;
    validate(g);
    compare_backends(g, random_tensor(3, 9, 11, 113), 1e-4F,
                     fmt::format("offset sample x{}, {} groups", f, groups));
  }
}

}  // namespace
}  // namespace hires::engine
