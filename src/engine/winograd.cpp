// Winograd F(4x4, 3x3): see winograd.hpp for the algorithm, layout and switches.
//
// Transform matrices (Toom-Cook construction of Lavin & Gray 2016, section 4, for the points
// {0, 1, -1, 1/2, -2, inf}, with rows of B^T and G rescaled so B^T has small exact entries):
//
//   B^T = | 1 -3/2  -2  3/2   1  0 |   G = |    1      0     0 |   A^T = | 1  1  1   1    1  0 |
//         | 0   -2   1    5   2  0 |       |  1/6    1/6   1/6 |         | 0  1 -1  1/2  -2  0 |
//         | 0   -2   5   -1  -2  0 |       |  1/6   -1/6   1/6 |         | 0  1  1  1/4   4  0 |
//         | 0    2   1   -2  -1  0 |       | 16/15  8/15  4/15 |         | 0  1 -1  1/8  -8  1 |
//         | 0    1  -2   -1   2  0 |       | 1/30  -1/15  2/15 |
//         | 0    1 -3/2  -2  3/2  1 |      |    0      0     1 |
//
// so that, per tile, y = A^T [(G g G^T) .* (B^T d B)] A computes the 4x4 outputs of the 3x3
// correlation of the 6x6 input patch d with the kernel g.
//
// Accuracy (fp32, 64 input channels, inputs U(-1,1), weights N(0,0.3), outputs up to ~18, measured
// against a double-precision direct convolution on 2000 random 6x6 patches = 32000 outputs): the
// usual points {0,1,-1,2,-2} give a worst error of 1.4e-4 (99.9th percentile 5.8e-5); these
// points 4.0e-5 (2.5e-5); summing the channel products in blocks of 16 (kKBlock) brings that
// to 1.9e-5 (1.4e-5). F(6x6, 3x3) with {0,1,-1,2,-2,1/2,-1/2}: 1.8e-4 (9.3e-5), and 8.7e-5 even
// with the blocked sums. Most of the error is the channel sum in the transformed domain, amplified
// by A^T's large entries.
//
// Work split: the image's 4x4 tiles are taken in row-major blocks of kBlockTiles, one block per
// OpenMP work item. Per block: input transform -> V[36][tiles][in] (8 channels per vector); one
// GEMM per position, M[p][tiles][out] = V[p] * U[p], U[p] = [in][out] transformed weights; output
// transform of M with bias and activation, written straight to the blocked output. V, M and one
// U[p] stay in L2/L1. The GEMM takes 65-75% of the time (the AVX2 one runs at about the FMA units'
// peak), the two transforms the rest.
#include "engine/winograd.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HIRES_WINOGRAD_X86 1
#endif

#include "hires/error.hpp"

namespace hires::engine::winograd {

// 64-byte aligned floats (the transformed weights, and per-thread scratch): aligned_alloc/free
// owned by this struct (RAII), which is what the malloc checks ask for.
// NOLINTBEGIN(cppcoreguidelines-no-malloc,cppcoreguidelines-owning-memory)
struct Conv3x3::Buffer {
  float* p = nullptr;
  std::size_t n = 0;
  Buffer() = default;
  explicit Buffer(std::size_t count) { resize(count); }
  ~Buffer() { std::free(p); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  void resize(std::size_t count) {
    if (count <= n) return;
    std::free(p);
    const std::size_t bytes = (count * sizeof(float) + 63) / 64 * 64;
    p = static_cast<float*>(std::aligned_alloc(64, bytes));
    if (p == nullptr) throw std::bad_alloc();
    n = count;
  }
};
// NOLINTEND(cppcoreguidelines-no-malloc,cppcoreguidelines-owning-memory)

// The kernels' int products are offsets inside one block of tiles (6x6 positions x 8 lanes,
// kBlockTiles tiles); the strides that grow with the image (vpos, mpos, upos) are size_t.
// NOLINTBEGIN(bugprone-implicit-widening-of-multiplication-result)

namespace {

constexpr int kPos = 36;         // transformed positions per tile (6 x 6)
constexpr int kRows = 6;         // micro-kernel rows: tiles
constexpr int kCols = 16;        // micro-kernel columns: output channels
constexpr int kBlockTiles = 48;  // tiles per work item (the GEMM's M); multiple of 6
constexpr int kKBlock = 16;      // channel products are summed in blocks of this many (accuracy)

// Geometry of one call, shared by the three stages.
struct Shape {
  int h = 0, w = 0;
  int tiles_x = 0;
  int cblocks = 0;       // input channel blocks of 8
  int oblocks = 0;       // output channel blocks of 8
  int icp = 0;           // GEMM depth = V row stride
  int oc16 = 0;          // GEMM width = M row stride
  std::size_t vpos = 0;  // floats between transformed positions in V: kBlockTiles * icp (+ pad)
  std::size_t mpos = 0;  // ... in M: kBlockTiles * oc16 (+ pad)
  std::size_t upos = 0;  // ... in U: icp * oc16
};

bool env_set(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' && std::strcmp(v, "0") != 0;
}

// The 6x6x8 input patch of a tile that touches the border, zero outside the image.
void gather_patch(const float* src, int h, int w, int cb, int y0, int x0, float* patch) {
  std::fill(patch, patch + kPos * 8, 0.0F);
  for (int r = 0; r < 6; ++r) {
    const int y = y0 + r;
    if (y < 0 || y >= h) continue;
    for (int c = 0; c < 6; ++c) {
      const int x = x0 + c;
      if (x < 0 || x >= w) continue;
      const float* s = src + ((static_cast<std::size_t>(cb) * h + y) * w + x) * 8;
      std::copy(s, s + 8, patch + (r * 6 + c) * 8);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Portable kernel: plain C++ on 8-lane arrays (the compiler vectorises what it can).

// d (6 values, stride ds) -> B^T d (6 values, stride os), 8 lanes each.
inline void bt_portable(const float* d, std::size_t ds, float* o, std::size_t os) {
  for (int l = 0; l < 8; ++l) {
    const float d0 = d[l], d1 = d[ds + l], d2 = d[2 * ds + l], d3 = d[3 * ds + l],
                d4 = d[4 * ds + l], d5 = d[5 * ds + l];
    o[l] = (d0 + d4) - 2.0F * d2 + 1.5F * (d3 - d1);
    o[os + l] = 2.0F * (d4 - d1) + d2 + 5.0F * d3;
    o[2 * os + l] = 5.0F * d2 - d3 - 2.0F * (d1 + d4);
    o[3 * os + l] = 2.0F * (d1 - d3) + (d2 - d4);
    o[4 * os + l] = (d1 - d3) + 2.0F * (d4 - d2);
    o[5 * os + l] = (d1 + d5) - 2.0F * d3 + 1.5F * (d4 - d2);
  }
}

// m (6 values, stride ms) -> A^T m (4 values, stride os), 8 lanes each.
inline void at_portable(const float* m, std::size_t ms, float* o, std::size_t os) {
  for (int l = 0; l < 8; ++l) {
    const float m0 = m[l], m1 = m[ms + l], m2 = m[2 * ms + l], m3 = m[3 * ms + l],
                m4 = m[4 * ms + l], m5 = m[5 * ms + l];
    const float s12 = m1 + m2, d12 = m1 - m2;
    o[l] = m0 + s12 + m3 + m4;
    o[os + l] = d12 + 0.5F * m3 - 2.0F * m4;
    o[2 * os + l] = s12 + 0.25F * m3 + 4.0F * m4;
    o[3 * os + l] = d12 + 0.125F * m3 - 8.0F * m4 + m5;
  }
}

void input_portable(const float* src, const Shape& s, int t0, int nt, float* v) {
  float patch[kPos * 8];
  float t[kPos * 8];  // [6 rows][6 columns][8]: B^T d
  float o[kPos * 8];  // [6][6][8]: B^T d B
  for (int tl = 0; tl < nt; ++tl) {
    const int ty = (t0 + tl) / s.tiles_x, tx = (t0 + tl) % s.tiles_x;
    const int y0 = ty * 4 - 1, x0 = tx * 4 - 1;
    const bool inside = y0 >= 0 && x0 >= 0 && y0 + 6 <= s.h && x0 + 6 <= s.w;
    for (int cb = 0; cb < s.cblocks; ++cb) {
      const float* base = patch;
      std::size_t rs = 6 * 8;
      if (inside) {
        base = src + ((static_cast<std::size_t>(cb) * s.h + y0) * s.w + x0) * 8;
        rs = static_cast<std::size_t>(s.w) * 8;
      } else {
        gather_patch(src, s.h, s.w, cb, y0, x0, patch);
      }
      for (int c = 0; c < 6; ++c) bt_portable(base + c * 8, rs, t + c * 8, 6 * 8);
      for (int i = 0; i < 6; ++i) bt_portable(t + i * 48, 8, o + i * 48, 8);
      float* out = v + static_cast<std::size_t>(tl) * s.icp + cb * 8;
      for (int p = 0; p < kPos; ++p) std::copy(o + p * 8, o + p * 8 + 8, out + p * s.vpos);
    }
  }
}

// c[R x 16] = a[R x K] (row stride lda) * b[K x 16], the sum taken in blocks of kKBlock. One row
// at a time with 16 accumulators: a shape GCC and Clang vectorise cleanly with baseline SSE2 (all
// R rows at once makes GCC's SLP vectoriser produce slow 2-wide code).
template <int R>
void kernel_portable(int K, const float* a, std::size_t lda, const float* b, float* c,
                     std::size_t ldc) {
  for (int i = 0; i < R; ++i) {
    const float* ai = a + i * lda;
    float* ci = c + i * ldc;
    for (int k0 = 0; k0 < K; k0 += kKBlock) {
      const int k1 = std::min(K, k0 + kKBlock);
      float acc[kCols] = {};
      for (int k = k0; k < k1; ++k) {
        const float x = ai[k];
        const float* bk = b + static_cast<std::size_t>(k) * kCols;
#pragma omp simd
        for (int j = 0; j < kCols; ++j) acc[j] += x * bk[j];
      }
      for (int j = 0; j < kCols; ++j) ci[j] = k0 == 0 ? acc[j] : ci[j] + acc[j];
    }
  }
}

template <void (*K1)(int, const float*, std::size_t, const float*, float*, std::size_t),
          void (*K2)(int, const float*, std::size_t, const float*, float*, std::size_t),
          void (*K3)(int, const float*, std::size_t, const float*, float*, std::size_t),
          void (*K4)(int, const float*, std::size_t, const float*, float*, std::size_t),
          void (*K5)(int, const float*, std::size_t, const float*, float*, std::size_t),
          void (*K6)(int, const float*, std::size_t, const float*, float*, std::size_t)>
void gemm(const float* v, const float* u, float* m, const Shape& s, int nt) {
  // Locals: the kernels' stores may alias anything, so fields of s would be reloaded.
  const int icp = s.icp;
  const int oc16 = s.oc16;
  const std::size_t vpos = s.vpos, mpos = s.mpos, upos = s.upos;
  const int nob = oc16 / kCols;
  for (int p = 0; p < kPos; ++p) {
    const float* vp = v + p * vpos;
    float* mp = m + p * mpos;
    for (int ob = 0; ob < nob; ++ob) {
      const float* up = u + p * upos + static_cast<std::size_t>(ob) * icp * kCols;
      for (int t = 0; t < nt; t += kRows) {
        const float* a = vp + static_cast<std::size_t>(t) * icp;
        float* c = mp + static_cast<std::size_t>(t) * oc16 + ob * kCols;
        switch (std::min(kRows, nt - t)) {
          case 6:
            K6(icp, a, icp, up, c, oc16);
            break;
          case 5:
            K5(icp, a, icp, up, c, oc16);
            break;
          case 4:
            K4(icp, a, icp, up, c, oc16);
            break;
          case 3:
            K3(icp, a, icp, up, c, oc16);
            break;
          case 2:
            K2(icp, a, icp, up, c, oc16);
            break;
          default:
            K1(icp, a, icp, up, c, oc16);
            break;
        }
      }
    }
  }
}

void output_portable(const float* m, const Shape& s, int t0, int nt, const float* bias,
                     const float* slope, bool act, float* dst) {
  float in[kPos * 8];
  float t[24 * 8];  // [4 rows][6 columns][8]: A^T m
  float o[16 * 8];  // [4][4][8]
  for (int tl = 0; tl < nt; ++tl) {
    const int ty = (t0 + tl) / s.tiles_x, tx = (t0 + tl) % s.tiles_x;
    const int oy = ty * 4, ox = tx * 4;
    const int ny = std::min(4, s.h - oy), nx = std::min(4, s.w - ox);
    for (int ob = 0; ob < s.oblocks; ++ob) {
      const float* mt = m + static_cast<std::size_t>(tl) * s.oc16 + ob * 8;
      for (int p = 0; p < kPos; ++p) std::copy(mt + p * s.mpos, mt + p * s.mpos + 8, in + p * 8);
      for (int c = 0; c < 6; ++c) at_portable(in + c * 8, 48, t + c * 8, 48);
      for (int r = 0; r < 4; ++r) at_portable(t + r * 48, 8, o + r * 32, 8);
      const float* b = bias + ob * 8;
      const float* a = slope + ob * 8;
      for (int r = 0; r < ny; ++r) {
        float* row = dst + ((static_cast<std::size_t>(ob) * s.h + oy + r) * s.w + ox) * 8;
        for (int c = 0; c < nx; ++c) {
          for (int l = 0; l < 8; ++l) {
            float y = o[(r * 4 + c) * 8 + l] + b[l];
            if (act) y = y > 0.0F ? y : y * a[l];
            row[c * 8 + l] = y;
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// AVX2 / FMA kernel: the same steps with intrinsics, 8 channels per __m256.
#ifdef HIRES_WINOGRAD_X86

#define HIRES_AVX2 __attribute__((target("avx2,fma")))

// B^T d for 6 vectors.
HIRES_AVX2 inline void bt_avx2(const __m256 d[6], __m256 o[6]) {
  const __m256 two = _mm256_set1_ps(2.0F), five = _mm256_set1_ps(5.0F);
  const __m256 one5 = _mm256_set1_ps(1.5F);
  const __m256 d13 = _mm256_sub_ps(d[1], d[3]);
  const __m256 d42 = _mm256_sub_ps(d[4], d[2]);
  o[0] = _mm256_fmadd_ps(one5, _mm256_sub_ps(d[3], d[1]),
                         _mm256_fnmadd_ps(two, d[2], _mm256_add_ps(d[0], d[4])));
  o[1] = _mm256_fmadd_ps(five, d[3], _mm256_fmadd_ps(two, _mm256_sub_ps(d[4], d[1]), d[2]));
  o[2] = _mm256_fnmadd_ps(two, _mm256_add_ps(d[1], d[4]), _mm256_fmsub_ps(five, d[2], d[3]));
  o[3] = _mm256_fmadd_ps(two, d13, _mm256_sub_ps(d[2], d[4]));
  o[4] = _mm256_fmadd_ps(two, d42, d13);
  o[5] = _mm256_fmadd_ps(one5, d42, _mm256_fnmadd_ps(two, d[3], _mm256_add_ps(d[1], d[5])));
}

// A^T m for 6 vectors -> 4.
HIRES_AVX2 inline void at_avx2(const __m256 m[6], __m256 o[4]) {
  const __m256 s12 = _mm256_add_ps(m[1], m[2]), d12 = _mm256_sub_ps(m[1], m[2]);
  o[0] = _mm256_add_ps(_mm256_add_ps(m[0], s12), _mm256_add_ps(m[3], m[4]));
  o[1] = _mm256_fnmadd_ps(_mm256_set1_ps(2.0F), m[4],
                          _mm256_fmadd_ps(_mm256_set1_ps(0.5F), m[3], d12));
  o[2] = _mm256_fmadd_ps(_mm256_set1_ps(4.0F), m[4],
                         _mm256_fmadd_ps(_mm256_set1_ps(0.25F), m[3], s12));
  o[3] = _mm256_add_ps(_mm256_fnmadd_ps(_mm256_set1_ps(8.0F), m[4],
                                        _mm256_fmadd_ps(_mm256_set1_ps(0.125F), m[3], d12)),
                       m[5]);
}

HIRES_AVX2 void input_avx2(const float* src, const Shape& s, int t0, int nt, float* v) {
  const int h = s.h, w = s.w, tiles_x = s.tiles_x, cblocks = s.cblocks, icp = s.icp;
  const std::size_t vpos = s.vpos;
  const std::size_t cstride = static_cast<std::size_t>(h) * w * 8;  // between channel blocks
  alignas(32) float patch[kPos * 8];
  for (int tl = 0; tl < nt; ++tl) {
    const int ty = (t0 + tl) / tiles_x, tx = (t0 + tl) % tiles_x;
    const int y0 = ty * 4 - 1, x0 = tx * 4 - 1;
    const bool inside = y0 >= 0 && x0 >= 0 && y0 + 6 <= h && x0 + 6 <= w;
    // Offset of the patch's top-left pixel in a channel block (only used when inside).
    const std::size_t at = inside ? (static_cast<std::size_t>(y0) * w + x0) * 8 : 0;
    float* out = v + static_cast<std::size_t>(tl) * icp;
    for (int cb = 0; cb < cblocks; ++cb, out += 8) {
      const float* base = patch;
      std::size_t rs = 6 * 8;
      if (inside) {
        base = src + cb * cstride + at;
        rs = static_cast<std::size_t>(w) * 8;
      } else {
        gather_patch(src, h, w, cb, y0, x0, patch);
      }
      __m256 t[6][6];  // [row of B^T d][column]
      for (int c = 0; c < 6; ++c) {
        __m256 d[6], o[6];
        for (int r = 0; r < 6; ++r) d[r] = _mm256_loadu_ps(base + r * rs + c * 8);
        bt_avx2(d, o);
        for (int r = 0; r < 6; ++r) t[r][c] = o[r];
      }
      for (int i = 0; i < 6; ++i) {
        __m256 o[6];
        bt_avx2(t[i], o);
        for (int j = 0; j < 6; ++j) _mm256_storeu_ps(out + (i * 6 + j) * vpos, o[j]);
      }
    }
  }
}

template <int R>
HIRES_AVX2 void kernel_avx2(int K, const float* a, std::size_t lda, const float* b, float* c,
                            std::size_t ldc) {
  for (int k0 = 0; k0 < K; k0 += kKBlock) {
    const int k1 = std::min(K, k0 + kKBlock);
    __m256 acc0[R], acc1[R];
    for (int i = 0; i < R; ++i) acc0[i] = acc1[i] = _mm256_setzero_ps();
    for (int k = k0; k < k1; ++k) {
      const __m256 b0 = _mm256_loadu_ps(b + static_cast<std::size_t>(k) * kCols);
      const __m256 b1 = _mm256_loadu_ps(b + static_cast<std::size_t>(k) * kCols + 8);
      for (int i = 0; i < R; ++i) {
        const __m256 ai = _mm256_broadcast_ss(a + i * lda + k);
        acc0[i] = _mm256_fmadd_ps(ai, b0, acc0[i]);
        acc1[i] = _mm256_fmadd_ps(ai, b1, acc1[i]);
      }
    }
    for (int i = 0; i < R; ++i) {
      float* ci = c + i * ldc;
      if (k0 != 0) {
        acc0[i] = _mm256_add_ps(acc0[i], _mm256_loadu_ps(ci));
        acc1[i] = _mm256_add_ps(acc1[i], _mm256_loadu_ps(ci + 8));
      }
      _mm256_storeu_ps(ci, acc0[i]);
      _mm256_storeu_ps(ci + 8, acc1[i]);
    }
  }
}

HIRES_AVX2 void output_avx2(const float* m, const Shape& s, int t0, int nt, const float* bias,
                            const float* slope, bool act, float* dst) {
  const int h = s.h, w = s.w, tiles_x = s.tiles_x, oblocks = s.oblocks, oc16 = s.oc16;
  const std::size_t mpos = s.mpos;
  const __m256 zero = _mm256_setzero_ps();
  for (int tl = 0; tl < nt; ++tl) {
    const int ty = (t0 + tl) / tiles_x, tx = (t0 + tl) % tiles_x;
    const int oy = ty * 4, ox = tx * 4;
    const int ny = std::min(4, h - oy), nx = std::min(4, w - ox);
    for (int ob = 0; ob < oblocks; ++ob) {
      const float* mt = m + static_cast<std::size_t>(tl) * oc16 + ob * 8;
      __m256 t[4][6];  // [row of A^T m][column]
      for (int c = 0; c < 6; ++c) {
        __m256 in[6], o[4];
        for (int r = 0; r < 6; ++r) in[r] = _mm256_loadu_ps(mt + (r * 6 + c) * mpos);
        at_avx2(in, o);
        for (int r = 0; r < 4; ++r) t[r][c] = o[r];
      }
      const __m256 b = _mm256_loadu_ps(bias + ob * 8);
      const __m256 a = _mm256_loadu_ps(slope + ob * 8);
      for (int r = 0; r < ny; ++r) {
        __m256 o[4];
        at_avx2(t[r], o);
        float* row = dst + ((static_cast<std::size_t>(ob) * h + oy + r) * w + ox) * 8;
        for (int c = 0; c < nx; ++c) {
          __m256 y = _mm256_add_ps(o[c], b);
          if (act) {
            y = _mm256_blendv_ps(_mm256_mul_ps(y, a), y, _mm256_cmp_ps(y, zero, _CMP_GT_OQ));
          }
          _mm256_storeu_ps(row + c * 8, y);
        }
      }
    }
  }
}

HIRES_AVX2 void gemm_avx2(const float* v, const float* u, float* m, const Shape& s, int nt) {
  gemm<kernel_avx2<1>, kernel_avx2<2>, kernel_avx2<3>, kernel_avx2<4>, kernel_avx2<5>,
       kernel_avx2<6>>(v, u, m, s, nt);
}

#define HIRES_AVX512 __attribute__((target("avx512f,avx2,fma")))

// c[R x 16*NB] = a[R x K] * b, where b is NB blocks of [K x 16] floats, bstride apart.
template <int R, int NB>
HIRES_AVX512 void kernel_avx512(int K, const float* a, std::size_t lda, const float* b,
                                std::size_t bstride, float* c, std::size_t ldc) {
  for (int k0 = 0; k0 < K; k0 += kKBlock) {
    const int k1 = std::min(K, k0 + kKBlock);
    __m512 acc[NB][R];
    for (int j = 0; j < NB; ++j)
      for (int i = 0; i < R; ++i) acc[j][i] = _mm512_setzero_ps();
    for (int k = k0; k < k1; ++k) {
      __m512 bk[NB];
      for (int j = 0; j < NB; ++j) {
        bk[j] = _mm512_loadu_ps(b + j * bstride + static_cast<std::size_t>(k) * kCols);
      }
      for (int i = 0; i < R; ++i) {
        const __m512 ai = _mm512_set1_ps(a[i * lda + k]);
        for (int j = 0; j < NB; ++j) acc[j][i] = _mm512_fmadd_ps(ai, bk[j], acc[j][i]);
      }
    }
    for (int i = 0; i < R; ++i) {
      for (int j = 0; j < NB; ++j) {
        float* cij = c + i * ldc + j * kCols;
        if (k0 != 0) acc[j][i] = _mm512_add_ps(acc[j][i], _mm512_loadu_ps(cij));
        _mm512_storeu_ps(cij, acc[j][i]);
      }
    }
  }
}

using Kernel512 = void (*)(int, const float*, std::size_t, const float*, std::size_t, float*,
                           std::size_t);
constexpr int kRows512 = 6;    // tiles per micro-kernel call
constexpr int kBlocks512 = 4;  // 16-channel column blocks per call: 6 x 64 outputs, 24 zmm
template <int NB, std::size_t... I>
constexpr std::array<Kernel512, kRows512> kernels512(std::index_sequence<I...>) {
  return {&kernel_avx512<static_cast<int>(I) + 1, NB>...};
}
template <std::size_t... J>
constexpr std::array<std::array<Kernel512, kRows512>, kBlocks512> table512(
    std::index_sequence<J...>) {
  return {kernels512<static_cast<int>(J) + 1>(std::make_index_sequence<kRows512>())...};
}

HIRES_AVX512 void gemm_avx512(const float* v, const float* u, float* m, const Shape& s, int nt) {
  static constexpr std::array<std::array<Kernel512, kRows512>, kBlocks512> table =
      table512(std::make_index_sequence<kBlocks512>());
  const int icp = s.icp;
  const int oc16 = s.oc16;
  const std::size_t vpos = s.vpos, mpos = s.mpos, upos = s.upos;
  const std::size_t bstride = static_cast<std::size_t>(icp) * kCols;
  const int nob = oc16 / kCols;
  for (int p = 0; p < kPos; ++p) {
    const float* vp = v + p * vpos;
    float* mp = m + p * mpos;
    for (int ob = 0; ob < nob; ob += kBlocks512) {
      const auto& row = table[std::min(kBlocks512, nob - ob) - 1];
      const float* up = u + p * upos + ob * bstride;
      for (int t = 0; t < nt; t += kRows512) {
        const int r = std::min(kRows512, nt - t);
        row[r - 1](icp, vp + static_cast<std::size_t>(t) * icp, icp, up, bstride,
                   mp + static_cast<std::size_t>(t) * oc16 + ob * kCols, oc16);
      }
    }
  }
}

#undef HIRES_AVX512
#undef HIRES_AVX2
#endif  // HIRES_WINOGRAD_X86

}  // namespace

bool cpu_has_avx2_fma() {
#ifdef HIRES_WINOGRAD_X86
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return has;
#else
  return false;
#endif
}

bool cpu_has_avx512() {
#ifdef HIRES_WINOGRAD_X86
  static const bool has = [] {
    __builtin_cpu_init();
    return cpu_has_avx2_fma() && __builtin_cpu_supports("avx512f");
  }();
  return has;
#else
  return false;
#endif
}

Kernel default_kernel() {
  if (env_set("HIRES_NO_SIMD")) return Kernel::portable;
  if (cpu_has_avx512() && !env_set("HIRES_NO_AVX512")) return Kernel::avx512;
  return cpu_has_avx2_fma() ? Kernel::avx2_fma : Kernel::portable;
}

const char* kernel_name(Kernel k) {
  switch (k) {
    case Kernel::avx512:
      return "avx512";
    case Kernel::avx2_fma:
      return "avx2-fma";
    default:
      return "portable";
  }
}

bool disabled_by_env() {
  return env_set("HIRES_NO_WINOGRAD");
}

bool eligible(const Node& conv) {
  return conv.type == OpType::conv2d && conv.kernel == 3 && conv.stride == 1 && conv.padding == 1 &&
         conv.groups == 1 && conv.in_channels >= 8 && conv.out_channels >= 8;
}

bool can_fuse(const Node& conv, const Node& act) {
  switch (act.type) {
    case OpType::relu:
    case OpType::leaky_relu:
      return true;
    case OpType::prelu:
      return act.slopes.size() == 1 ||
             act.slopes.size() == static_cast<std::size_t>(conv.out_channels);
    default:
      return false;
  }
}

void to_blocked(const Tensor& x, float* dst) {
  const int cb = padded_channels(x.c) / 8;
  const std::size_t plane = x.plane();
  for (int b = 0; b < cb; ++b) {
    float* out = dst + static_cast<std::size_t>(b) * plane * 8;
    for (int l = 0; l < 8; ++l) {
      const int c = b * 8 + l;
      const float* in = c < x.c ? x.channel(c) : nullptr;
      for (std::size_t i = 0; i < plane; ++i) out[i * 8 + l] = in != nullptr ? in[i] : 0.0F;
    }
  }
}

Tensor from_blocked(const float* src, int c, int h, int w) {
  Tensor t(c, h, w);
  const std::size_t plane = t.plane();
  for (int ch = 0; ch < c; ++ch) {
    const float* in = src + static_cast<std::size_t>(ch / 8) * plane * 8 + ch % 8;
    float* out = t.channel(ch);
    for (std::size_t i = 0; i < plane; ++i) out[i] = in[i * 8];
  }
  return t;
}

Conv3x3::Conv3x3(const Node& conv, const Node* act)
    : ic_(conv.in_channels),
      oc_(conv.out_channels),
      icp_(padded_channels(conv.in_channels)),
      ocp_(padded_channels(conv.out_channels)),
      oc16_((conv.out_channels + kCols - 1) / kCols * kCols) {
  if (!eligible(conv) || conv.weight.size() != static_cast<std::size_t>(oc_) * ic_ * 9 ||
      (!conv.bias.empty() && conv.bias.size() != static_cast<std::size_t>(oc_)) ||
      (act != nullptr && !can_fuse(conv, *act))) {
    throw Error(ErrorKind::internal, fmt::format("node '{}' (conv2d)", conv.name),
                "not a convolution the Winograd path handles");
  }
  // U = G g G^T per (out, in) pair, in double, stored [36][oc16/16][icp][16].
  static constexpr double G[6][3] = {{1.0, 0.0, 0.0},
                                     {1.0 / 6, 1.0 / 6, 1.0 / 6},
                                     {1.0 / 6, -1.0 / 6, 1.0 / 6},
                                     {16.0 / 15, 8.0 / 15, 4.0 / 15},
                                     {1.0 / 30, -1.0 / 15, 2.0 / 15},
                                     {0.0, 0.0, 1.0}};
  const std::size_t upos = static_cast<std::size_t>(icp_) * oc16_;
  u_ = std::make_unique<Buffer>(kPos * upos);
  std::fill(u_->p, u_->p + kPos * upos, 0.0F);
  for (int o = 0; o < oc_; ++o) {
    for (int i = 0; i < ic_; ++i) {
      const float* g = conv.weight.data() + (static_cast<std::size_t>(o) * ic_ + i) * 9;
      double gg[6][3];  // G g
      for (int r = 0; r < 6; ++r) {
        for (int k = 0; k < 3; ++k) {
          gg[r][k] = G[r][0] * g[k] + G[r][1] * g[3 + k] + G[r][2] * g[6 + k];
        }
      }
      float* dst = u_->p + (static_cast<std::size_t>(o / kCols) * icp_ + i) * kCols + o % kCols;
      for (int r = 0; r < 6; ++r) {
        for (int c = 0; c < 6; ++c) {
          const double val = gg[r][0] * G[c][0] + gg[r][1] * G[c][1] + gg[r][2] * G[c][2];
          dst[(r * 6 + c) * upos] = static_cast<float>(val);
        }
      }
    }
  }
  bias_.assign(ocp_, 0.0F);
  std::copy(conv.bias.begin(), conv.bias.end(), bias_.begin());
  slope_.assign(ocp_, 0.0F);
  if (act != nullptr) {
    act_ = true;
    for (int o = 0; o < oc_; ++o) {
      if (act->type == OpType::leaky_relu) {
        slope_[o] = act->alpha;
      } else if (act->type == OpType::prelu) {
        slope_[o] = act->slopes.size() == 1 ? act->slopes[0] : act->slopes[o];
      }
    }
  }
}

Conv3x3::~Conv3x3() = default;

void Conv3x3::run_blocked(const float* src, int h, int w, float* dst, Kernel k) const {
  if (h <= 0 || w <= 0) return;
  if (k == Kernel::avx512 && !cpu_has_avx512()) {
    throw Error(ErrorKind::internal, "winograd", "the AVX-512 kernel needs a CPU with AVX-512F");
  }
  if (k == Kernel::avx2_fma && !cpu_has_avx2_fma()) {
    throw Error(ErrorKind::internal, "winograd",
                "the AVX2/FMA kernel needs a CPU with AVX2 and FMA");
  }
  Shape s;
  s.h = h;
  s.w = w;
  s.tiles_x = (w + 3) / 4;
  s.cblocks = icp_ / 8;
  s.oblocks = ocp_ / 8;
  s.icp = icp_;
  s.oc16 = oc16_;
  // One cache line more than the data, so the 36 positions of a tile do not all fall into the
  // same L1 set (the data alone is a multiple of 4 KiB apart for common channel counts).
  s.vpos = static_cast<std::size_t>(kBlockTiles) * icp_ + 16;
  s.mpos = static_cast<std::size_t>(kBlockTiles) * oc16_ + 16;
  s.upos = static_cast<std::size_t>(icp_) * oc16_;
  const int tiles = s.tiles_x * ((h + 3) / 4);
  const int blocks = (tiles + kBlockTiles - 1) / kBlockTiles;
  const float* u = u_->p;
  const std::size_t scratch = kPos * (s.vpos + s.mpos);
  std::atomic<bool> out_of_memory{false};
#pragma omp parallel
  {
    // Per-thread V (transformed inputs) and M (products), kept for later calls. No exception may
    // leave the parallel region: a failed allocation is reported after it.
    static thread_local Buffer buf;
    float* v = nullptr;
    try {
      buf.resize(scratch);
      v = buf.p;
    } catch (const std::bad_alloc&) {
      out_of_memory = true;
    }
    float* m = v != nullptr ? v + kPos * s.vpos : nullptr;
#pragma omp for schedule(dynamic)
    for (int b = 0; b < blocks; ++b) {
      if (v == nullptr) continue;
      const int t0 = b * kBlockTiles;
      const int nt = std::min(kBlockTiles, tiles - t0);
#ifdef HIRES_WINOGRAD_X86
      if (k == Kernel::avx512 || k == Kernel::avx2_fma) {
        input_avx2(src, s, t0, nt, v);
        if (k == Kernel::avx512) {
          gemm_avx512(v, u, m, s, nt);
        } else {
          gemm_avx2(v, u, m, s, nt);
        }
        output_avx2(m, s, t0, nt, bias_.data(), slope_.data(), act_, dst);
        continue;
      }
#endif
      input_portable(src, s, t0, nt, v);
      gemm<kernel_portable<1>, kernel_portable<2>, kernel_portable<3>, kernel_portable<4>,
           kernel_portable<5>, kernel_portable<6>>(v, u, m, s, nt);
      output_portable(m, s, t0, nt, bias_.data(), slope_.data(), act_, dst);
    }
  }
  if (out_of_memory) throw std::bad_alloc();
}

Tensor Conv3x3::run(const Tensor& x, Kernel k) const {
  if (x.c != ic_) {
    throw Error(ErrorKind::internal, "winograd",
                fmt::format("input has {} channels, the convolution wants {}", x.c, ic_));
  }
  std::vector<float> in(blocked_size(x.c, x.h, x.w));
  std::vector<float> out(blocked_size(oc_, x.h, x.w));
  to_blocked(x, in.data());
  run_blocked(in.data(), x.h, x.w, out.data(), k);
  return from_blocked(out.data(), oc_, x.h, x.w);
}

// NOLINTEND(bugprone-implicit-widening-of-multiplication-result)
}  // namespace hires::engine::winograd
