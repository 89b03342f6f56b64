// The Winograd F(4x4,3x3) convolution (engine/winograd.hpp) against the reference loops: odd sizes,
// channel counts that are not multiples of 8, every fused activation, every kernel the CPU runs
// (portable, AVX2/FMA, AVX-512, called directly), and the cpu backend's use of it (fusion, the
// HIRES_NO_WINOGRAD / HIRES_NO_SIMD / HIRES_NO_AVX512 switches, describe()).
//
// Tolerance: 1e-4 absolute, as the other op tests. Measured worst errors vs the (fp32) reference on
// 64x64 images, inputs U(-1,1), weights N(0,0.3): 7e-6 (8 channels), 2.5e-5 (64), 3e-5 (67),
// 4.3e-5 (128) for outputs up to ~20-30 in magnitude; no relative bound was needed up to 128.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>

#include "engine/backend.hpp"
#include "engine/ops_reference.hpp"
#include "engine/winograd.hpp"
#include "hires/error.hpp"
#include "models/srvgg.hpp"

namespace hires::engine {
namespace {

Tensor uniform_tensor(int c, int h, int w, unsigned seed, float lo = -1.0F, float hi = 1.0F) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  Tensor t(c, h, w);
  for (float& v : t.data) v = d(rng);
  return t;
}

std::vector<float> normal_vector(std::size_t n, unsigned seed, float sigma) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0F, sigma);
  std::vector<float> v(n);
  for (float& f : v) f = d(rng);
  return v;
}

Node conv3x3(int in_c, int out_c, bool bias, unsigned seed) {
  Node n;
  n.type = OpType::conv2d;
  n.name = "conv";
  n.in_channels = in_c;
  n.out_channels = out_c;
  n.kernel = 3;
  n.stride = 1;
  n.padding = 1;
  n.weight = normal_vector(static_cast<std::size_t>(out_c) * in_c * 9, seed, 0.3F);
  if (bias) n.bias = normal_vector(static_cast<std::size_t>(out_c), seed + 1, 0.1F);
  return n;
}

// An activation node (or none) for a conv with `channels` outputs.
enum class Act { none, relu, leaky, prelu, prelu_shared };
const char* act_name(Act a) {
  switch (a) {
    case Act::none:
      return "none";
    case Act::relu:
      return "relu";
    case Act::leaky:
      return "leaky_relu(0.2)";
    case Act::prelu:
      return "prelu(per-channel)";
    case Act::prelu_shared:
      return "prelu(shared)";
  }
  return "?";
}
std::optional<Node> act_node(Act a, int channels, unsigned seed) {
  Node n;
  n.name = act_name(a);
  switch (a) {
    case Act::none:
      return std::nullopt;
    case Act::relu:
      n.type = OpType::relu;
      break;
    case Act::leaky:
      n.type = OpType::leaky_relu;
      n.alpha = 0.2F;
      break;
    case Act::prelu:
      n.type = OpType::prelu;
      n.slopes = normal_vector(static_cast<std::size_t>(channels), seed, 0.3F);
      break;
    case Act::prelu_shared:
      n.type = OpType::prelu;
      n.slopes = {-0.15F};
      break;
  }
  return n;
}

// Every kernel this CPU runs (called directly, whatever the environment says).
std::vector<winograd::Kernel> kernels() {
  std::vector<winograd::Kernel> k{winograd::Kernel::portable};
  if (winograd::cpu_has_avx2_fma()) k.push_back(winograd::Kernel::avx2_fma);
  if (winograd::cpu_has_avx512()) k.push_back(winograd::Kernel::avx512);
  return k;
}

struct Diff {
  float max_abs = 0.0F;
  std::size_t at = 0;
  bool shape_ok = true;
};
Diff compare(const Tensor& got, const Tensor& want) {
  Diff d;
  if (got.c != want.c || got.h != want.h || got.w != want.w) {
    d.shape_ok = false;
    return d;
  }
  for (std::size_t i = 0; i < got.size(); ++i) {
    const float e = std::fabs(got.data[i] - want.data[i]);
    if (!(e <= d.max_abs)) {  // also catches NaN
      d.max_abs = std::isnan(e) ? INFINITY : e;
      d.at = i;
    }
  }
  return d;
}

constexpr float kTol = 1e-4F;

TEST(Winograd, MatchesReferenceOnOddSizesChannelsActivationsAndEveryKernel) {
  struct Case {
    int in_c, out_c, h, w;
    bool bias;
  };
  const Case cases[] = {
      {8, 8, 1, 1, true},     {8, 16, 2, 3, false},   {16, 8, 7, 13, true},
      {9, 9, 17, 19, true},   {48, 48, 7, 13, true},  {64, 64, 17, 19, true},
      {67, 67, 17, 19, true}, {8, 64, 4, 8, true},    {16, 48, 5, 4, false},
      {64, 9, 3, 70, true},   {9, 67, 64, 64, true},  {64, 64, 64, 64, true},
      {67, 67, 64, 64, true}, {64, 64, 1, 37, false}, {48, 16, 41, 1, true},
  };
  unsigned seed = 100;
  for (const Case& c : cases) {
    const Node conv = conv3x3(c.in_c, c.out_c, c.bias, seed);
    const Tensor x = uniform_tensor(c.in_c, c.h, c.w, seed + 2);
    const Tensor plain = ref::conv2d(x, conv);
    for (Act a : {Act::none, Act::relu, Act::leaky, Act::prelu, Act::prelu_shared}) {
      const std::optional<Node> act = act_node(a, c.out_c, seed + 3);
      Tensor want = plain;
      if (act) want = ref::run_node(*act, {&plain});
      const winograd::Conv3x3 wc(conv, act ? &*act : nullptr);
      for (winograd::Kernel k : kernels()) {
        const Tensor got = wc.run(x, k);
        const Diff d = compare(got, want);
        const std::string what =
            fmt::format("in={} out={} h={} w={} bias={} act={} kernel={} seed={}", c.in_c, c.out_c,
                        c.h, c.w, c.bias, act_name(a), winograd::kernel_name(k), seed);
        ASSERT_TRUE(d.shape_ok) << what << ": shape [" << got.c << "," << got.h << "," << got.w
                                << "]";
        EXPECT_LE(d.max_abs, kTol) << what << ": worst at flat index " << d.at << " got "
                                   << got.data[d.at] << " want " << want.data[d.at];
      }
    }
    seed += 10;
  }
}

TEST(Winograd, BlockedOutputPadsChannelsWithZeros) {
  const Node conv = conv3x3(9, 11, true, 7);
  const Tensor x = uniform_tensor(9, 6, 5, 8);
  std::vector<float> in(winograd::blocked_size(9, 6, 5));
  winograd::to_blocked(x, in.data());
  const winograd::Conv3x3 wc(conv, nullptr);
  for (winograd::Kernel k : kernels()) {
    std::vector<float> out(winograd::blocked_size(11, 6, 5), NAN);
    wc.run_blocked(in.data(), 6, 5, out.data(), k);
    for (std::size_t i = 0; i < out.size(); ++i) {
      const std::size_t lane = i % 8;
      const std::size_t block = i / (6 * 5 * 8);
      if (block * 8 + lane >= 11) {
        ASSERT_EQ(out[i], 0.0F) << "padding channel " << block * 8 + lane << " at " << i
                                << " kernel " << winograd::kernel_name(k);
      } else {
        ASSERT_FALSE(std::isnan(out[i])) << "unwritten output at " << i;
      }
    }
    const Tensor back = winograd::from_blocked(out.data(), 11, 6, 5);
    EXPECT_LE(compare(back, ref::conv2d(x, conv)).max_abs, kTol) << winograd::kernel_name(k);
  }
}

TEST(Winograd, KernelsAgreeWithEachOther) {
  const std::vector<winograd::Kernel> ks = kernels();
  if (ks.size() < 2) GTEST_SKIP() << "only the portable kernel runs on this CPU";
  const Node conv = conv3x3(64, 48, true, 21);
  const Tensor x = uniform_tensor(64, 23, 29, 22);
  const winograd::Conv3x3 wc(conv, nullptr);
  const Tensor a = wc.run(x, winograd::Kernel::portable);
  for (std::size_t i = 1; i < ks.size(); ++i) {
    EXPECT_LE(compare(a, wc.run(x, ks[i])).max_abs, kTol)
        << "portable vs " << winograd::kernel_name(ks[i]);
  }
}

TEST(Winograd, UnsupportedKernelIsAnErrorNotACrash) {
  const winograd::Conv3x3 wc(conv3x3(8, 8, false, 1), nullptr);
  const Tensor x = uniform_tensor(8, 4, 4, 2);
  if (!winograd::cpu_has_avx512()) {
    EXPECT_THROW(wc.run(x, winograd::Kernel::avx512), Error);
  }
  if (!winograd::cpu_has_avx2_fma()) {
    EXPECT_THROW(wc.run(x, winograd::Kernel::avx2_fma), Error);
  }
  EXPECT_NO_THROW(wc.run(x, winograd::Kernel::portable));
}

TEST(Winograd, EligibilityAndFusion) {
  Node c = conv3x3(16, 16, true, 1);
  EXPECT_TRUE(winograd::eligible(c));
  c.stride = 2;
  EXPECT_FALSE(winograd::eligible(c));
  c = conv3x3(4, 16, true, 1);
  EXPECT_FALSE(winograd::eligible(c)) << "too few input channels";
  c = conv3x3(16, 16, true, 1);
  c.groups = 2;
  EXPECT_FALSE(winograd::eligible(c));
  c = conv3x3(16, 16, true, 1);
  Node p = *act_node(Act::prelu, 16, 1);
  EXPECT_TRUE(winograd::can_fuse(c, p));
  p.slopes.resize(3);
  EXPECT_FALSE(winograd::can_fuse(c, p)) << "prelu slopes must be 1 or out_channels";
  Node s;
  s.type = OpType::sigmoid;
  EXPECT_FALSE(winograd::can_fuse(c, s));
}

// ---- through the cpu backend ----------------------------------------------------------------

// Sets an environment variable for the scope of the object.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

float backend_error(const Graph& g, const Tensor& x, std::string* describe) {
  const Tensor want = make_reference_backend(g)->run(x);
  auto be = make_cpu_backend(g, {});
  const Tensor got = be->run(x);
  if (describe != nullptr) *describe = be->describe();
  const Diff d = compare(got, want);
  return d.shape_ok ? d.max_abs : INFINITY;
}

TEST(Winograd, CpuBackendRunsSrvggThroughWinogradWithinTolerance) {
  const ScopedEnv on("HIRES_NO_WINOGRAD", "0");
  for (const char* act : {"prelu", "leakyrelu", "relu"}) {
    models::SrvggConfig c;
    c.num_feat = 64;
    c.num_conv = 6;
    c.upscale = 4;
    c.act = act;
    const Graph g = models::build_srvgg_random(c, 17);
    const Tensor x = uniform_tensor(3, 21, 18, 5, 0.0F, 1.0F);
    std::string d;
    const float err = backend_error(g, x, &d);
    EXPECT_LE(err, kTol) << "srvgg feat 64 conv 6 act " << act << ": " << d;
    // 6 body convs and the last one (64 -> 48); the first has 3 inputs and stays oneDNN.
    EXPECT_NE(d.find("winograd F(4,3)"), std::string::npos) << d;
    EXPECT_NE(d.find("(7 convs)"), std::string::npos) << d;
    EXPECT_EQ(d.rfind("cpu: oneDNN convolution ", 0), 0U) << d;
  }
}

TEST(Winograd, ActivationNotFusedWhenItsInputHasAnotherReader) {
  // conv -> prelu, and the conv output is also added to the prelu output: no fusion allowed.
  Graph g;
  g.name = "test";
  g.in_channels = 16;
  Node conv = conv3x3(16, 16, true, 31);
  conv.inputs = {g.input};
  conv.output = g.add_value();
  Node act = *act_node(Act::prelu, 16, 32);
  act.inputs = {conv.output};
  act.output = g.add_value();
  Node add;
  add.type = OpType::add;
  add.name = "add";
  add.inputs = {conv.output, act.output};
  add.output = g.add_value();
  g.output = add.output;
  g.nodes = {conv, act, add};
  validate(g);
  const ScopedEnv on("HIRES_NO_WINOGRAD", "0");
  std::string d;
  EXPECT_LE(backend_error(g, uniform_tensor(16, 9, 11, 33), &d), kTol) << d;
  EXPECT_NE(d.find("winograd"), std::string::npos) << d;
}

TEST(Winograd, EnvironmentSwitches) {
  models::SrvggConfig c;
  c.num_feat = 16;
  c.num_conv = 2;
  const Graph g = models::build_srvgg_random(c, 3);
  const Tensor x = uniform_tensor(3, 12, 10, 4, 0.0F, 1.0F);
  // Start from all switches off (empty counts as unset), whatever the caller's environment.
  const ScopedEnv w("HIRES_NO_WINOGRAD", ""), simd("HIRES_NO_SIMD", ""),
      a512("HIRES_NO_AVX512", "");
  {
    ScopedEnv off("HIRES_NO_WINOGRAD", "1");
    std::string d;
    EXPECT_LE(backend_error(g, x, &d), kTol) << d;
    EXPECT_EQ(d.find("winograd"), std::string::npos) << "HIRES_NO_WINOGRAD=1 ignored: " << d;
  }
  {
    ScopedEnv portable("HIRES_NO_SIMD", "1");
    EXPECT_EQ(winograd::default_kernel(), winograd::Kernel::portable);
    std::string d;
    EXPECT_LE(backend_error(g, x, &d), kTol) << d;
    EXPECT_NE(d.find("winograd F(4,3) portable"), std::string::npos) << d;
  }
  {
    ScopedEnv no512("HIRES_NO_AVX512", "1");
    std::string d;
    EXPECT_LE(backend_error(g, x, &d), kTol) << d;
    const char* want = winograd::cpu_has_avx2_fma() ? "winograd F(4,3) avx2-fma" : "portable";
    EXPECT_NE(d.find(want), std::string::npos) << d;
  }
  {
    ScopedEnv zero("HIRES_NO_WINOGRAD", "0");
    ScopedEnv all("HIRES_NO_AVX512", "0");
    std::string d;
    EXPECT_LE(backend_error(g, x, &d), kTol) << d;
    EXPECT_NE(d.find("winograd F(4,3)"), std::string::npos) << d;
    EXPECT_NE(d.find(winograd::kernel_name(winograd::default_kernel())), std::string::npos) << d;
    if (winograd::cpu_has_avx512()) {
      EXPECT_NE(d.find("avx512"), std::string::npos) << d;
    }
  }
}

}  // namespace
}  // namespace hires::engine
