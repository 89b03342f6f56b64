// Tests for the ncnn model reader: small .param/.bin files written on the fly, and (when ../shared
// is present) the third-party ncnn models.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "engine/backend.hpp"
#include "engine/graph.hpp"
#include "hires/error.hpp"
#include "models/formats/ncnn/layers.hpp"
#include "models/formats/ncnn/reader.hpp"
#include "support/test_support.hpp"

namespace {

namespace fs = std::filesystem;
using hires::Error;
using hires::ErrorKind;
using hires::engine::Graph;
using hires::engine::Node;
using hires::engine::OpType;
using hires::models::load_ncnn;
using hires::test::TempDir;

constexpr std::uint32_t kFp16Tag = 0x01306B47;
constexpr const char* kSupported =
    "supported layer types: BinaryOp, Concat, Convolution, ConvolutionDepthWise, Crop, "
    "Deconvolution, Eltwise, InnerProduct, Input, Interp, Padding, PixelShuffle, Pooling, PReLU, "
    "ReLU, Reorg, Scale, Sigmoid, Split";

// Little-endian .bin contents.
struct Bin {
  std::vector<unsigned char> bytes;

  Bin& u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<unsigned char>(v >> (8 * i)));
    return *this;
  }
  Bin& f32(float v) { return u32(std::bit_cast<std::uint32_t>(v)); }
  Bin& raw(const std::vector<float>& v) {
    for (float x : v) f32(x);
    return *this;
  }
  // A tagged fp32 weight blob.
  Bin& fp32(const std::vector<float>& v) { return u32(0).raw(v); }
  // A tagged fp16 weight blob, padded to 4 bytes.
  Bin& fp16(const std::vector<std::uint16_t>& v) {
    u32(kFp16Tag);
    for (std::uint16_t h : v) {
      bytes.push_back(static_cast<unsigned char>(h & 0xFF));
      bytes.push_back(static_cast<unsigned char>(h >> 8));
    }
    while (bytes.size() % 4 != 0) bytes.push_back(0);
    return *this;
  }
};

std::vector<float> ramp(int n, float start, float step) {
  std::vector<float> v(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = start + step * static_cast<float>(i);
  return v;
}

// A .param text for `layers` (one per line), with the counts line worked out.
std::string param_text(const std::vector<std::string>& layers) {
  int blobs = 0;
  for (const std::string& l : layers) {
    std::istringstream in(l);
    std::string type, name;
    int bottoms = 0, tops = 0;
    in >> type >> name >> bottoms >> tops;
    blobs += tops;
  }
  std::string text =
      "7767517\n" + std::to_string(layers.size()) + " " + std::to_string(blobs) + "\n";
  for (const std::string& l : layers) text += l + "\n";
  return text;
}

void write(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}
void write(const fs::path& p, const std::vector<unsigned char>& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

struct Files {
  fs::path param;
  fs::path bin;
};

Files write_model(const TempDir& dir, const std::vector<std::string>& layers, const Bin& bin,
                  const std::string& stem = "model") {
  Files f{dir / (stem + ".param"), dir / (stem + ".bin")};
  write(f.param, param_text(layers));
  write(f.bin, bin.bytes);
  return f;
}

Graph load(const Files& f) {
  return load_ncnn(f.param, f.bin);
}

// The hires::Error that `f` throws (a test failure when it throws none).
Error error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected a hires::Error";
  return Error(ErrorKind::internal, "", "no error");
}

std::vector<OpType> types(const Graph& g) {
  std::vector<OpType> t;
  for (const Node& n : g.nodes) t.push_back(n.type);
  return t;
}

int count(const Graph& g, OpType t) {
  int c = 0;
  for (const Node& n : g.nodes) c += n.type == t ? 1 : 0;
  return c;
}

const Node& find(const Graph& g, const std::string& name) {
  for (const Node& n : g.nodes) {
    if (n.name == name) return n;
  }
  ADD_FAILURE() << "no node " << name;
  return g.nodes.at(0);
}

// ---- small models ------------------------------------------------------------------------------

TEST(NcnnReader, Fp32ConvolutionWithBiasAndFusedRelu) {
  TempDir dir;
  const auto weights = ramp(54, -0.2F, 0.01F);
  const Files f = write_model(dir,
                              {"Input            in      0 1 data 0=8 1=8 2=3",
                               "Convolution      conv    1 1 data out 0=2 1=3 4=1 5=1 6=54 9=1"},
                              Bin().fp32(weights).raw({0.5F, -1.5F}), "tiny-x1");
  const Graph g = load(f);
  EXPECT_EQ(g.name, "tiny-x1");
  ASSERT_EQ(types(g), (std::vector<OpType>{OpType::conv2d, OpType::relu}));
  const Node& conv = g.nodes[0];
  EXPECT_EQ(conv.name, "conv");
  EXPECT_EQ(conv.inputs, std::vector<int>{0});
  EXPECT_EQ(conv.in_channels, 3);
  EXPECT_EQ(conv.out_channels, 2);
  EXPECT_EQ(conv.kernel, 3);
  EXPECT_EQ(conv.stride, 1);
  EXPECT_EQ(conv.padding, 1);
  EXPECT_EQ(conv.groups, 1);
  EXPECT_EQ(conv.weight, weights);
  EXPECT_EQ(conv.bias, (std::vector<float>{0.5F, -1.5F}));
  EXPECT_EQ(g.nodes[1].name, "conv/relu");
  EXPECT_EQ(g.nodes[1].inputs, std::vector<int>{conv.output});
  EXPECT_EQ(g.input, 0);
  EXPECT_EQ(g.output, g.nodes[1].output);
  EXPECT_EQ(g.num_values, 3);
  EXPECT_EQ(g.scale, 1);
  EXPECT_EQ(g.in_channels, 3);
  EXPECT_EQ(g.out_channels, 2);
  EXPECT_EQ(g.receptive_radius, 1);
  EXPECT_EQ(g.size_multiple, 1);
}

TEST(NcnnReader, Fp16WeightsAreWidenedExactly) {
  TempDir dir;
  // a: 3 halves (6 bytes + 2 of padding) then an fp32 bias; b: 6 halves, no padding, no bias.
  const Files f = write_model(dir,
                              {"Input in 0 1 data", "Convolution a 1 1 data x 0=1 1=1 5=1 6=3",
                               "Convolution b 1 1 x y 0=6 1=1 6=6"},
                              Bin()
                                  .fp16({0x3C00, 0xC100, 0x7BFF})
                                  .raw({0.25F})
                                  .fp16({0x0001, 0x03FF, 0x8000, 0x7C00, 0xFC00, 0x7E00}));
  const Graph g = load(f);
  ASSERT_EQ(g.nodes.size(), 2U);
  const Node& a = g.nodes[0];
  EXPECT_EQ(a.weight, (std::vector<float>{1.0F, -2.5F, 65504.0F}));
  EXPECT_EQ(a.bias, std::vector<float>{0.25F});
  const std::vector<float>& w = g.nodes[1].weight;
  ASSERT_EQ(w.size(), 6U);
  EXPECT_EQ(w[0], std::ldexp(1.0F, -24));     // smallest subnormal
  EXPECT_EQ(w[1], std::ldexp(1023.0F, -24));  // largest subnormal
  EXPECT_EQ(w[2], 0.0F);
  EXPECT_TRUE(std::signbit(w[2]));  // -0 keeps its sign
  EXPECT_TRUE(std::isinf(w[3]) && w[3] > 0);
  EXPECT_TRUE(std::isinf(w[4]) && w[4] < 0);
  EXPECT_TRUE(std::isnan(w[5]));
  EXPECT_EQ(g.in_channels, 3);
  EXPECT_EQ(g.out_channels, 6);
}

// The shape of realesr-general-x4v3 in miniature: Split, conv + PReLU, pixel shuffle, a nearest
// upsampled skip and an add.
TEST(NcnnReader, CompactNetWithPixelShuffleAndNearestSkip) {
  TempDir dir;
  std::vector<std::uint16_t> w0(108, 0x3800);  // 0.5
  std::vector<std::uint16_t> w2(432, 0xB400);  // -0.25
  const Files f =
      write_model(dir,
                  {"Input            input.1           0 1 data",
                   "Split            splitncnn_input0  1 2 data d0 d1",
                   "Convolution      Conv_0            1 1 d1 c0 0=4 1=3 4=1 5=1 6=108",
                   "PReLU            PRelu_1           1 1 c0 p0 0=4",
                   "Convolution      Conv_2            1 1 p0 c1 0=12 1=3 4=1 5=1 6=432",
                   "PixelShuffle     DepthToSpace_3    1 1 c1 ps 0=2",
                   "Interp           Resize_4          1 1 d0 up 0=1 1=2.000000e+00 2=2.000000e+00",
                   "BinaryOp         Add_5             2 1 ps up output"},
                  Bin()
                      .fp16(w0)
                      .raw({1, 2, 3, 4})
                      .raw({0.1F, 0.2F, 0.3F, 0.4F})
                      .fp16(w2)
                      .raw(ramp(12, 0.0F, 1.0F)));
  const Graph g = load(f);
  ASSERT_EQ(types(g),
            (std::vector<OpType>{OpType::conv2d, OpType::prelu, OpType::conv2d,
                                 OpType::pixel_shuffle, OpType::upsample_nearest, OpType::add}));
  const Node& conv0 = find(g, "Conv_0");
  const Node& prelu = find(g, "PRelu_1");
  const Node& conv2 = find(g, "Conv_2");
  const Node& ps = find(g, "DepthToSpace_3");
  const Node& up = find(g, "Resize_4");
  const Node& add = find(g, "Add_5");
  EXPECT_EQ(conv0.inputs, std::vector<int>{0});
  EXPECT_EQ(conv0.weight, std::vector<float>(108, 0.5F));
  EXPECT_EQ(prelu.inputs, std::vector<int>{conv0.output});
  EXPECT_EQ(prelu.slopes, (std::vector<float>{0.1F, 0.2F, 0.3F, 0.4F}));
  EXPECT_EQ(conv2.inputs, std::vector<int>{prelu.output});
  EXPECT_EQ(conv2.in_channels, 4);
  EXPECT_EQ(conv2.weight, std::vector<float>(432, -0.25F));
  EXPECT_EQ(conv2.bias, ramp(12, 0.0F, 1.0F));
  EXPECT_EQ(ps.factor, 2);
  EXPECT_EQ(up.inputs, std::vector<int>{0});  // the Split's other top is the input itself
  EXPECT_EQ(up.factor, 2);
  EXPECT_EQ(add.inputs, (std::vector<int>{ps.output, up.output}));
  EXPECT_EQ(g.output, add.output);
  EXPECT_EQ(g.scale, 2);
  EXPECT_EQ(g.in_channels, 3);
  EXPECT_EQ(g.out_channels, 3);
  EXPECT_EQ(g.receptive_radius, 2);
  EXPECT_EQ(g.size_multiple, 1);
}

TEST(NcnnReader, ReorgAndStridesSetScaleAndSizeMultiple) {
  TempDir dir;
  {
    // Reorg 2 (3 -> 12 channels at N/2), conv, shuffle 4: scale 2; the input channel count is
    // learnt through the Reorg.
    const Files f = write_model(
        dir,
        {"Input in 0 1 data", "Reorg down 1 1 data u 0=2",
         "Convolution conv 1 1 u v 0=48 1=3 4=1 6=5184", "PixelShuffle ps 1 1 v out 0=4"},
        Bin().fp32(std::vector<float>(5184, 0.125F)), "reorg");
    const Graph g = load(f);
    ASSERT_EQ(types(g), (std::vector<OpType>{OpType::pixel_unshuffle, OpType::conv2d,
                                             OpType::pixel_shuffle}));
    EXPECT_EQ(g.nodes[0].factor, 2);
    EXPECT_EQ(g.nodes[1].in_channels, 12);
    EXPECT_EQ(g.scale, 2);
    EXPECT_EQ(g.size_multiple, 2);
    EXPECT_EQ(g.in_channels, 3);
    EXPECT_EQ(g.out_channels, 3);
    // unshuffle reaches 1, a 3x3 conv at half size 2 more; rounded up to the size multiple so
    // that tiles keep the pixel phase of the whole image
    EXPECT_EQ(g.receptive_radius, 4);
  }
  {
    const Files f = write_model(
        dir,
        {"Input in 0 1 data", "Convolution down 1 1 data a 0=4 1=3 3=2 4=1 6=108",
         "Convolution down2 1 1 a b 0=4 1=2 3=2 6=64",
         "Convolution up 1 1 b c 0=192 1=3 4=1 6=6912", "PixelShuffle ps 1 1 c out 0=8"},
        Bin().fp32(ramp(108, 0, 1)).fp32(ramp(64, 0, 1)).fp32(ramp(6912, 0, 1)), "strided");
    const Graph g = load(f);
    EXPECT_EQ(g.nodes[0].stride, 2);
    EXPECT_EQ(g.nodes[0].padding, 1);
    EXPECT_EQ(g.nodes[1].stride, 2);
    EXPECT_EQ(g.nodes[1].kernel, 2);
    EXPECT_EQ(g.nodes[1].padding, 0);
    EXPECT_EQ(g.scale, 2);
    EXPECT_EQ(g.size_multiple, 4);
  }
}

TEST(NcnnReader, PaddingPoolingSqueezeCropEltwiseAndScalars) {
  TempDir dir;
  const Files f = write_model(
      dir,
      {"Input in 0 1 data", "Padding pad 1 1 data p 0=2 1=2 2=2 3=2 4=2",
       "Convolution conv 1 1 p c 0=6 1=3 6=162 9=2 -23310=1,1.000000e-01",
       "ConvolutionDepthWise dw 1 1 c d 0=6 1=3 4=1 5=1 6=54 7=6", "Split sp 1 2 d d0 d1",
       "Pooling gap 1 1 d0 g 0=1 4=1", "Sigmoid sig 1 1 g s", "BinaryOp se 2 1 s d1 m 0=2",
       "Crop crop 1 1 m k -23309=2,1,1 -23310=2,-1,-1 -23311=2,-2,-1",
       "Convolution last 1 1 k l 0=3 1=3 4=1 6=162", "Eltwise sum 3 1 l data data e 0=1",
       "BinaryOp half 1 1 e h 0=2 1=1 2=5.000000e-01",
       "BinaryOp shift 1 1 h output 0=1 1=1 2=2.500000e-01"},
      Bin()
          .fp32(ramp(162, 0, 0.5F))
          .fp32(ramp(54, 1, 0.5F))
          .raw(ramp(6, 0, 1))
          .fp32(ramp(162, -1, 0.25F)));
  const Graph g = load(f);
  ASSERT_EQ(types(g), (std::vector<OpType>{OpType::pad, OpType::conv2d, OpType::leaky_relu,
                                           OpType::conv2d, OpType::global_avg_pool, OpType::sigmoid,
                                           OpType::mul, OpType::crop, OpType::conv2d, OpType::add,
                                           OpType::add, OpType::scale_shift, OpType::scale_shift}));
  const Node& pad = g.nodes[0];
  EXPECT_EQ(pad.pad_mode, hires::engine::PadMode::reflect);
  EXPECT_EQ(pad.top + pad.bottom + pad.left + pad.right, 8);
  EXPECT_EQ(g.nodes[1].padding, 0);
  EXPECT_FLOAT_EQ(g.nodes[2].alpha, 0.1F);
  const Node& dw = g.nodes[3];
  EXPECT_EQ(dw.groups, 6);
  EXPECT_EQ(dw.in_channels, 6);
  EXPECT_EQ(dw.bias, ramp(6, 0, 1));
  const Node& mul = g.nodes[6];
  EXPECT_EQ(mul.inputs, (std::vector<int>{dw.output, g.nodes[5].output}));  // pooled one second
  const Node& crop = g.nodes[7];
  EXPECT_EQ(crop.top, 1);
  EXPECT_EQ(crop.bottom, 1);
  EXPECT_EQ(crop.left, 1);
  EXPECT_EQ(crop.right, 1);
  const Node& add1 = g.nodes[9];
  const Node& add2 = g.nodes[10];
  EXPECT_EQ(add1.inputs, (std::vector<int>{g.nodes[8].output, 0}));
  EXPECT_EQ(add2.inputs, (std::vector<int>{add1.output, 0}));
  EXPECT_EQ(g.nodes[11].scale, 0.5F);
  EXPECT_EQ(g.nodes[11].shift, 0.0F);
  EXPECT_EQ(g.nodes[12].scale, 1.0F);
  EXPECT_EQ(g.nodes[12].shift, -0.25F);  // 0=1: subtract the scalar
  EXPECT_EQ(g.output, g.nodes[12].output);
  EXPECT_EQ(g.scale, 1);
  EXPECT_EQ(g.out_channels, 3);
  // Global pooling sees everything: the graph says so, the radius covers the local ops only.
  EXPECT_TRUE(hires::engine::has_global_context(g));
  EXPECT_LT(g.receptive_radius, 100);
}

TEST(NcnnReader, ConcatCropsReplicatePadAndBilinear) {
  TempDir dir;
  const Files f = write_model(
      dir,
      {"Input in 0 1 data", "Split sp 1 3 data a b c", "ReLU r 1 1 a ra 0=2.000000e-01",
       "ReLU plain 1 1 c rc", "Concat cat 2 1 ra b cat 0=0",
       "Padding pad 1 1 cat padded 0=1 1=3 2=2 3=0 4=1",
       "Crop crop1 1 1 padded cropped 0=2 1=1 3=-233 4=-233 5=-233 6=0 7=3",
       "Crop crop2 2 1 padded cropped aligned 0=2 1=1", "Eltwise prod 2 1 cropped aligned pr 0=0",
       "Convolution conv 1 1 pr co 0=3 1=1 6=18",
       "Interp up 1 1 co output 0=2 1=3.000000e+00 2=3.000000e+00"},
      Bin().fp32(ramp(18, 0, 1)));
  const Graph g = load(f);
  ASSERT_EQ(types(g), (std::vector<OpType>{OpType::leaky_relu, OpType::relu, OpType::concat,
                                           OpType::pad, OpType::crop, OpType::crop, OpType::mul,
                                           OpType::conv2d, OpType::upsample_bilinear}));
  EXPECT_FLOAT_EQ(g.nodes[0].alpha, 0.2F);
  EXPECT_EQ(g.nodes[2].inputs, (std::vector<int>{g.nodes[0].output, 0}));
  const Node& pad = g.nodes[3];
  EXPECT_EQ(pad.pad_mode, hires::engine::PadMode::replicate);
  EXPECT_EQ((std::vector<int>{pad.top, pad.bottom, pad.left, pad.right}),
            (std::vector<int>{1, 3, 2, 0}));
  for (int i : {4, 5}) {  // offsets, and cropping to the reference's size, undo the padding
    const Node& c = g.nodes[static_cast<std::size_t>(i)];
    EXPECT_EQ((std::vector<int>{c.top, c.bottom, c.left, c.right}), (std::vector<int>{1, 3, 2, 0}))
        << c.name;
  }
  EXPECT_EQ(g.nodes[7].in_channels, 6);
  EXPECT_EQ(g.nodes[8].factor, 3);
  EXPECT_EQ(g.scale, 3);
  EXPECT_EQ(g.in_channels, 3);
  EXPECT_EQ(g.out_channels, 3);
}

// Runs loaded graphs on the reference backend: ncnn's weight layout is [out][in][kh][kw] (a 1 at
// kh=0, kw=1 picks the pixel above), and Reorg followed by PixelShuffle is the identity.
TEST(NcnnReader, RunsOnTheReferenceBackend) {
  TempDir dir;
  const Files f =
      write_model(dir,
                  {"Input in 0 1 data 2=1", "Split sp 1 2 data a b",
                   "Convolution up 1 1 a y 0=1 1=3 4=1 5=1 6=9", "Reorg r 1 1 b u 0=2",
                   "PixelShuffle ps 1 1 u back 0=2", "BinaryOp twice 1 1 back t 0=2 1=1 2=2.0",
                   "BinaryOp add 2 1 y t output 0=0"},
                  Bin().fp16({0, 0x3C00, 0, 0, 0, 0, 0, 0, 0}).raw({0.5F}));
  const Graph g = load(f);
  EXPECT_EQ(g.in_channels, 1);
  EXPECT_EQ(g.size_multiple, 2);
  hires::engine::Tensor x(1, 4, 6);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 6; ++j) x.at(0, i, j) = static_cast<float>(10 * i + j);
  const hires::engine::Tensor y = hires::engine::make_reference_backend(g)->run(x);
  ASSERT_EQ(y.c, 1);
  ASSERT_EQ(y.h, 4);
  ASSERT_EQ(y.w, 6);
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 6; ++j) {
      const float above = i > 0 ? x.at(0, i - 1, j) : 0.0F;
      EXPECT_EQ(y.at(0, i, j), above + 0.5F + 2.0F * x.at(0, i, j)) << i << "," << j;
    }
  }
}

// ---- errors -------------------------------------------------------------------------------------

TEST(NcnnReaderErrors, UnknownLayerTypeNamesTypeLayerAndSupportedTypes) {
  TempDir dir;
  const Files f = write_model(
      dir, {"Input in 0 1 data", "DeconvolutionDepthWise deconv 1 1 data out 0=3 1=4 3=2 6=48"},
      Bin().fp32(ramp(48, 0, 1)));
  const Error e = error_of([&] { load(f); });
  EXPECT_EQ(e.kind(), ErrorKind::input);
  EXPECT_EQ(e.subject(), f.param.string());
  EXPECT_EQ(e.problem(), "line 4: layer deconv has unsupported type DeconvolutionDepthWise");
  EXPECT_EQ(e.hint(), kSupported);
  EXPECT_EQ(std::string(e.what()),
            f.param.string() +
                ": line 4: layer deconv has unsupported type DeconvolutionDepthWise (" +
                kSupported + ")");
}

TEST(NcnnReaderErrors, TruncatedBin) {
  TempDir dir;
  const std::vector<std::string> layers = {"Input in 0 1 data",
                                           "Convolution conv 1 1 data out 0=2 1=1 5=1 6=6"};
  Bin bin = Bin().fp32(ramp(6, 0, 1)).raw({1, 2});
  bin.bytes.resize(bin.bytes.size() - 6);
  const Files f = write_model(dir, layers, bin);
  const Error e = error_of([&] { load(f); });
  EXPECT_EQ(e.kind(), ErrorKind::input);
  EXPECT_EQ(e.subject(), f.bin.string());
  EXPECT_EQ(e.problem(), "truncated: layer conv needs 6 more bytes");

  // Not even the tag: the shortfall is at least the tag and the weights as fp16, and the bias.
  const Files empty = write_model(dir, layers, Bin(), "empty");
  EXPECT_EQ(error_of([&] { load(empty); }).problem(),
            "truncated: layer conv needs at least 24 more bytes");

  // PReLU slopes are raw fp32.
  const Files slopes = write_model(dir, {"Input in 0 1 data", "PReLU pr 1 1 data out 0=3"},
                                   Bin().raw({0.1F, 0.2F}), "slopes");
  EXPECT_EQ(error_of([&] { load(slopes); }).problem(), "truncated: layer pr needs 4 more bytes");
}

TEST(NcnnReaderErrors, TrailingBytes) {
  TempDir dir;
  const Files f = write_model(dir, {"Input in 0 1 data", "PReLU pr 1 1 data out 0=1"},
                              Bin().raw({0.1F, 0.2F, 0.3F}));
  const Error e = error_of([&] { load(f); });
  EXPECT_EQ(e.subject(), f.bin.string());
  EXPECT_EQ(e.problem(), "8 bytes left over after the last layer's weights");
}

TEST(NcnnReaderErrors, BadMagicAndBadHeader) {
  TempDir dir;
  const fs::path param = dir / "bad.param";
  const fs::path bin = dir / "bad.bin";
  write(bin, std::string());
  write(param, "7767518\n1 1\nInput in 0 1 data\n");
  Error e = error_of([&] { load_ncnn(param, bin); });
  EXPECT_EQ(e.kind(), ErrorKind::input);
  EXPECT_EQ(e.subject(), param.string());
  EXPECT_EQ(e.problem(),
            "line 1: not an ncnn .param file (expected the magic number 7767517, found '7767518')");

  write(param, "7767517\n2 1\nInput in 0 1 data\n");
  EXPECT_EQ(error_of([&] { load_ncnn(param, bin); }).problem(),
            "declares 2 layers on line 2 but has 1");

  write(param, "7767517\n1 1\nInput in 0 x data\n");
  EXPECT_EQ(error_of([&] { load_ncnn(param, bin); }).problem(),
            "line 3: layer in: bad bottom/top counts '0 x'");
}

TEST(NcnnReaderErrors, UnsupportedWeightTags) {
  TempDir dir;
  const std::vector<std::string> layers = {"Input in 0 1 data",
                                           "Convolution conv 1 1 data out 0=1 1=1 6=3"};
  const Files int8 = write_model(dir, layers, Bin().u32(0x000D4B38).u32(0x01020304), "int8");
  Error e = error_of([&] { load(int8); });
  EXPECT_EQ(e.kind(), ErrorKind::input);
  EXPECT_EQ(e.subject(), int8.bin.string());
  EXPECT_EQ(e.problem(), "layer conv: int8-quantized weights (tag 0x000D4B38) are not supported");

  const Files other = write_model(dir, layers, Bin().u32(0x12345678).raw({1, 2, 3}), "other");
  EXPECT_EQ(error_of([&] { load(other); }).problem(),
            "layer conv: unsupported weight storage tag 0x12345678 at byte 0 (only fp32 (0) and "
            "fp16 (0x01306B47) are supported)");
}

TEST(NcnnReaderErrors, MissingFiles) {
  TempDir dir;
  const Files f = write_model(dir, {"Input in 0 1 data"}, Bin());
  const fs::path nowhere = dir / "nowhere.param";
  Error e = error_of([&] { load_ncnn(nowhere, f.bin); });
  EXPECT_EQ(e.kind(), ErrorKind::input);
  EXPECT_EQ(e.subject(), nowhere.string());
  EXPECT_EQ(e.problem(), "file not found");

  const fs::path no_bin = dir / "nowhere.bin";
  e = error_of([&] { load_ncnn(f.param, no_bin); });
  EXPECT_EQ(e.subject(), no_bin.string());
  EXPECT_EQ(e.problem(), "file not found");

  e = error_of([&] { load_ncnn(dir.path(), f.bin); });
  EXPECT_EQ(e.problem(), "is a folder, not a file");
}

// A .bin (or .param) that is a FIFO or a device such as /dev/zero once waited forever or grew
// without bound; it is refused before it is read, by the load and by the structure reading.
TEST(NcnnHostile, SpecialFilesAreRefusedBeforeReading) {
  TempDir dir;
  const Files f = write_model(dir, {"Input in 0 1 data"}, Bin());
  const fs::path zero = dir / "zero.bin";
  fs::create_symlink("/dev/zero", zero);
  const fs::path fifo = dir / "fifo.bin";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const fs::path& bin : {zero, fifo}) {
    for (int structure_only = 0; structure_only < 2; ++structure_only) {
      const Error e = error_of([&] {
        structure_only != 0 ? hires::models::read_ncnn_structure(f.param, bin)
                            : load_ncnn(f.param, bin);
      });
      EXPECT_EQ(e.subject(), bin.string());
      EXPECT_EQ(e.problem(), "is not a regular file (a FIFO, device or socket)");
    }
  }
  const Error e = error_of([&] { load_ncnn(zero, f.bin); });
  EXPECT_EQ(e.subject(), zero.string());
  EXPECT_EQ(e.problem(), "is not a regular file (a FIFO, device or socket)");
}

TEST(NcnnReaderErrors, BadWiringAndShapes) {
  TempDir dir;
  // A blob nobody produces.
  Files f = write_model(dir, {"Input in 0 1 data", "Sigmoid s 1 1 nope out"}, Bin(), "wiring");
  EXPECT_EQ(error_of([&] { load(f); }).problem(),
            "line 4: Sigmoid layer s: reads blob 'nope', which no earlier layer produces");

  // An unpadded 3x3 conv shrinks the image by 2: it cannot be added to the input.
  f = write_model(dir,
                  {"Input in 0 1 data", "Split sp 1 2 data a b",
                   "Convolution conv 1 1 a c 0=3 1=3 6=81", "BinaryOp add 2 1 c b out 0=0"},
                  Bin().fp32(ramp(81, 0, 1)), "shrink");
  EXPECT_EQ(error_of([&] { load(f); }).problem(),
            "line 6: BinaryOp layer add: inputs differ in size (N-2 and N)");

  // Channel counts must chain.
  f = write_model(dir,
                  {"Input in 0 1 data", "Convolution a 1 1 data x 0=4 1=1 6=12",
                   "Convolution b 1 1 x y 0=1 1=1 6=5"},
                  Bin().fp32(ramp(12, 0, 1)).fp32(ramp(5, 0, 1)), "channels");
  EXPECT_EQ(error_of([&] { load(f); }).problem(),
            "line 5: Convolution layer b: expects 5 input channels but its input has 4");

  // A net that halves the image has no whole-number scale.
  f = write_model(dir, {"Input in 0 1 data", "Reorg r 1 1 data out 0=2"}, Bin(), "half");
  EXPECT_EQ(error_of([&] { load(f); }).problem(),
            "output blob 'out' is 1/2*N pixels for an input of N; only whole-number scales "
            "(output = scale*N, or scale*(N + 2P) - 2*scale*P for a net of unpadded "
            "convolutions) are supported");
}

TEST(NcnnReaderErrors, UnsupportedParameters) {
  TempDir dir;
  const auto problem = [&](const std::string& layer, const Bin& bin) {
    const Files f = write_model(dir, {"Input in 0 1 data", layer}, bin, "params");
    return error_of([&] { load(f); }).problem();
  };
  EXPECT_EQ(problem("Convolution conv 1 1 data out 0=1 1=3 2=2 4=2 6=27", Bin()),
            "line 4: Convolution layer conv: dilation 2x2 is not supported");
  EXPECT_EQ(problem("Convolution conv 1 1 data out 0=1 1=3 4=1 15=0 6=27", Bin()),
            "line 4: Convolution layer conv: padding left=1 top=1 right=0 bottom=1 is not "
            "supported (symmetric padding only)");
  EXPECT_EQ(problem("Convolution conv 1 1 data out 0=1 1=3 4=1 6=27 9=5", Bin()),
            "line 4: Convolution layer conv: mish activation (9=5) is not supported");
  EXPECT_EQ(problem("Interp up 1 1 data out 0=3 1=2.0 2=2.0", Bin()),
            "line 4: Interp layer up: resize_type 0=3 is not supported (1 nearest, 2 bilinear "
            "are)");
  EXPECT_EQ(problem("Interp up 1 1 data out 0=1 1=2.0 2=3.0", Bin()),
            "line 4: Interp layer up: scales 2x3 are not supported (equal whole numbers only)");
  EXPECT_EQ(problem("Pooling pool 1 1 data out 0=0 4=1", Bin()),
            "line 4: Pooling layer pool: only global average pooling (0=1 4=1) is supported");
  EXPECT_EQ(problem("Crop crop 1 1 data out 0=1 1=1 3=16 4=16 5=-233", Bin()),
            "line 4: Crop layer crop: cropping to a fixed size (3=16, 4=16) is not supported");
  EXPECT_EQ(problem("Reorg r 1 1 data out 0=2 1=1", Bin()),
            "line 4: Reorg layer r: mode 1 (TensorFlow space_to_depth channel order) is not "
            "supported");
  EXPECT_EQ(problem("BinaryOp b 1 1 data out 0=4 1=1 2=1.0", Bin()),
            "line 4: BinaryOp layer b: max with a scalar is not supported (add, sub, mul, div, "
            "rsub are)");
}

// ---- third-party models (../shared) -------------------------------------------------------------

int count_layers(const fs::path& param, const std::string& type) {
  std::ifstream in(param);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string first;
    words >> first;
    n += first == type ? 1 : 0;
  }
  return n;
}

void expect_finite_weights(const Graph& g) {
  for (const Node& n : g.nodes) {
    for (float w : n.weight) ASSERT_TRUE(std::isfinite(w)) << n.name;
    for (float w : n.bias) ASSERT_TRUE(std::isfinite(w)) << n.name;
    for (float w : n.slopes) ASSERT_TRUE(std::isfinite(w)) << n.name;
  }
}

TEST(NcnnShared, RealEsrGeneralX4v3) {
  HIRES_REQUIRE_SHARED(dir, "models/realesr-general-x4v3-ncnn");
  const fs::path param = dir / "realesr-general-x4v3.param";
  const Graph g = load_ncnn(param, dir / "realesr-general-x4v3.bin");
  EXPECT_EQ(g.name, "realesr-general-x4v3");
  EXPECT_EQ(g.scale, 4);
  // SRVGGNetCompact: a first conv, 32 body convs, a last conv; a PReLU after all but the last.
  EXPECT_EQ(count_layers(param, "Convolution"), 34);
  EXPECT_EQ(count(g, OpType::conv2d), 34);
  EXPECT_EQ(count(g, OpType::prelu), 33);
  EXPECT_EQ(count(g, OpType::pixel_shuffle), 1);
  EXPECT_EQ(count(g, OpType::upsample_nearest), 1);
  EXPECT_EQ(count(g, OpType::add), 1);
  EXPECT_EQ(g.nodes.size(), 70U);
  EXPECT_EQ(g.in_channels, 3);
  EXPECT_EQ(g.out_channels, 3);
  EXPECT_EQ(g.size_multiple, 1);
  EXPECT_EQ(g.receptive_radius, 34);
  EXPECT_EQ(g.nodes.front().in_channels, 3);
  EXPECT_EQ(g.nodes.front().out_channels, 64);
  EXPECT_EQ(g.nodes.back().type, OpType::add);
  EXPECT_EQ(g.output, g.nodes.back().output);
  expect_finite_weights(g);
}

TEST(NcnnShared, RealEsrAnimeVideoV3X4) {
  HIRES_REQUIRE_SHARED(dir, "models/realesr-animevideov3");
  const Graph g =
      load_ncnn(dir / "realesr-animevideov3-x4.param", dir / "realesr-animevideov3-x4.bin");
  EXPECT_EQ(g.scale, 4);
  EXPECT_EQ(count(g, OpType::conv2d), 18);
  EXPECT_EQ(count(g, OpType::prelu), 17);
  EXPECT_EQ(count(g, OpType::pixel_shuffle), 1);
  EXPECT_EQ(count(g, OpType::upsample_nearest), 1);
  EXPECT_EQ(count(g, OpType::add), 1);
  EXPECT_EQ(g.in_channels, 3);
  EXPECT_EQ(g.out_channels, 3);
  EXPECT_EQ(g.receptive_radius, 18);
  expect_finite_weights(g);
}

// waifu2x and Real-CUGAN (Deconvolution, InnerProduct, Scale, unpadded convolutions) load at
// their scale; tests/zoo/test_waifu2x_cugan.cpp checks what they compute.
TEST(NcnnShared, Waifu2xAndRealCuganLoad) {
  HIRES_REQUIRE_SHARED(models, "models");
  struct Case {
    std::string stem;     // under models/
    std::string outcome;  // "loads xN" or the exact problem text
  };
  const std::vector<Case> cases = {
      {"waifu2x-ncnn/noise1_scale2.0x_model", "loads x2"},
      {"waifu2x-ncnn/upconv7-photo/scale2.0x_model", "loads x2"},
      {"waifu2x-ncnn/upconv7-photo/noise0_scale2.0x_model", "loads x2"},
      {"realcugan-ncnn/up2x-conservative", "loads x2"},
      {"realcugan-ncnn/up4x-conservative", "loads x4"},
  };
  for (const Case& c : cases) {
    const fs::path param = models / (c.stem + ".param");
    const fs::path bin = models / (c.stem + ".bin");
    if (!fs::exists(param)) {
      std::cout << "[ info     ] " << c.stem << ": absent, skipped\n";
      continue;
    }
    std::string outcome;
    try {
      const Graph g = load_ncnn(param, bin);
      outcome = "loads x" + std::to_string(g.scale);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::input);
      EXPECT_EQ(e.subject(), param.string());
      EXPECT_EQ(e.hint(), kSupported);
      outcome = e.problem();
    }
    std::cout << "[ info     ] " << c.stem << ": " << outcome << "\n";
    EXPECT_EQ(outcome, c.outcome) << c.stem;
  }
}

}  // namespace

namespace {

// A PReLU with 2 slopes before a convolution that reads 3 channels: the reader cannot tell the
// channel count at the PReLU, so engine::validate catches it (both backends once read past the
// slopes).
TEST(NcnnHostile, PreluWithFewerSlopesThanChannelsIsAClearError) {
  TempDir dir;
  const Files f = write_model(dir,
                              {"Input in 0 1 data", "PReLU pr 1 1 data p 0=2",
                               "Convolution conv 1 1 p out 0=3 1=1 5=1 6=9"},
                              Bin().raw({0.1F, 0.2F}).fp32(ramp(9, 0, 1)).raw({0, 0, 0}));
  const Error e = error_of([&] { load(f); });
  EXPECT_EQ(e.kind(), ErrorKind::input);
  EXPECT_EQ(std::string(e.what()),
            "model 'model': node 'pr' (prelu): has 2 slopes but its input has 3 channels (the "
            "model file is inconsistent)");
}

// A chain of Concat layers doubles the channel count each time: past 2^40 it is an error naming
// the layer, not a signed overflow.
TEST(NcnnHostile, ConcatChainOverflowIsAClearError) {
  TempDir dir;
  std::vector<std::string> layers = {"Input in 0 1 c0"};
  for (int i = 0; i < 70; ++i) {
    layers.push_back(fmt::format("Split s{} 1 2 c{} a{} b{}", i, i, i, i));
    layers.push_back(fmt::format("Concat k{} 2 1 a{} b{} c{}", i, i, i, i + 1));
  }
  const Files f = write_model(dir, layers, Bin());
  const Error e = error_of([&] { load(f); });
  EXPECT_EQ(e.kind(), ErrorKind::input);
  EXPECT_EQ(e.subject(), f.param.string());
  EXPECT_EQ(e.problem(), "line 85: Concat layer k40: its channel count or size overflows")
      << e.what();
}

// The one table of layer translators is the supported list: in name order (case-insensitive),
// each name once, each found by its name, and exactly what an unknown layer's hint lists.
TEST(NcnnLayerTable, IsTheSupportedList) {
  namespace ncnn = hires::models::ncnn;
  std::vector<std::string> names;
  for (const auto& t : ncnn::layer_types()) {
    EXPECT_EQ(ncnn::find_translator(t.name), t.translate) << t.name;
    names.emplace_back(t.name);
  }
  auto lower = names;
  for (auto& n : lower) std::transform(n.begin(), n.end(), n.begin(), ::tolower);
  EXPECT_TRUE(std::is_sorted(lower.begin(), lower.end()));
  EXPECT_EQ(std::adjacent_find(lower.begin(), lower.end()), lower.end());
  EXPECT_EQ("supported layer types: " + ncnn::supported_layer_types(), kSupported);
  EXPECT_EQ(ncnn::find_translator("LSTM"), nullptr);
  EXPECT_EQ(ncnn::find_translator("relu"), nullptr) << "names are case-sensitive, as in ncnn";
}

}  // namespace
