// The ncnn layers and graph rewrites that waifu2x and Real-CUGAN need: Deconvolution (weight
// order), InnerProduct and Scale (SE blocks), and the pre-padding of nets of unpadded convolutions.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/backend.hpp"
#include "engine/ops_reference.hpp"
#include "hires/error.hpp"
#include "models/formats/ncnn/reader.hpp"
#include "support/test_support.hpp"

namespace hires {
namespace {

using engine::Graph;
using engine::OpType;
using engine::Tensor;
using test::TempDir;
namespace fs = std::filesystem;

struct Files {
  std::filesystem::path param, bin;
};

Files write(const TempDir& dir, const std::vector<std::string>& layers,
            const std::vector<float>& weights) {
  Files f{dir / "m.param", dir / "m.bin"};
  std::ofstream p(f.param);
  p << "7767517\n" << layers.size() << " " << layers.size() + 4 << "\n";
  for (const auto& l : layers) p << l << "\n";
  std::ofstream b(f.bin, std::ios::binary);
  for (float w : weights) {
    std::uint32_t u = 0;
    std::memcpy(&u, &w, 4);
    for (int i = 0; i < 4; ++i) b.put(static_cast<char>((u >> (8 * i)) & 0xFF));
  }
  return f;
}

std::vector<float> ramp(int n, float start, float step) {
  std::vector<float> v(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) v[i] = start + step * static_cast<float>(i);
  return v;
}

std::vector<float> cat(std::vector<float> a, const std::vector<float>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

Tensor pattern(int c, int h, int w) {
  Tensor t(c, h, w);
  for (std::size_t i = 0; i < t.size(); ++i) t.data[i] = std::sin(0.7F * static_cast<float>(i));
  return t;
}

TEST(NcnnZoo, DeconvolutionWeightsAreTransposedToPyTorchOrder) {
  TempDir dir;
  // 2 inputs, 3 outputs, 2x2 kernel: ncnn stores [out=3][in=2][2][2].
  const Files f = write(dir,
                        {"Input in 0 1 data 0=4 1=4 2=2",
                         "Deconvolution d 1 1 data out 0=3 1=2 3=2 5=1 6=24 9=2 -23310=1,0.1"},
                        cat(cat({0.0F}, ramp(24, 0, 1)), {0.5F, -0.5F, 1.0F}));
  models::NcnnInfo info;
  const Graph g = models::load_ncnn(f.param, f.bin, &info);
  ASSERT_EQ(g.nodes.size(), 2U);
  const auto& d = g.nodes[0];
  EXPECT_EQ(d.type, OpType::deconv2d);
  EXPECT_EQ(d.in_channels, 2);
  EXPECT_EQ(d.out_channels, 3);
  EXPECT_EQ(g.nodes[1].type, OpType::leaky_relu);
  EXPECT_EQ(g.scale, 2);
  EXPECT_EQ(info.prepad, 0);
  EXPECT_EQ(info.structure, models::NcnnStructure::other) << "no pre-pad: not waifu2x upconv_7";
  // engine [in][out][ky][kx] = ncnn [out][in][ky][kx]
  for (int i = 0; i < 2; ++i)
    for (int o = 0; o < 3; ++o)
      for (int k = 0; k < 4; ++k) {
        EXPECT_EQ(d.weight[(i * 3 + o) * 4 + k], static_cast<float>((o * 2 + i) * 4 + k));
      }
  EXPECT_EQ(d.bias, (std::vector<float>{0.5F, -0.5F, 1.0F}));
}

TEST(NcnnZoo, UnpaddedConvolutionsGetAReflectPrePad) {
  TempDir dir;
  // Two valid 3x3 convolutions: N - 4, so the reader pads by 2 in front.
  const Files f = write(dir,
                        {"Input in 0 1 data", "Convolution a 1 1 data x 0=3 1=3 5=1 6=81",
                         "Convolution b 1 1 x out 0=3 1=3 6=81"},
                        cat(cat(cat({0.0F}, ramp(81, -0.2F, 0.005F)), ramp(3, 0.1F, 0.1F)),
                            cat({0.0F}, ramp(81, 0.3F, -0.007F))));
  models::NcnnInfo info;
  const Graph g = models::load_ncnn(f.param, f.bin, &info);
  EXPECT_EQ(info.prepad, 2);
  ASSERT_EQ(g.nodes.front().type, OpType::pad);
  EXPECT_EQ(g.nodes.front().left, 2);
  EXPECT_EQ(g.nodes.front().pad_mode, engine::PadMode::reflect);
  EXPECT_EQ(g.scale, 1);
  EXPECT_GE(g.receptive_radius, 2);
  const Tensor x = pattern(3, 9, 7);
  const Tensor y = engine::make_reference_backend(g)->run(x);
  ASSERT_EQ(y.h, 9);
  ASSERT_EQ(y.w, 7);
  // The same by hand: reflect pad 2, then the two convolutions without padding.
  const Tensor padded = engine::ref::pad(x, g.nodes[0]);
  const Tensor want = engine::ref::conv2d(engine::ref::conv2d(padded, g.nodes[1]), g.nodes[2]);
  EXPECT_EQ(y.data, want.data);

  // An odd shrink cannot be centred: refused with the output's size.
  const Files odd = write(dir, {"Input in 0 1 data", "Convolution a 1 1 data out 0=3 1=2 6=36"},
                          cat({0.0F}, ramp(36, 0, 0.01F)));
  try {
    models::load_ncnn(odd.param, odd.bin);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.problem()).find("is N-1 pixels"), std::string::npos) << e.problem();
  }
}

TEST(NcnnZoo, SqueezeExcitationWithInnerProductAndScale) {
  TempDir dir;
  const Files f = write(dir,
                        {"Input in 0 1 data", "Split s 1 2 data a b", "Pooling p 1 1 b g 0=1 4=1",
                         "InnerProduct f1 1 1 g h 0=2 1=1 2=6 9=1",
                         "InnerProduct f2 1 1 h w 0=3 1=1 2=6 9=4", "Scale sc 2 1 a w out 0=-233"},
                        cat(cat(cat(cat({0.0F}, ramp(6, -0.5F, 0.2F)), {0.1F, -0.1F}),
                                cat({0.0F}, ramp(6, 0.4F, -0.15F))),
                            {0.0F, 0.2F, -0.3F}));
  const Graph g = models::load_ncnn(f.param, f.bin);
  std::vector<OpType> types;
  for (const auto& n : g.nodes) types.push_back(n.type);
  EXPECT_EQ(types, (std::vector<OpType>{OpType::global_avg_pool, OpType::conv2d, OpType::relu,
                                        OpType::conv2d, OpType::sigmoid, OpType::mul}));
  EXPECT_TRUE(engine::has_global_context(g));
  const Tensor x = pattern(3, 5, 6);
  const Tensor y = engine::make_cpu_backend(g, {})->run(x);
  // By hand: m = mean per channel, h = relu(W1 m + b1), s = sigmoid(W2 h + b2), y = x * s.
  double m[3] = {0, 0, 0};
  for (int c = 0; c < 3; ++c) {
    for (std::size_t i = 0; i < x.plane(); ++i) m[c] += x.channel(c)[i];
    m[c] /= static_cast<double>(x.plane());
  }
  const double b1[2] = {0.1, -0.1};
  const double b2[3] = {0.0, 0.2, -0.3};
  double h[2];
  for (int o = 0; o < 2; ++o) {
    h[o] = b1[o];
    for (int i = 0; i < 3; ++i) h[o] += (-0.5 + 0.2 * (o * 3 + i)) * m[i];
    h[o] = std::max(h[o], 0.0);
  }
  for (int c = 0; c < 3; ++c) {
    double s = b2[c];
    for (int i = 0; i < 2; ++i) s += (0.4 - 0.15 * (c * 2 + i)) * h[i];
    s = 1.0 / (1.0 + std::exp(-s));
    for (std::size_t i = 0; i < x.plane(); ++i) {
      EXPECT_NEAR(y.channel(c)[i], x.channel(c)[i] * s, 1e-5);
    }
  }
}

TEST(NcnnZoo, InnerProductNeedsAPooledBlob) {
  TempDir dir;
  const Files f = write(dir, {"Input in 0 1 data", "InnerProduct f 1 1 data out 0=3 2=9"},
                        cat({0.0F}, ramp(9, 0, 1)));
  try {
    models::load_ncnn(f.param, f.bin);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.problem()),
              "line 4: InnerProduct layer f: only inner products on a pooled 1x1 blob (after "
              "global pooling) are supported");
  }
}

}  // namespace
// The structure alone (for listing): the same nodes, scale, channels and recognised structure as
// a full load, no weights, and the parameter count a full load has.
TEST(NcnnZoo, StructureWithoutWeightsMatchesTheLoad) {
  const fs::path zoo = fs::path(HIRES_SOURCE_DIR) / "tests" / "zoo";
  for (const char* stem : {"realcugan_tiny_x2", "realcugan_tiny_x4"}) {
    const fs::path param = zoo / (std::string(stem) + ".param");
    const fs::path bin = zoo / (std::string(stem) + ".bin");
    models::NcnnInfo full;
    models::NcnnInfo bare;
    const Graph g = models::load_ncnn(param, bin, &full);
    const Graph s = models::read_ncnn_structure(param, bin, &bare);
    EXPECT_EQ(bare.structure, models::NcnnStructure::cunet) << stem;
    EXPECT_EQ(bare.structure, full.structure) << stem;
    EXPECT_EQ(bare.prepad, full.prepad) << stem;
    EXPECT_EQ(bare.nearest_skip, full.nearest_skip) << stem;
    EXPECT_EQ(bare.parameters, full.parameters) << stem;
    std::uint64_t weights = 0;
    for (const auto& n : g.nodes) weights += n.weight.size() + n.bias.size() + n.slopes.size();
    EXPECT_EQ(full.parameters, weights) << stem;
    EXPECT_EQ(s.scale, g.scale) << stem;
    EXPECT_EQ(s.in_channels, g.in_channels) << stem;
    EXPECT_EQ(s.out_channels, g.out_channels) << stem;
    ASSERT_EQ(s.nodes.size(), g.nodes.size()) << stem;
    for (std::size_t i = 0; i < s.nodes.size(); ++i) {
      EXPECT_EQ(s.nodes[i].type, g.nodes[i].type) << stem << " node " << i;
      EXPECT_TRUE(s.nodes[i].weight.empty()) << stem << " node " << i;
    }
  }
}

}  // namespace hires
