// Winograd F(4x4, 3x3) convolution for 3x3, stride 1, padding 1, groups 1 layers (the body of
// SRVGG-style nets), with bias and an activation (relu, leaky_relu, prelu) folded into the output
// transform.
//
// Algorithm: Lavin & Gray 2016, "Fast Algorithms for Convolutional Neural Networks": per 4x4 output
// tile, Y = A^T [ sum_c (G g_c G^T) .* (B^T d_c B) ] A, the sum over input channels being one small
// GEMM per transformed position (36 of them). The transform matrices are the Toom-Cook ones built
// from the interpolation points {0, 1, -1, 1/2, -2, inf} (not the usual {0, 1, -1, 2, -2, inf}):
// measured here, that choice has about 2.5x smaller worst-case fp32 error (see winograd.cpp), and
// F(6x6, 3x3) was about 3x worse again, too close to the 1e-4 budget of the op tests.
//
// Data layout: activations are channel-blocked, [ceil(C/8)][H][W][8] floats (oneDNN's nChw8c at
// batch 1), channels past C zero, so the transforms work on 8 channels per SIMD vector and the
// cpu backend can hand them to oneDNN (reorders, PReLU) without conversion.
//
// Kernels, chosen at run time (no -march flags: each SIMD function has a target attribute):
//   avx2_fma  AVX2/FMA intrinsics: transforms, GEMM micro-kernel of 6 tiles x 16 channels;
//   avx512    the same transforms, an AVX-512F GEMM micro-kernel of 6 tiles x 64 channels;
//   portable  plain C++ for any CPU (about 4x slower than avx2_fma).
// Switches (environment, read when a backend is made / default_kernel() is called):
//   HIRES_NO_WINOGRAD=1  the cpu backend uses oneDNN's direct convolution for every conv;
//   HIRES_NO_SIMD=1      the portable kernel;
//   HIRES_NO_AVX512=1    at most the AVX2/FMA kernel.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "engine/graph.hpp"
#include "engine/tensor.hpp"

namespace hires::engine::winograd {

enum class Kernel { portable, avx2_fma, avx512 };

// Whether this CPU runs the AVX2/FMA kernel, the AVX-512 one (checked once, at run time).
bool cpu_has_avx2_fma();
bool cpu_has_avx512();
// The best kernel this CPU runs, less what HIRES_NO_SIMD / HIRES_NO_AVX512 rule out (a switch
// counts as set when it is neither empty nor "0").
Kernel default_kernel();
// "portable", "avx2-fma" or "avx512".
const char* kernel_name(Kernel k);
// HIRES_NO_WINOGRAD is set (to anything but "" or "0"): the cpu backend then uses oneDNN only.
bool disabled_by_env();

// A conv2d node this code handles: 3x3, stride 1, padding 1, groups 1, >= 8 channels in and out.
bool eligible(const Node& conv);
// Whether `act` (relu, leaky_relu, prelu with one or out_channels slopes) can be folded into the
// output transform of `conv`.
bool can_fuse(const Node& conv, const Node& act);

// The blocked layout: channels rounded up to a multiple of 8.
inline int padded_channels(int c) {
  return (c + 7) / 8 * 8;
}
inline std::size_t blocked_size(int c, int h, int w) {
  return static_cast<std::size_t>(padded_channels(c)) * h * w;
}
// CHW -> blocked (dst holds blocked_size floats; padding channels are written as zero) and back.
void to_blocked(const Tensor& x, float* dst);
Tensor from_blocked(const float* src, int c, int h, int w);

// One convolution (plus optional fused activation) with its weights transformed once, here.
class Conv3x3 {
 public:
  // conv: an eligible() node; act: nullptr, or a node for which can_fuse(conv, *act).
  Conv3x3(const Node& conv, const Node* act);
  ~Conv3x3();
  Conv3x3(const Conv3x3&) = delete;
  Conv3x3& operator=(const Conv3x3&) = delete;

  int in_channels() const { return ic_; }
  int out_channels() const { return oc_; }

  // src: blocked [ceil(in/8)][h][w][8]; dst: blocked [ceil(out/8)][h][w][8], fully written
  // (padding channels zero). src and dst must not overlap. Parallel (OpenMP) over blocks of 48
  // tiles. Throws hires::Error(internal) when k is a kernel this CPU cannot run.
  void run_blocked(const float* src, int h, int w, float* dst, Kernel k) const;
  // Planar CHW in and out (converts through the blocked layout).
  Tensor run(const Tensor& x, Kernel k) const;

 private:
  struct Buffer;
  int ic_ = 0, oc_ = 0;
  int icp_ = 0;   // in channels padded to 8: the GEMM depth
  int ocp_ = 0;   // out channels padded to 8: what the output transform writes
  int oc16_ = 0;  // out channels padded to 16: the GEMM width
  bool act_ = false;
  std::unique_ptr<Buffer> u_;  // transformed weights [36][oc16/16][icp][16]
  std::vector<float> bias_;    // [ocp]
  std::vector<float> slope_;   // [ocp]: y < 0 -> y * slope (relu 0, leaky alpha, prelu slopes)
};

}  // namespace hires::engine::winograd
