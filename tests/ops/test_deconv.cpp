// deconv2d (transposed convolution, PyTorch's ConvTranspose2d): the reference loops against a
// direct formula written from the definition, and the cpu backend (oneDNN deconvolution with
// fused activations) against the reference. Also the unpadded 3x3 convolutions of the same nets
// (waifu2x, Real-CUGAN), which the cpu backend runs as padded Winograd minus the border.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <utility>

#include "engine/backend.hpp"
#include "engine/ops_reference.hpp"
#include "hires/error.hpp"
#include "ops/op_graphs.hpp"

namespace hires::engine {
namespace {

using test::deconv_node;
using test::random_tensor;
using test::random_vector;

// y[o, oy, ox] = b[o] + sum over i, ky, kx with oy = iy*s + ky - p, ox = ix*s + kx - p of
// x[i, iy, ix] * w[i, o, ky, kx]: gathered per output pixel (the reference scatters).
double direct(const Tensor& x, const Node& n, int o, int oy, int ox) {
  double sum = n.bias.empty() ? 0.0 : n.bias[o];
  const int k = n.kernel;
  for (int i = 0; i < n.in_channels; ++i) {
    for (int ky = 0; ky < k; ++ky) {
      for (int kx = 0; kx < k; ++kx) {
        const int ny = oy + n.padding - ky;
        const int nx = ox + n.padding - kx;
        if (ny < 0 || nx < 0 || ny % n.stride != 0 || nx % n.stride != 0) continue;
        const int iy = ny / n.stride;
        const int ix = nx / n.stride;
        if (iy >= x.h || ix >= x.w) continue;
        sum += static_cast<double>(x.at(i, iy, ix)) *
               n.weight[((static_cast<std::size_t>(i) * n.out_channels + o) * k + ky) * k + kx];
      }
    }
  }
  return sum;
}

Graph single(Node n, const Node* act) {
  Graph g;
  g.name = "deconv-test";
  g.in_channels = n.in_channels;
  g.out_channels = n.out_channels;
  n.inputs = {g.input};
  n.output = g.add_value();
  g.output = n.output;
  g.nodes.push_back(std::move(n));
  if (act != nullptr) {
    Node a = *act;
    a.inputs = {g.output};
    a.output = g.add_value();
    g.output = a.output;
    g.nodes.push_back(std::move(a));
  }
  validate(g);
  return g;
}

struct Case {
  int in_c, out_c, k, s, p;
  bool bias;
  int h, w;
};

const Case kCases[] = {
    {3, 5, 2, 2, 0, true, 7, 9},   {8, 3, 4, 2, 3, true, 6, 5},  {16, 16, 2, 2, 0, false, 5, 8},
    {4, 6, 3, 1, 1, true, 5, 4},   {5, 7, 3, 2, 1, true, 4, 6},  {2, 3, 5, 3, 2, false, 3, 4},
    {64, 3, 4, 2, 3, true, 9, 11}, {1, 1, 1, 1, 0, false, 2, 3},
};

TEST(OpsDeconv, ReferenceMatchesTheDefinition) {
  unsigned seed = 10;
  for (const Case& c : kCases) {
    const Node n = deconv_node(c.in_c, c.out_c, c.k, c.s, c.p, c.bias, seed++);
    const Tensor x = random_tensor(c.in_c, c.h, c.w, seed++);
    const Tensor y = ref::deconv2d(x, n);
    ASSERT_EQ(y.c, c.out_c);
    ASSERT_EQ(y.h, (c.h - 1) * c.s - 2 * c.p + c.k);
    ASSERT_EQ(y.w, (c.w - 1) * c.s - 2 * c.p + c.k);
    double worst = 0;
    for (int o = 0; o < y.c; ++o)
      for (int yy = 0; yy < y.h; ++yy)
        for (int xx = 0; xx < y.w; ++xx)
          worst = std::max(worst, std::abs(y.at(o, yy, xx) - direct(x, n, o, yy, xx)));
    EXPECT_LT(worst, 1e-4) << fmt::format("k{} s{} p{}", c.k, c.s, c.p);
  }
}

TEST(OpsDeconv, KnownValues) {
  // 1 -> 1 channel, k2 s2: each input pixel becomes a 2x2 block of x * w.
  Node n = deconv_node(1, 1, 2, 2, 0, true, 1);
  n.weight = {1.0F, 2.0F, 3.0F, 4.0F};
  n.bias = {0.5F};
  Tensor x(1, 1, 2);
  x.data = {1.0F, -2.0F};
  const Tensor y = ref::deconv2d(x, n);
  ASSERT_EQ(y.h, 2);
  ASSERT_EQ(y.w, 4);
  const std::vector<float> want{1.5F, 2.5F, -1.5F, -3.5F, 3.5F, 4.5F, -5.5F, -7.5F};
  EXPECT_EQ(y.data, want);
}

TEST(OpsDeconv, CpuBackendMatchesReference) {
  Node leaky;
  leaky.type = OpType::leaky_relu;
  leaky.name = "leaky";
  leaky.alpha = 0.1F;
  Node relu;
  relu.type = OpType::relu;
  relu.name = "relu";
  unsigned seed = 100;
  for (const Case& c : kCases) {
    for (const Node* act : std::vector<const Node*>{nullptr, &leaky, &relu}) {
      const Graph g = single(deconv_node(c.in_c, c.out_c, c.k, c.s, c.p, c.bias, seed++), act);
      const Tensor x = random_tensor(c.in_c, c.h, c.w, seed++);
      const Tensor want = make_reference_backend(g)->run(x);
      const Tensor got = make_cpu_backend(g, {})->run(x);
      ASSERT_EQ(got.c, want.c);
      ASSERT_EQ(got.h, want.h);
      ASSERT_EQ(got.w, want.w);
      float worst = 0;
      for (std::size_t i = 0; i < got.size(); ++i) {
        worst = std::max(worst, std::abs(got.data[i] - want.data[i]));
      }
      EXPECT_LT(worst, 1e-4F) << fmt::format("k{} s{} p{} act {}", c.k, c.s, c.p,
                                             act ? act->name : "none");
    }
  }
}

TEST(OpsValidConv, WinogradWithoutBorderMatchesReference) {
  // Two chained unpadded 3x3 convolutions (16 -> 24 -> 8 channels) with fused LeakyReLU, then a
  // deconvolution: the sizes shrink by 2 per convolution.
  std::vector<Node> nodes;
  unsigned seed = 300;
  for (auto [in_c, out_c] : {std::pair{16, 24}, std::pair{24, 8}}) {
    Node c;
    c.type = OpType::conv2d;
    c.name = "valid";
    c.in_channels = in_c;
    c.out_channels = out_c;
    c.kernel = 3;
    c.padding = 0;
    c.weight = random_vector(static_cast<std::size_t>(in_c) * out_c * 9, seed++, 0.2F);
    c.bias = random_vector(static_cast<std::size_t>(out_c), seed++, 0.1F);
    nodes.push_back(c);
    Node a;
    a.type = OpType::leaky_relu;
    a.name = "leaky";
    a.alpha = 0.1F;
    nodes.push_back(a);
  }
  nodes.push_back(deconv_node(8, 3, 4, 2, 3, true, seed++));
  Graph g;
  g.name = "valid-test";
  g.in_channels = 16;
  g.out_channels = 3;
  int v = g.input;
  for (Node& n : nodes) {
    n.inputs = {v};
    n.output = v = g.add_value();
    g.nodes.push_back(std::move(n));
  }
  g.output = v;
  validate(g);
  for (auto [h, w] : {std::pair{13, 17}, std::pair{8, 9}, std::pair{30, 22}}) {
    const Tensor x = random_tensor(16, h, w, seed++);
    const Tensor want = make_reference_backend(g)->run(x);
    auto cpu = make_cpu_backend(g, {});
    const Tensor got = cpu->run(x);
    if (std::getenv("HIRES_NO_WINOGRAD") == nullptr) {
      EXPECT_NE(cpu->describe().find("winograd F(4,3)"), std::string::npos) << cpu->describe();
      EXPECT_NE(cpu->describe().find("(2 convs)"), std::string::npos) << cpu->describe();
    }
    ASSERT_EQ(got.h, want.h);
    ASSERT_EQ(got.w, want.w);
    ASSERT_EQ(want.h, (h - 4 - 1) * 2 - 6 + 4);
    float worst = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
      worst = std::max(worst, std::abs(got.data[i] - want.data[i]));
    }
    EXPECT_LT(worst, 1e-4F) << h << "x" << w;
  }
}

TEST(OpsDeconv, ValidateChecksWeightSize) {
  Node n = deconv_node(3, 4, 2, 2, 0, true, 5);
  n.weight.pop_back();
  EXPECT_THROW(single(n, nullptr), hires::Error);
}

}  // namespace
}  // namespace hires::engine
