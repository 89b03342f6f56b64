// Every op of the engine, at several shapes, on the vulkan backend against the reference loops
// (the oracle); every parameter is printed on a failure. fp32 storage and arithmetic: outputs
// within 1e-4 of the reference (sums of up to 64 x 9 products, summed in another order).
// Runs on any Vulkan device, lavapipe included; skips visibly without one.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <set>

#include "engine/backend.hpp"
#include "engine/tiler.hpp"
#include "engine/vulkan/half.hpp"
#include "hires/devices.hpp"
#include "hires/error.hpp"
#include "models/srvgg.hpp"
#include "ops/op_graphs.hpp"
#include "support/vulkan_skip.hpp"

namespace hires::engine {
namespace {

using test::chain;
using test::conv_node;
using test::deconv_node;
using test::random_tensor;
using test::random_vector;

constexpr float kTolerance = 1e-4F;

Node op(OpType t, int factor = 1) {
  Node n;
  n.type = t;
  n.name = op_name(t);
  n.factor = factor;
  n.alpha = 0.1F;
  n.scale = 2.0F;
  n.shift = -0.5F;
  n.top = 1;
  n.bottom = 2;
  n.left = 3;
  n.right = 1;
  return n;
}

void expect_close(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.c, want.c) << what;
  ASSERT_EQ(got.h, want.h) << what;
  ASSERT_EQ(got.w, want.w) << what;
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_NEAR(got.data[i], want.data[i], kTolerance) << what << " at flat index " << i;
  }
}

// fp16 storage (BackendOptions::storage): each value the shaders store, the input included, keeps
// 11 significant bits (a relative error of at most 2^-11 = 4.9e-4); an op's output carries its
// own rounding and its inputs' through its gain. Allowed: 4e-3 of the output's largest magnitude
// (at least 1), eight roundings' worth; the arithmetic is fp32.
constexpr double kFp16Tolerance = 4e-3;

double fp16_error(const Tensor& got, const Tensor& want) {
  double scale = 1.0;
  double worst = 0.0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    scale = std::max(scale, static_cast<double>(std::abs(want.data[i])));
    worst = std::max(worst, static_cast<double>(std::abs(got.data[i] - want.data[i])));
  }
  return worst / scale;
}

bool has_fp16() {
  const GpuList gpus = list_gpus();
  return !gpus.devices.empty() && gpus.devices.at(0).fp16_storage;
}

// The vulkan backend against the reference: fp32 values within kTolerance, and fp16 values
// (where the device has 16-bit storage) within kFp16Tolerance of the output's scale.
void compare(const Graph& g, const Tensor& x, const std::string& what) {
  const Tensor want = make_reference_backend(g)->run(x);
  BackendOptions o;
  o.storage = ValueStorage::fp32;
  const Tensor got = make_backend(BackendKind::vulkan, g, o)->run(x);
  expect_close(got, want, "vulkan vs reference: " + what);
  if (!has_fp16()) return;
  o.storage = ValueStorage::fp16;
  const Tensor half = make_backend(BackendKind::vulkan, g, o)->run(x);
  ASSERT_EQ(half.size(), want.size()) << what;
  const double err = fp16_error(half, want);
  EXPECT_LT(err, kFp16Tolerance) << "vulkan fp16 vs reference: " << what;
}

// The host's fp16 conversions (a tile's input, output and statistics): every half survives the
// trip through float; floats round to nearest, ties to even, subnormals kept, overflow to inf.
TEST(OpsVulkan, HalfConversionsRoundToNearestEven) {
  for (std::uint32_t h = 0; h < 0x10000U; ++h) {
    const auto half = static_cast<std::uint16_t>(h);
    const bool nan = (h & 0x7c00U) == 0x7c00U && (h & 0x3ffU) != 0;
    if (nan) {
      EXPECT_TRUE(std::isnan(vk::half_to_float(half))) << h;
      continue;
    }
    ASSERT_EQ(vk::float_to_half(vk::half_to_float(half)), half) << h;
  }
  EXPECT_EQ(vk::half_to_float(0x3c00), 1.0F);
  EXPECT_EQ(vk::half_to_float(0x0001), std::ldexp(1.0F, -24));  // the smallest subnormal
  EXPECT_EQ(vk::half_to_float(0x7bff), 65504.0F);
  EXPECT_EQ(vk::float_to_half(1.0F + std::ldexp(1.0F, -11)), 0x3c00);      // tie: to even
  EXPECT_EQ(vk::float_to_half(1.0F + 3 * std::ldexp(1.0F, -11)), 0x3c02);  // tie: to even
  EXPECT_EQ(vk::float_to_half(1.0F + std::ldexp(1.1F, -11)), 0x3c01);
  EXPECT_EQ(vk::float_to_half(-2.0F), 0xc000);
  EXPECT_EQ(vk::float_to_half(65519.0F), 0x7bff);
  EXPECT_EQ(vk::float_to_half(65520.0F), 0x7c00);  // rounds past the largest: infinity
  EXPECT_EQ(vk::float_to_half(1e10F), 0x7c00);
  EXPECT_EQ(vk::float_to_half(std::ldexp(1.0F, -25)), 0x0000);     // tie with zero: to even
  EXPECT_EQ(vk::float_to_half(std::ldexp(3.0F, -26)), 0x0001);     // 0.75 of the smallest
  EXPECT_EQ(vk::float_to_half(std::ldexp(1023.6F, -24)), 0x0400);  // carries into the normals
  EXPECT_EQ(vk::float_to_half(1e-10F), 0x0000);
}

TEST(OpsVulkan, ConvolutionSweep) {
  HIRES_REQUIRE_VULKAN();
  struct P {
    int in_c, out_c, k, stride, pad, groups;
    bool bias;
    int h, w;
  };
  const P cases[] = {{3, 8, 3, 1, 1, 1, true, 7, 13},
                     {8, 8, 3, 1, 1, 1, true, 1, 1},
                     {16, 16, 3, 1, 1, 1, false, 9, 5},
                     {4, 6, 1, 1, 0, 1, true, 7, 13},
                     {6, 6, 3, 2, 1, 1, true, 8, 11},
                     {8, 8, 3, 1, 1, 8, true, 6, 7},
                     {8, 4, 3, 1, 1, 2, true, 5, 9},
                     {3, 48, 3, 1, 1, 1, true, 12, 12},
                     {5, 7, 5, 1, 2, 1, true, 11, 6},
                     {64, 64, 3, 1, 1, 1, true, 17, 19},
                     {12, 6, 3, 1, 0, 3, true, 9, 10},
                     {3, 5, 3, 1, 0, 1, false, 3, 3},
                     {64, 48, 3, 1, 1, 1, true, 33, 70},
                     {4, 4, 4, 2, 1, 1, true, 10, 12},
                     // More input channels than one pass of conv2d.comp's shared weights holds.
                     {100, 8, 3, 1, 1, 1, true, 9, 10},
                     {40, 4, 5, 1, 2, 1, true, 7, 9},
                     {200, 6, 3, 1, 1, 2, false, 5, 6}};
  unsigned seed = 1;
  for (const P& p : cases) {
    const std::string what =
        fmt::format("conv in={} out={} k={} s={} p={} g={} bias={} {}x{}", p.in_c, p.out_c, p.k,
                    p.stride, p.pad, p.groups, p.bias, p.h, p.w);
    compare(
        chain({conv_node(p.in_c, p.out_c, p.k, p.stride, p.pad, p.groups, p.bias, seed)}, p.in_c),
        random_tensor(p.in_c, p.h, p.w, seed + 7), what);
    ++seed;
  }
}

// Activations fused into the convolution before them, and on their own (after an add).
TEST(OpsVulkan, ActivationsFusedAndAlone) {
  HIRES_REQUIRE_VULKAN();
  for (OpType act : {OpType::relu, OpType::leaky_relu, OpType::prelu, OpType::sigmoid}) {
    for (std::size_t slopes : {std::size_t{1}, std::size_t{16}}) {
      if (act != OpType::prelu && slopes == 1) continue;
      Node a = op(act);
      a.alpha = 0.2F;
      a.slopes = random_vector(slopes, 3, 0.3F);
      const std::string what = fmt::format("{} ({} slopes)", op_name(act), slopes);
      compare(
          chain({conv_node(3, 16, 3, 1, 1, 1, true, 5), a, conv_node(16, 16, 3, 1, 1, 1, true, 6)},
                3),
          random_tensor(3, 13, 7, 9), "conv + " + what);
      // After scale_shift, not a convolution: a dispatch of its own.
      compare(chain({conv_node(3, 16, 3, 1, 1, 1, true, 5), op(OpType::scale_shift), a}, 3),
              random_tensor(3, 6, 5, 2), "alone: " + what);
    }
  }
}

TEST(OpsVulkan, Deconvolution) {
  HIRES_REQUIRE_VULKAN();
  struct P {
    int in_c, out_c, k, stride, pad;
    bool bias;
    int h, w;
  };
  const P cases[] = {{4, 3, 2, 2, 0, true, 5, 7},
                     {8, 8, 4, 2, 1, true, 6, 6},
                     {3, 5, 3, 1, 1, false, 4, 9},
                     {16, 8, 4, 2, 3, true, 7, 8}};
  unsigned seed = 40;
  for (const P& p : cases) {
    const std::string what = fmt::format("deconv in={} out={} k={} s={} p={} bias={} {}x{}", p.in_c,
                                         p.out_c, p.k, p.stride, p.pad, p.bias, p.h, p.w);
    compare(chain({deconv_node(p.in_c, p.out_c, p.k, p.stride, p.pad, p.bias, seed)}, p.in_c),
            random_tensor(p.in_c, p.h, p.w, seed), what);
    Node act = op(OpType::leaky_relu);
    compare(chain({deconv_node(p.in_c, p.out_c, p.k, p.stride, p.pad, p.bias, seed), act}, p.in_c),
            random_tensor(p.in_c, p.h, p.w, seed), what + " + leaky_relu (fused)");
    ++seed;
  }
}

TEST(OpsVulkan, LayoutAndElementwiseOps) {
  HIRES_REQUIRE_VULKAN();
  struct Case {
    std::string what;
    std::function<Node()> make;
    int c, h, w;
  };
  auto padded = [](PadMode mode, int t, int b, int l, int r) {
    return [=] {
      Node n = op(OpType::pad);
      n.pad_mode = mode;
      n.top = t;
      n.bottom = b;
      n.left = l;
      n.right = r;
      return n;
    };
  };
  std::vector<Case> cases = {
      {"pixel_shuffle 2", [] { return op(OpType::pixel_shuffle, 2); }, 12, 5, 7},
      {"pixel_shuffle 4", [] { return op(OpType::pixel_shuffle, 4); }, 48, 3, 4},
      {"pixel_shuffle 3", [] { return op(OpType::pixel_shuffle, 3); }, 9, 4, 4},
      {"pixel_unshuffle 2", [] { return op(OpType::pixel_unshuffle, 2); }, 3, 6, 10},
      {"pixel_unshuffle 4", [] { return op(OpType::pixel_unshuffle, 4); }, 3, 8, 12},
      {"upsample_nearest 2", [] { return op(OpType::upsample_nearest, 2); }, 4, 5, 9},
      {"upsample_nearest 3", [] { return op(OpType::upsample_nearest, 3); }, 3, 5, 4},
      {"upsample_nearest 4", [] { return op(OpType::upsample_nearest, 4); }, 3, 1, 1},
      {"upsample_bilinear 2", [] { return op(OpType::upsample_bilinear, 2); }, 4, 7, 13},
      {"upsample_bilinear 3", [] { return op(OpType::upsample_bilinear, 3); }, 2, 1, 5},
      {"pad zero", padded(PadMode::zero, 1, 2, 3, 1), 2, 5, 6},
      {"pad replicate", padded(PadMode::replicate, 2, 0, 1, 3), 2, 5, 6},
      {"pad reflect", padded(PadMode::reflect, 3, 2, 4, 1), 3, 6, 7},
      {"pad reflect past the edge", padded(PadMode::reflect, 5, 5, 5, 5), 1, 3, 4},
      {"crop", [] { return op(OpType::crop); }, 2, 8, 9},
      {"global_avg_pool", [] { return op(OpType::global_avg_pool); }, 5, 7, 13},
      {"global_avg_pool 1x1", [] { return op(OpType::global_avg_pool); }, 3, 1, 1},
      {"global_avg_pool large", [] { return op(OpType::global_avg_pool); }, 4, 61, 67},
      {"scale_shift", [] { return op(OpType::scale_shift); }, 3, 1, 1},
      {"scale_shift large", [] { return op(OpType::scale_shift); }, 3, 40, 41},
      {"relu", [] { return op(OpType::relu); }, 3, 7, 13},
      {"leaky_relu", [] { return op(OpType::leaky_relu); }, 3, 7, 13},
      {"sigmoid", [] { return op(OpType::sigmoid); }, 3, 7, 13},
  };
  for (const Case& c : cases) {
    // A convolution first, so the op reads a value a shader wrote.
    compare(chain({conv_node(c.c, c.c, 3, 1, 1, 1, true, 2), c.make()}, c.c),
            random_tensor(c.c, c.h, c.w, 4),
            fmt::format("{} on [{},{},{}]", c.what, c.c, c.h, c.w));
  }
}

// Ops that read two or more values, each from its own convolution.
TEST(OpsVulkan, MultiInputOps) {
  HIRES_REQUIRE_VULKAN();
  struct Case {
    const char* what;
    OpType type;
    int inputs;
    bool per_channel;
  };
  const Case cases[] = {{"add", OpType::add, 2, false},
                        {"mul same shape", OpType::mul, 2, false},
                        {"mul per channel", OpType::mul, 2, true},
                        {"concat of 2", OpType::concat, 2, false},
                        {"concat of 5", OpType::concat, 5, false}};
  for (const Case& c : cases) {
    for (auto [h, w] : {std::pair{9, 11}, std::pair{1, 1}, std::pair{32, 17}}) {
      Graph g;
      g.name = c.what;
      g.in_channels = 3;
      std::vector<int> values;
      for (int i = 0; i < c.inputs; ++i) {
        Node cv = conv_node(3, c.type == OpType::concat ? 4 + i : 6, 3, 1, 1, 1, true, 20 + i);
        cv.inputs = {g.input};
        cv.output = g.add_value();
        values.push_back(cv.output);
        g.nodes.push_back(std::move(cv));
      }
      if (c.per_channel) {
        Node pool = op(OpType::global_avg_pool);
        pool.inputs = {values[1]};
        pool.output = g.add_value();
        values[1] = pool.output;
        g.nodes.push_back(std::move(pool));
      }
      Node n = op(c.type);
      n.inputs = values;
      n.output = g.add_value();
      g.output = n.output;
      g.nodes.push_back(std::move(n));
      validate(g);
      compare(g, random_tensor(3, h, w, 31), fmt::format("{} at {}x{}", c.what, w, h));
    }
  }
}

// The architectures end to end with random weights: SRVGG (each activation), and a residual
// dense block the way RRDBNet builds it (concat, leaky relu, scaled adds, nearest upsample).
TEST(OpsVulkan, SrvggNetworksMatchReference) {
  HIRES_REQUIRE_VULKAN();
  for (const char* act : {"prelu", "leakyrelu", "relu"}) {
    for (int upscale : {2, 3, 4}) {
      models::SrvggConfig c;
      c.num_feat = 16;
      c.num_conv = 4;
      c.upscale = upscale;
      c.act = act;
      const Graph g = models::build_srvgg_random(c, 11);
      compare(g, random_tensor(3, 10, 9, 3, 0.0F, 1.0F), fmt::format("srvgg {} x{}", act, upscale));
    }
  }
}

// Tiles of several shapes through one backend (one recorded plan per shape, kept and reused),
// and the values stay right when shapes come back.
TEST(OpsVulkan, PlansPerTileShapeAreReused) {
  HIRES_REQUIRE_VULKAN();
  models::SrvggConfig c;
  c.num_feat = 8;
  c.num_conv = 2;
  const Graph g = models::build_srvgg_random(c, 5);
  auto vk = make_backend(BackendKind::vulkan, g, {});
  auto ref = make_reference_backend(g);
  for (int round = 0; round < 2; ++round) {
    for (int s = 0; s < 8; ++s) {
      const Tensor x = random_tensor(3, 5 + s, 7 + 2 * s, 50 + s, 0.0F, 1.0F);
      expect_close(vk->run(x), ref->run(x), fmt::format("round {} shape {}", round, s));
    }
  }
}

// SE blocks on tiles: the pools' outputs come back, and fixed means replace the tile's own.
TEST(OpsVulkan, GlobalMeansComeBackAndCanBeFixed) {
  HIRES_REQUIRE_VULKAN();
  Graph g = chain({conv_node(3, 4, 3, 1, 1, 1, true, 1), op(OpType::global_avg_pool)}, 3);
  Node m = op(OpType::mul);
  m.inputs = {1, 2};
  m.output = g.add_value();
  g.output = m.output;
  g.nodes.push_back(m);
  validate(g);
  const Tensor x = random_tensor(3, 9, 8, 2);
  auto vk = make_backend(BackendKind::vulkan, g, {});
  auto ref = make_reference_backend(g);
  expect_close(vk->run(x), ref->run(x), "own means");
  ASSERT_EQ(vk->last_global_means().count(2), 1U);
  expect_close(vk->last_global_means().at(2), ref->last_global_means().at(2), "means");
  Tensor fixed(4, 1, 1);
  fixed.data = {0.5F, -1.0F, 2.0F, 0.25F};
  vk->set_global_means({{2, fixed}});
  ref->set_global_means({{2, fixed}});
  expect_close(vk->run(x), ref->run(x), "fixed means");
  vk->set_global_means({});
  ref->set_global_means({});
  expect_close(vk->run(x), ref->run(x), "own means again");
}

// A node reading `inputs` appended to g, which then outputs it.
int append(Graph& g, Node n, std::vector<int> inputs) {
  n.inputs = std::move(inputs);
  n.output = g.add_value();
  g.output = n.output;
  g.nodes.push_back(std::move(n));
  return g.output;
}

// An attention node of `heads` with a random bias table of `rows` rows.
Node attention(OpType t, int heads, int window, std::size_t rows, unsigned seed) {
  Node n = op(t);
  n.heads = heads;
  n.window = window;
  n.scale = 0.4F;
  n.weight = random_vector(rows * static_cast<std::size_t>(heads), seed, 0.5F);
  return n;
}

// The attention shaders take a head's output channels 32 at a time (attention.glsl's CHUNK):
// heads of 40 and 80 channels need two and three passes over the keys, the last partial.
TEST(OpsVulkan, AttentionHeadsWiderThanOneChunk) {
  HIRES_REQUIRE_VULKAN();
  for (const int hd : {33, 40, 80}) {
    Node win = attention(OpType::window_attention, 2, 4, 7 * 7, 3);
    win.window_shift = 2;
    compare(chain({conv_node(3, 3 * 2 * hd, 1, 1, 0, 1, true, 4), win}, 3),
            random_tensor(3, 8, 12, 5), fmt::format("window attention, heads of {}", hd));
    Node oca = attention(OpType::overlap_attention, 1, 4, 9 * 9, 6);
    oca.overlap = 6;
    compare(chain({conv_node(3, 3 * hd, 1, 1, 0, 1, true, 7), oca}, 3), random_tensor(3, 8, 8, 8),
            fmt::format("overlap attention, a head of {}", hd));
    const int channels = 4 * hd;  // permuted: C/4 channels of k and of v
    Node psa = attention(OpType::permuted_attention, 2, 4, 3 * 3, 9);
    psa.window_shift = 1;
    compare(chain({conv_node(3, channels * 3 / 2, 1, 1, 0, 1, true, 10), psa}, 3),
            random_tensor(3, 8, 8, 11), fmt::format("permuted attention, heads of {}", 2 * hd));
  }
}

// RGT's global branch: tokens pooled from the image (max pool, recursive reduction), every
// pixel attending to them (values 40 channels a head), and a bilinear resize back to the
// input's size; OmniSR's grid layout there and back.
TEST(OpsVulkan, TokensPoolsResizeAndGridLayout) {
  HIRES_REQUIRE_VULKAN();
  Graph g = chain({conv_node(3, 8, 3, 1, 1, 1, true, 20)}, 3);
  const int q = g.output;
  Node pool = op(OpType::max_pool);
  pool.kernel = 3;
  pool.stride = 2;
  Node reduce = op(OpType::recursive_reduction);
  reduce.kernel = 2;
  reduce.count = 1;
  reduce.weight = random_vector(88 * 4, 21, 0.5F);
  reduce.bias = random_vector(88, 22, 0.1F);
  const int kv = append(g, conv_node(3, 88, 1, 1, 0, 1, true, 23), {g.input});
  const int pooled = append(g, pool, {kv});
  const int tokens = append(g, reduce, {pooled});
  Node tok = op(OpType::token_attention);
  tok.heads = 2;
  tok.scale = 0.5F;
  const int attended = append(g, tok, {q, tokens});
  const int small = append(g, pool, {attended});
  append(g, op(OpType::resize_bilinear_like), {small, g.input});
  Node grid = op(OpType::grid_to_windows, 4);
  const int windows = append(g, grid, {g.output});
  grid.type = OpType::windows_to_grid;
  grid.factor = 2;
  append(g, grid, {windows});
  validate(g);
  for (const auto& [h, w] : {std::pair{16, 20}, std::pair{36, 24}}) {
    compare(g, random_tensor(3, h, w, 24),
            fmt::format("tokens, pools, resize, grid at {}x{}", w, h));
  }
}

// DAT's channel attention over the whole image on tiles: the statistics come back from each
// run, and fixed ones (the first pass's, shared by all tiles) replace the tile's own.
TEST(OpsVulkan, ChannelStatisticsComeBackAndCanBeFixed) {
  HIRES_REQUIRE_VULKAN();
  Graph g = chain({conv_node(3, 3 * 12, 1, 1, 0, 1, true, 30)}, 3);
  const int qkv = g.output;
  Node gram = op(OpType::channel_gram);
  gram.heads = 3;
  const int stats = append(g, gram, {qkv});
  Node mix = gram;
  mix.type = OpType::channel_attention;
  mix.weight = {0.5F, 1.0F, 2.0F};
  append(g, mix, {qkv, stats});
  validate(g);
  const Tensor x = random_tensor(3, 10, 9, 31);
  auto vk = make_backend(BackendKind::vulkan, g, {});
  auto ref = make_reference_backend(g);
  expect_close(vk->run(x), ref->run(x), "own statistics");
  ASSERT_EQ(vk->last_global_means().count(stats), 1U);
  expect_close(vk->last_global_means().at(stats), ref->last_global_means().at(stats), "stats");
  (void)ref->run(random_tensor(3, 10, 9, 32));
  const Tensor fixed = ref->last_global_means().at(stats);  // another image's
  vk->set_global_means({{stats, fixed}});
  ref->set_global_means({{stats, fixed}});
  const Tensor a = vk->run(x);
  expect_close(a, ref->run(x), "fixed statistics");
  vk->set_global_means({});
  const Tensor own = vk->run(x);
  float moved = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    moved = std::max(moved, std::abs(a.data[i] - own.data[i]));
  EXPECT_GT(moved, 1e-3F) << "the fixed statistics were not used";
}

// Every op type has a shader: a new op without one fails here (and in supports()). The op types
// are the names op_name knows (it says "?" past the last).
TEST(OpsVulkan, EveryOpTypeIsSupported) {
  ASSERT_STREQ(op_name(static_cast<OpType>(static_cast<int>(OpType::offset_sample) + 1)), "?");
  for (int t = 0; t <= static_cast<int>(OpType::offset_sample); ++t) {
    Graph g;
    Node n = op(static_cast<OpType>(t));
    g.nodes.push_back(n);
    EXPECT_TRUE(!vulkan_built() || vulkan_supports(g)) << op_name(n.type);
  }
}

// What the backend cannot run is a usage error naming the layer; auto never picks it for such a
// graph (vulkan_supports is what choose_backend asks).
TEST(OpsVulkan, AGraphItCannotRunIsRefusedByName) {
  HIRES_REQUIRE_VULKAN();
  Node big = conv_node(2, 2, 29, 1, 14, 1, true, 1);
  big.name = "body.0.huge";
  const Graph g = chain({big}, 2);
  EXPECT_FALSE(vulkan_supports(g));
  try {
    make_backend(BackendKind::vulkan, g, {});
    FAIL() << "a 29x29 convolution was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    const std::string what = e.what();
    EXPECT_NE(what.find("29x29 convolution"), std::string::npos) << what;
    EXPECT_NE(what.find("'body.0.huge'"), std::string::npos) << what;
    EXPECT_NE(what.find("(use `backend` cpu)"), std::string::npos) << what;
  }
  if (std::getenv("HIRES_BACKEND") == nullptr) {
    EXPECT_EQ(choose_backend(BackendKind::automatic, &g).kind, BackendKind::cpu);
  }
}

TEST(OpsVulkan, UnknownGpuIsAUsageError) {
  HIRES_REQUIRE_VULKAN();
  const Graph g = chain({op(OpType::relu)}, 3);
  BackendOptions o;
  o.gpu = 63;
  try {
    make_backend(BackendKind::vulkan, g, o);
    FAIL() << "--gpu 63 was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_NE(std::string(e.what()).find("device 63 does not exist"), std::string::npos)
        << e.what();
  }
}

// `auto` uses vulkan only on a discrete or integrated GPU: never on lavapipe (a CPU device).
TEST(OpsVulkan, AutoPicksVulkanOnlyOnARealGpu) {
  const Graph g = chain({op(OpType::relu)}, 3);
  bool real_gpu = false;
  for (const GpuDevice& d : list_gpus().devices) {
    real_gpu = real_gpu || d.type == "discrete" || d.type == "integrated";
    if (d.type == "cpu") {
      EXPECT_FALSE(d.chosen_by_auto) << d.name;
    }
  }
  if (std::getenv("HIRES_BACKEND") != nullptr) GTEST_SKIP() << "HIRES_BACKEND is set";
  const BackendChoice c = choose_backend(BackendKind::automatic, &g);
  EXPECT_EQ(c.kind, real_gpu ? BackendKind::vulkan : BackendKind::cpu) << c.reason;
  // Without a graph to check, auto never takes vulkan.
  EXPECT_EQ(choose_backend(BackendKind::automatic).kind, BackendKind::cpu);
}

// The one rule for fp16 values: by default on a real GPU with 16-bit storage, when asked for on
// any device that has it, never without it.
TEST(OpsVulkan, Fp16ValuesWhereTheDeviceHasThem) {
  GpuDevice gpu;
  gpu.type = "discrete";
  gpu.fp16_storage = true;
  GpuDevice soft = gpu;
  soft.type = "cpu";
  GpuDevice old = gpu;
  old.fp16_storage = false;
  EXPECT_TRUE(vulkan_fp16_values(gpu, ValueStorage::automatic));
  EXPECT_FALSE(vulkan_fp16_values(gpu, ValueStorage::fp32));
  EXPECT_FALSE(vulkan_fp16_values(soft, ValueStorage::automatic));
  EXPECT_TRUE(vulkan_fp16_values(soft, ValueStorage::fp16));
  EXPECT_FALSE(vulkan_fp16_values(old, ValueStorage::fp16));
  EXPECT_FALSE(vulkan_fp16_values(old, ValueStorage::automatic));
}

TEST(OpsVulkan, DescribeNamesTheDevice) {
  HIRES_REQUIRE_VULKAN();
  const Graph g = chain({op(OpType::relu)}, 3);
  auto be = make_backend(BackendKind::vulkan, g, {});
  EXPECT_EQ(be->name(), "vulkan");
  EXPECT_EQ(be->describe().rfind("vulkan: ", 0), 0U) << be->describe();
  const GpuDevice d = list_gpus().devices.at(0);
  EXPECT_NE(be->describe().find(d.name), std::string::npos) << be->describe();
  // Values: fp16 by default only on a real GPU with 16-bit storage; asked for, wherever the
  // device has it; fp32 otherwise.
  const bool auto_fp16 = d.fp16_storage && d.type != "cpu";
  EXPECT_NE(be->describe().find(auto_fp16 ? "fp16 values" : "fp32 values"), std::string::npos)
      << be->describe();
  BackendOptions o;
  o.storage = ValueStorage::fp16;
  const std::string asked = make_backend(BackendKind::vulkan, g, o)->describe();
  EXPECT_NE(asked.find(d.fp16_storage ? "fp16 values" : "fp32 values"), std::string::npos) << asked;
  o.storage = ValueStorage::fp32;
  const std::string fp32 = make_backend(BackendKind::vulkan, g, o)->describe();
  EXPECT_NE(fp32.find("fp32 values, fp32 arithmetic"), std::string::npos) << fp32;
}

// Tiles for the GPU fit its memory and its largest shader buffer (lavapipe: 128 MiB per
// buffer, which a 1024-pixel tile of 64 channels would pass).
TEST(OpsVulkan, TilesFitTheDeviceBuffers) {
  HIRES_REQUIRE_VULKAN();
  models::SrvggConfig c;
  c.num_feat = 64;
  c.num_conv = 2;
  const Graph g = models::build_srvgg_random(c, 1);
  const GpuList gpus = list_gpus();
  const std::uint64_t huge = std::uint64_t{1} << 40;
  for (const GpuDevice& d : gpus.devices) {
    const std::uint64_t budget = vulkan_memory_budget(g, d.index, huge);
    EXPECT_LE(budget, d.memory_bytes) << d.name;
    const TilePlan plan = plan_tiles(g, 0, budget, 100000, 100000);
    const std::uint64_t side = static_cast<std::uint64_t>(plan.tile) + 2 * plan.context;
    EXPECT_LE(side * side * 64 * 4, d.max_buffer_bytes)
        << d.name << ": tile " << plan.tile << " with context " << plan.context;
  }
  EXPECT_EQ(vulkan_memory_budget(g, -1, 1000), 1000U) << "a small budget stays";
}

// A tile whose values do not fit the device (lavapipe: a 64-channel value over its 128 MiB
// buffer limit) runs as two halves with context, and the output is the same.
TEST(OpsVulkan, ATileTooLargeForTheDeviceRunsAsHalves) {
  HIRES_REQUIRE_VULKAN();
  Graph g = chain({conv_node(3, 64, 1, 1, 0, 1, true, 3), op(OpType::relu),
                   conv_node(64, 3, 3, 1, 1, 1, true, 4)},
                  3);
  g.receptive_radius = estimate_receptive_radius(g);
  const Tensor x = random_tensor(3, 812, 780, 8);
  auto vk = make_backend(BackendKind::vulkan, g, {});
  expect_close(vk->run(x), make_reference_backend(g)->run(x), "812x780 tile");
  const std::uint64_t value_bytes = 64ULL * 812 * 780 * 4;
  const GpuList gpus = list_gpus();  // (a reference into the returned list dangled: ASan)
  const GpuDevice& d = gpus.devices.at(0);
  if (d.max_buffer_bytes < value_bytes) {
    EXPECT_NE(vk->describe().find("tiles run as halves"), std::string::npos) << vk->describe();
  }
}

// Halves of a windowed graph are cut on the window grid: each half's windows are the whole
// input's (a cut at 301 would shift them). Against the cpu backend: the reference loops would
// take most of a minute on this size, and OpsArchs checks the cpu backend against them.
TEST(OpsVulkan, HalvesOfAWindowedGraphKeepTheWindows) {
  HIRES_REQUIRE_VULKAN();
  Node pad = op(OpType::pad_to_multiple, 4);
  pad.pad_mode = PadMode::reflect;
  pad.top = pad.bottom = pad.left = pad.right = 0;  // op() sets margins for the pad tests
  Node win = attention(OpType::window_attention, 4, 4, 7 * 7, 40);
  Graph g = chain({pad, conv_node(3, 96, 1, 1, 0, 1, true, 41), win}, 3);
  Node crop = op(OpType::crop_like, 1);
  append(g, crop, {g.output, g.input});
  g.out_channels = 32;
  g.tile_align = 4;
  g.receptive_radius = 6;
  validate(g);
  const Tensor x = random_tensor(3, 602, 598, 42);
  auto vk = make_backend(BackendKind::vulkan, g, {});
  expect_close(vk->run(x), make_backend(BackendKind::cpu, g, {})->run(x), "602x598, window 4");
  const std::uint64_t value_bytes = 96ULL * 604 * 600 * 4;
  const GpuList gpus = list_gpus();
  if (gpus.devices.at(0).max_buffer_bytes < value_bytes) {
    EXPECT_NE(vk->describe().find("tiles run as halves"), std::string::npos) << vk->describe();
  }
}

}  // namespace
}  // namespace hires::engine
