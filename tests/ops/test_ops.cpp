// Every op on every backend against the reference loops, on random data and odd sizes.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <omp.h>

#include <iostream>
#include <random>
#include <set>
#include <thread>

#include "engine/backend.hpp"
#include "engine/ops_reference.hpp"
#include "models/srvgg.hpp"
#include "ops/op_graphs.hpp"

namespace hires::engine {
namespace {

using test::chain;
using test::conv_node;
using test::random_tensor;
using test::random_vector;

void expect_close(const Tensor& a, const Tensor& b, float tol, const std::string& what) {
  ASSERT_EQ(a.c, b.c) << what;
  ASSERT_EQ(a.h, b.h) << what;
  ASSERT_EQ(a.w, b.w) << what;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_NEAR(a.data[i], b.data[i], tol) << what << " at flat index " << i;
  }
}

// Every implementation in engine::backend_order() against the reference loops (the oracle).
// The vulkan backend (where a Vulkan device exists) runs every graph: it has a shader for every
// op (OpsVulkan.EveryOpTypeIsSupported).
void compare_backends(const Graph& g, const Tensor& x, float tol, const std::string& what) {
  const Tensor want = make_reference_backend(g)->run(x);
  for (BackendKind kind : backend_order()) {
    if (kind == BackendKind::reference) continue;
    const Tensor got = make_backend(kind, g, {})->run(x);
    expect_close(got, want, tol, fmt::format("{} vs reference: {}", backend_name(kind), what));
  }
}

TEST(OpsCpu, ConvolutionParameterSweep) {
  struct P {
    int in_c, out_c, k, stride, pad, groups;
    bool bias;
    int h, w;
  };
  const P cases[] = {{3, 8, 3, 1, 1, 1, true, 7, 13},   {8, 8, 3, 1, 1, 1, true, 1, 1},
                     {16, 16, 3, 1, 1, 1, false, 9, 5}, {4, 6, 1, 1, 0, 1, true, 7, 13},
                     {6, 6, 3, 2, 1, 1, true, 8, 11},   {8, 8, 3, 1, 1, 8, true, 6, 7},
                     {8, 4, 3, 1, 1, 2, true, 5, 9},    {3, 48, 3, 1, 1, 1, true, 12, 12},
                     {5, 7, 5, 1, 2, 1, true, 11, 6},   {64, 64, 3, 1, 1, 1, true, 17, 19}};
  unsigned seed = 1;
  for (const P& p : cases) {
    const std::string what =
        fmt::format("conv in={} out={} k={} s={} p={} g={} bias={} {}x{}", p.in_c, p.out_c, p.k,
                    p.stride, p.pad, p.groups, p.bias, p.h, p.w);
    Graph g =
        chain({conv_node(p.in_c, p.out_c, p.k, p.stride, p.pad, p.groups, p.bias, seed)}, p.in_c);
    compare_backends(g, random_tensor(p.in_c, p.h, p.w, seed + 7), 1e-4F, what);
    ++seed;
  }
}

TEST(OpsCpu, ConvolutionWithFusedAndSeparateActivations) {
  for (OpType act : {OpType::relu, OpType::leaky_relu, OpType::prelu, OpType::sigmoid}) {
    Node a;
    a.type = act;
    a.name = op_name(act);
    a.alpha = 0.2F;
    a.slopes = random_vector(16, 3, 0.3F);
    Graph g = chain(
        {conv_node(3, 16, 3, 1, 1, 1, true, 5), a, conv_node(16, 16, 3, 1, 1, 1, true, 6)}, 3);
    compare_backends(g, random_tensor(3, 13, 7, 9), 1e-4F, std::string("conv + ") + op_name(act));
  }
}

TEST(OpsCpu, LayoutAndElementwiseOps) {
  struct Case {
    const char* what;
    std::function<Node()> make;
    int c, h, w;
  };
  auto simple = [](OpType t, int factor = 1) {
    return [t, factor] {
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
    };
  };
  const Case cases[] = {
      {"pixel_shuffle 2", simple(OpType::pixel_shuffle, 2), 12, 5, 7},
      {"pixel_unshuffle 2", simple(OpType::pixel_unshuffle, 2), 3, 6, 10},
      {"upsample_nearest 3", simple(OpType::upsample_nearest, 3), 3, 5, 4},
      {"upsample_bilinear 2", simple(OpType::upsample_bilinear, 2), 4, 7, 13},
      {"pad zero", simple(OpType::pad), 2, 5, 6},
      {"crop", simple(OpType::crop), 2, 8, 9},
      {"global_avg_pool", simple(OpType::global_avg_pool), 5, 7, 13},
      {"scale_shift", simple(OpType::scale_shift), 3, 1, 1},
      {"leaky_relu", simple(OpType::leaky_relu), 3, 7, 13},
  };
  for (const Case& c : cases) {
    // A convolution first, so the op reads oneDNN's layout in the cpu backend.
    Graph g = chain({conv_node(c.c, c.c, 3, 1, 1, 1, true, 2), c.make()}, c.c);
    compare_backends(g, random_tensor(c.c, c.h, c.w, 4), 1e-4F, c.what);
  }
}

// Ops that read two or more values: each input comes from its own convolution, so in the cpu
// backend they arrive in oneDNN's layout.
TEST(OpsCpu, MultiInputOps) {
  struct Case {
    const char* what;
    OpType type;
    int inputs;
    bool per_channel;  // mul by a [C,1,1] value (an SE block's gate)
  };
  const Case cases[] = {
      {"add", OpType::add, 2, false},
      {"mul same shape", OpType::mul, 2, false},
      {"mul per channel", OpType::mul, 2, true},
      {"concat of 3", OpType::concat, 3, false},
  };
  for (const Case& c : cases) {
    Graph g;
    g.name = c.what;
    g.in_channels = 3;
    std::vector<int> values;
    for (int i = 0; i < c.inputs; ++i) {
      Node conv = conv_node(3, 4 + i, 3, 1, 1, 1, true, 20 + i);
      if (c.type != OpType::concat) conv = conv_node(3, 6, 3, 1, 1, 1, true, 20 + i);
      conv.inputs = {g.input};
      conv.output = g.add_value();
      values.push_back(conv.output);
      g.nodes.push_back(std::move(conv));
    }
    if (c.per_channel) {
      Node pool;
      pool.type = OpType::global_avg_pool;
      pool.name = "pool";
      pool.inputs = {values[1]};
      pool.output = g.add_value();
      values[1] = pool.output;
      g.nodes.push_back(std::move(pool));
    }
    Node op;
    op.type = c.type;
    op.name = c.what;
    op.inputs = values;
    op.output = g.add_value();
    g.output = op.output;
    g.nodes.push_back(std::move(op));
    validate(g);
    compare_backends(g, random_tensor(3, 9, 11, 31), 1e-4F, c.what);
  }
}

// Each op type has a case above or in test_deconv.cpp / test_winograd.cpp: a new op without one
// fails here.
TEST(OpsCpu, EveryOpTypeHasACase) {
  const std::set<OpType> covered{OpType::conv2d,
                                 OpType::deconv2d,
                                 OpType::relu,
                                 OpType::leaky_relu,
                                 OpType::prelu,
                                 OpType::sigmoid,
                                 OpType::add,
                                 OpType::mul,
                                 OpType::concat,
                                 OpType::pixel_shuffle,
                                 OpType::pixel_unshuffle,
                                 OpType::upsample_nearest,
                                 OpType::upsample_bilinear,
                                 OpType::pad,
                                 OpType::crop,
                                 OpType::global_avg_pool,
                                 OpType::scale_shift,
                                 OpType::silu,  // these five: test_ops_archs.cpp
                                 OpType::gelu,
                                 OpType::slice_channels,
                                 OpType::mish,
                                 OpType::group_norm,
                                 OpType::layer_norm,  // these five: test_ops_archs.cpp too
                                 OpType::window_attention,
                                 OpType::overlap_attention,
                                 OpType::permuted_attention,  // these three: test_ops_archs.cpp
                                 OpType::recursive_reduction,
                                 OpType::token_attention,
                                 OpType::pad_to_multiple,
                                 OpType::crop_like};
  for (int t = 0; t <= static_cast<int>(OpType::crop_like); ++t) {
    EXPECT_TRUE(covered.count(static_cast<OpType>(t)) == 1)
        << op_name(static_cast<OpType>(t)) << " has no backend comparison case";
  }
}

TEST(OpsReference, KnownValues) {
  // pixel_shuffle: channel (i*r + j) lands at (y*r + i, x*r + j).
  Tensor x(4, 1, 1);
  x.data = {1, 2, 3, 4};
  const Tensor y = ref::pixel_shuffle(x, 2);
  EXPECT_EQ(y.data, (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(ref::pixel_unshuffle(y, 2).data, x.data);
  // bilinear x2 of [0, 1]: PyTorch (align_corners=False) gives 0, .25, .75, 1.
  Tensor r(1, 1, 2);
  r.data = {0, 1};
  EXPECT_EQ(ref::upsample_bilinear(r, 2).data,
            (std::vector<float>{0, 0.25F, 0.75F, 1, 0, 0.25F, 0.75F, 1}));  // two equal rows
  // conv 1x1 with weight 2 and bias 1.
  Node n = conv_node(1, 1, 1, 1, 0, 1, true, 0);
  n.weight = {2};
  n.bias = {1};
  EXPECT_EQ(ref::conv2d(r, n).data, (std::vector<float>{1, 3}));
  Tensor p(1, 1, 3);
  p.data = {-1, 0, 2};
  ref::prelu(p, {0.25F});
  EXPECT_EQ(p.data, (std::vector<float>{-0.25F, 0, 2}));
}

TEST(OpsCpu, SrvggNetworkMatchesReference) {
  for (const char* act : {"prelu", "leakyrelu", "relu"}) {
    models::SrvggConfig c;
    c.num_feat = 16;
    c.num_conv = 4;
    c.upscale = 4;
    c.act = act;
    const Graph g = models::build_srvgg_random(c, 11);
    EXPECT_EQ(g.receptive_radius, 6);
    compare_backends(g, random_tensor(3, 10, 9, 3, 0.0F, 1.0F), 1e-4F, std::string("srvgg ") + act);
  }
}

TEST(OpsCpu, ReportsTheImplementationUsed) {
  models::SrvggConfig c;
  c.num_feat = 16;
  c.num_conv = 1;
  const Graph g = models::build_srvgg_random(c, 1);
  auto be = make_cpu_backend(g, {});
  be->run(random_tensor(3, 8, 8, 1, 0.0F, 1.0F));
  const std::string d = be->describe();
  EXPECT_EQ(d.rfind("cpu: oneDNN convolution ", 0), 0U) << d;
  EXPECT_EQ(d.find("ref"), std::string::npos) << "a reference kernel ran: " << d;
}

// The cpu backend's thread count holds on whichever thread runs it (libvips hands tiles to
// several), not only on the thread that made it: OpenMP's count belongs to the calling thread.
TEST(CpuBackendThreads, TheCountHoldsOnEveryThreadThatRuns) {
  const Graph g = chain({conv_node(3, 3, 3, 1, 1, 1, true, 3)}, 3);
  BackendOptions o;
  o.threads = 7;
  const auto backend = make_backend(BackendKind::cpu, g, o);
  const Tensor x = random_tensor(3, 8, 8, 4);
  int seen = 0;
  std::thread other([&] {
    (void)backend->run(x);
    seen = omp_get_max_threads();
  });
  other.join();
  EXPECT_EQ(seen, 7);
  backend->set_threads(5);
  std::thread third([&] {
    (void)backend->run(x);
    seen = omp_get_max_threads();
  });
  third.join();
  EXPECT_EQ(seen, 5);
}

}  // namespace
}  // namespace hires::engine
