#include "engine/attention_cpu.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <cmath>
#include <dnnl.hpp>
#include <limits>
#include <string>
#include <vector>

#include "engine/ops_reference.hpp"
#include "hires/error.hpp"

namespace hires::engine::cpu {
namespace {

using dnnl::memory;
using dt = memory::data_type;

// Bytes of working buffers one block of windows may take (q, k, v, scores, output): attention
// memory is bounded whatever the image size.
constexpr std::size_t kBlockBytes = std::size_t{16} << 20;

// Copies `count` pixels of an image row starting at column x0 into dst (times `scale`): columns
// past the right edge wrap around (the cyclic shift) when `wrap`, else read as zero, as do
// columns before the left edge and whole rows outside the image (row == nullptr).
inline void gather_row(const float* row, int x0, int count, int width, bool wrap, float scale,
                       float* dst) {
  for (int j = 0; j < count; ++j) {
    int x = x0 + j;
    if (wrap) x %= width;
    dst[j] = row != nullptr && x >= 0 && x < width ? row[x] * scale : 0.0F;
  }
}

}  // namespace

struct WindowAttention::Impl {
  bool overlap = false;   // overlap_attention (HAT's OCAB) rather than window_attention
  bool permuted = false;  // permuted_attention (SRFormer): keys and values on 2x2 blocks
  int heads = 1;
  int wh = 0, ww = 0;  // query window rows and columns
  int kh = 0, kw = 0;  // key window rows and columns (the query window's for window attention)
  int margin = 0;      // key window's margin around the query window
  int sy = 0, sx = 0;  // cyclic shift of rows and columns
  float scale = 1.0F;
  std::string name;
  std::size_t block_bytes = kBlockBytes;
  std::vector<float> bias;  // [heads, N, M]: the table read through the relative index
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
};

WindowAttention::WindowAttention(const Node& n, std::size_t block_bytes)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  if (block_bytes > 0) m.block_bytes = block_bytes;
  m.overlap = n.type == OpType::overlap_attention;
  m.permuted = n.type == OpType::permuted_attention;
  m.heads = n.heads;
  m.wh = n.window;
  m.ww = m.overlap || m.permuted ? n.window : window_width(n);
  m.kh = m.overlap ? n.overlap : m.permuted ? m.wh / 2 : m.wh;
  m.kw = m.overlap ? n.overlap : m.permuted ? m.ww / 2 : m.ww;
  m.margin = (m.kh - m.wh) / 2;
  m.sy = m.overlap ? 0 : n.window_shift;
  m.sx = m.overlap ? 0 : window_shift_x(n);
  m.scale = n.scale;
  m.name = n.name;
  const int tokens = m.wh * m.ww;
  const int kt = m.kh * m.kw;
  const int span = 2 * m.ww - 1;
  m.bias.resize(static_cast<std::size_t>(m.heads) * tokens * kt);
  for (int h = 0; h < m.heads; ++h)
    for (int a = 0; a < tokens; ++a)
      for (int b = 0; b < kt; ++b) {
        int row = (a / m.ww - b / m.ww + m.wh - 1) * span + (a % m.ww - b % m.ww + m.ww - 1);
        if (m.overlap)
          row = ref::overlap_bias_row(a / m.ww, a % m.ww, b / m.kw, b % m.kw, m.wh, m.kh);
        if (m.permuted) row = ref::permuted_bias_row(a, b, m.wh);
        m.bias[(static_cast<std::size_t>(h) * tokens + a) * kt + b] =
            n.weight[static_cast<std::size_t>(row) * m.heads + h];
      }
}

WindowAttention::~WindowAttention() = default;

Tensor WindowAttention::run(const Tensor& qkv) const {
  const Impl& m = *impl_;
  const int wh = m.wh;
  const int ww = m.ww;
  // q, k and v of C channels each; permuted: q of C, and k and v of C/4 each.
  const int channels = m.permuted ? 2 * qkv.c / 3 : qkv.c / 3;
  const int quarter = channels / 4;
  if ((m.permuted ? qkv.c % 3 != 0 || channels % 4 != 0 || channels % m.heads != 0
                  : qkv.c % (3 * m.heads) != 0) ||
      qkv.h % wh != 0 || qkv.w % ww != 0) {
    throw Error(ErrorKind::internal, fmt::format("node '{}' (attention)", m.name),
                fmt::format("{} channels, {}x{}: not qkv on whole windows of {}x{}", qkv.c, qkv.w,
                            qkv.h, ww, wh));
  }
  const int hd = channels / m.heads;
  const int tokens = wh * ww;
  const int kt = m.kh * m.kw;
  const int rows = qkv.h / wh;
  const int cols = qkv.w / ww;
  const int windows = rows * cols;
  const std::size_t q_slab = static_cast<std::size_t>(channels) * tokens;  // a window's q or o
  const std::size_t k_slab = static_cast<std::size_t>(channels) * kt;      // its k or v
  const std::size_t s_slab = static_cast<std::size_t>(m.heads) * tokens * kt;
  const std::size_t per_window = sizeof(float) * (2 * q_slab + 2 * k_slab + s_slab);
  const int block = static_cast<int>(
      std::clamp<std::size_t>(m.block_bytes / per_window, 1, static_cast<std::size_t>(windows)));
  Tensor y(channels, qkv.h, qkv.w);
  dnnl::stream strm(m.eng);
  std::vector<float> q(q_slab * block), o(q_slab * block);
  std::vector<float> k(k_slab * block), v(k_slab * block);
  std::vector<float> s(s_slab * block);
  const memory::dim n = tokens;
  const memory::dim mk = kt;
  const memory::dim d = hd;
  const bool wrap = !m.overlap;
  for (int w0 = 0; w0 < windows; w0 += block) {
    const int nb = std::min(block, windows - w0);
    const memory::dim bh = static_cast<memory::dim>(nb) * m.heads;
    // Gather: per window, channel-major [C][N] slabs of q (scaled) and [C][M] of k and v.
#pragma omp parallel for collapse(2)
    for (int b = 0; b < nb; ++b) {
      for (int c = 0; c < channels; ++c) {
        const int wy = (w0 + b) / cols;
        const int wx = (w0 + b) % cols;
        auto row = [&](int ch, int yy) -> const float* {
          if (wrap) yy %= qkv.h;
          if (yy < 0 || yy >= qkv.h) return nullptr;
          return qkv.channel(ch) + static_cast<std::size_t>(yy) * qkv.w;
        };
        float* qd = &q[static_cast<std::size_t>(b) * q_slab + static_cast<std::size_t>(c) * tokens];
        for (int i = 0; i < wh; ++i) {
          gather_row(row(c, wy * wh + i + m.sy), wx * ww + m.sx, ww, qkv.w, wrap, m.scale,
                     qd + static_cast<std::size_t>(i) * ww);
        }
        const std::size_t at =
            static_cast<std::size_t>(b) * k_slab + static_cast<std::size_t>(c) * kt;
        if (m.permuted) {
          // Key channel c: channel c % (C/4) of k (v) at pixel (dy, dx) = ((c / (C/4)) / 2,
          // (c / (C/4)) % 2) of each 2x2 block.
          const int part = c / quarter;
          for (int i = 0; i < m.kh; ++i) {
            const int yy = (wy * wh + 2 * i + part / 2 + m.sy) % qkv.h;
            const float* kr = row(channels + c % quarter, yy);
            const float* vr = row(channels + quarter + c % quarter, yy);
            const int x0 = wx * ww + part % 2 + m.sx;
            for (int j = 0; j < m.kw; ++j) {
              const int xx = (x0 + 2 * j) % qkv.w;
              k[at + static_cast<std::size_t>(i) * m.kw + j] = kr[xx];
              v[at + static_cast<std::size_t>(i) * m.kw + j] = vr[xx];
            }
          }
          continue;
        }
        const int ky0 = wy * wh + m.sy - m.margin;
        const int kx0 = wx * ww + m.sx - m.margin;
        for (int i = 0; i < m.kh; ++i) {
          const std::size_t r = at + static_cast<std::size_t>(i) * m.kw;
          gather_row(row(channels + c, ky0 + i), kx0, m.kw, qkv.w, wrap, 1.0F, &k[r]);
          gather_row(row(2 * channels + c, ky0 + i), kx0, m.kw, qkv.w, wrap, 1.0F, &v[r]);
        }
      }
    }
    // Scores S[bh] = Q[bh]^T K[bh]: q is [bh][d][n], k [bh][d][m]; S is [bh][n][m].
    memory::desc q_md({bh, n, d}, dt::f32, memory::dims{d * n, 1, n});
    memory::desc k_md({bh, d, mk}, dt::f32, memory::dims{d * mk, mk, 1});
    memory::desc s_md({bh, n, mk}, dt::f32, memory::dims{n * mk, mk, 1});
    dnnl::matmul scores(dnnl::matmul::primitive_desc(dnnl::matmul::desc(q_md, k_md, s_md), m.eng));
    memory qm(q_md, m.eng, q.data());
    memory km(k_md, m.eng, k.data());
    memory sm(s_md, m.eng, s.data());
    scores.execute(strm, {{DNNL_ARG_SRC, qm}, {DNNL_ARG_WEIGHTS, km}, {DNNL_ARG_DST, sm}});
    strm.wait();
    // + relative position bias, and the shift mask on the last row and column of windows.
#pragma omp parallel for collapse(2)
    for (int b = 0; b < nb; ++b) {
      for (int h = 0; h < m.heads; ++h) {
        float* sc = &s[(static_cast<std::size_t>(b) * m.heads + h) * tokens * kt];
        const float* bias = &m.bias[static_cast<std::size_t>(h) * tokens * kt];
        for (std::size_t i = 0; i < static_cast<std::size_t>(tokens) * kt; ++i) sc[i] += bias[i];
        const int wy = (w0 + b) / cols;
        const int wx = (w0 + b) % cols;
        if ((m.sy == 0 && m.sx == 0) || (wy != rows - 1 && wx != cols - 1)) continue;
        auto label = [&](int t) {
          return 3 * ref::shift_region(wy * wh + t / ww, qkv.h, wh, m.sy) +
                 ref::shift_region(wx * ww + t % ww, qkv.w, ww, m.sx);
        };
        // Permuted: the keys' regions on the half-size grid, shifted by half the shift rounded
        // up (as the reference).
        auto key_label = [&](int t) {
          if (!m.permuted) return label(t);
          return 3 * ref::shift_region(wy * m.kh + t / m.kw, qkv.h / 2, m.kh, (m.sy + 1) / 2) +
                 ref::shift_region(wx * m.kw + t % m.kw, qkv.w / 2, m.kw, (m.sx + 1) / 2);
        };
        for (int a = 0; a < tokens; ++a) {
          const int la = label(a);
          for (int t = 0; t < kt; ++t) {
            if (key_label(t) != la) sc[static_cast<std::size_t>(a) * kt + t] += -100.0F;
          }
        }
      }
    }
    memory::desc rows_md({bh * n, mk}, dt::f32, memory::dims{mk, 1});
    dnnl::softmax_forward softmax(dnnl::softmax_forward::primitive_desc(
        dnnl::softmax_forward::desc(dnnl::prop_kind::forward_inference, rows_md, 1), m.eng));
    memory rows_mem(rows_md, m.eng, s.data());
    softmax.execute(strm, {{DNNL_ARG_SRC, rows_mem}, {DNNL_ARG_DST, rows_mem}});
    strm.wait();
    // O[bh]^T = V[bh] P[bh]^T: v is [bh][d][m], P [bh][n][m]; O^T [bh][d][n].
    memory::desc v_md({bh, d, mk}, dt::f32, memory::dims{d * mk, mk, 1});
    memory::desc pt_md({bh, mk, n}, dt::f32, memory::dims{n * mk, 1, mk});
    memory::desc o_md({bh, d, n}, dt::f32, memory::dims{d * n, n, 1});
    dnnl::matmul mix(dnnl::matmul::primitive_desc(dnnl::matmul::desc(v_md, pt_md, o_md), m.eng));
    memory vm(v_md, m.eng, v.data());
    memory pm(pt_md, m.eng, s.data());
    memory om(o_md, m.eng, o.data());
    mix.execute(strm, {{DNNL_ARG_SRC, vm}, {DNNL_ARG_WEIGHTS, pm}, {DNNL_ARG_DST, om}});
    strm.wait();
    // Scatter the heads' outputs back to their pixels.
#pragma omp parallel for collapse(2)
    for (int b = 0; b < nb; ++b) {
      for (int c = 0; c < channels; ++c) {
        const int wy = (w0 + b) / cols;
        const int wx = (w0 + b) % cols;
        const float* src =
            &o[static_cast<std::size_t>(b) * q_slab + static_cast<std::size_t>(c) * tokens];
        for (int i = 0; i < wh; ++i) {
          float* dst = y.channel(c) + static_cast<std::size_t>((wy * wh + i + m.sy) % y.h) * y.w;
          for (int j = 0; j < ww; ++j) dst[(wx * ww + j + m.sx) % y.w] = src[i * ww + j];
        }
      }
    }
  }
  return y;
}

Tensor layer_norm(const Tensor& x, const Node& n) {
  if (n.weight.size() != static_cast<std::size_t>(x.c)) return ref::layer_norm(x, n);
  Tensor y(x.c, x.h, x.w);
  const float inv_c = 1.0F / static_cast<float>(x.c);
#pragma omp parallel
  {
    std::vector<float> mean(static_cast<std::size_t>(x.w));
    std::vector<float> var(static_cast<std::size_t>(x.w));
#pragma omp for
    for (int yy = 0; yy < x.h; ++yy) {
      const std::size_t off = static_cast<std::size_t>(yy) * x.w;
      std::fill(mean.begin(), mean.end(), 0.0F);
      std::fill(var.begin(), var.end(), 0.0F);
      for (int c = 0; c < x.c; ++c) {
        const float* p = x.channel(c) + off;
        for (int i = 0; i < x.w; ++i) mean[i] += p[i];
      }
      for (int i = 0; i < x.w; ++i) mean[i] *= inv_c;
      for (int c = 0; c < x.c; ++c) {
        const float* p = x.channel(c) + off;
        for (int i = 0; i < x.w; ++i) var[i] += (p[i] - mean[i]) * (p[i] - mean[i]);
      }
      for (int i = 0; i < x.w; ++i) var[i] = 1.0F / std::sqrt(var[i] * inv_c + n.eps);
      for (int c = 0; c < x.c; ++c) {
        const float* p = x.channel(c) + off;
        float* q = y.channel(c) + off;
        const float w = n.weight[c];
        const float b = n.bias[c];
        for (int i = 0; i < x.w; ++i) q[i] = (p[i] - mean[i]) * var[i] * w + b;
      }
    }
  }
  return y;
}

namespace {

// dst[b] = src[b] x wei[b] for `batch` products of (m x k) by (k x n), each operand given by its
// pointer and strides (batch, row, column) in floats.
struct Operand {
  const float* data;
  memory::dims strides;
};

void batched_matmul(memory::dim batch, memory::dim rows, memory::dim inner, memory::dim cols,
                    const Operand& src, const Operand& wei, float* dst) {
  const dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream strm(eng);
  const memory::desc s_md({batch, rows, inner}, dt::f32, src.strides);
  const memory::desc w_md({batch, inner, cols}, dt::f32, wei.strides);
  const memory::desc d_md({batch, rows, cols}, dt::f32, memory::dims{rows * cols, cols, 1});
  const dnnl::matmul mm(dnnl::matmul::primitive_desc(dnnl::matmul::desc(s_md, w_md, d_md), eng));
  // oneDNN takes non-const handles; the sources are only read.
  memory sm(s_md, eng,
            const_cast<float*>(src.data));  // NOLINT(cppcoreguidelines-pro-type-const-cast)
  memory wm(w_md, eng,
            const_cast<float*>(wei.data));  // NOLINT(cppcoreguidelines-pro-type-const-cast)
  memory dm(d_md, eng, dst);
  mm.execute(strm, {{DNNL_ARG_SRC, sm}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DST, dm}});
  strm.wait();
}

}  // namespace

namespace {

// OmniSR's pixel groups (graph.hpp): window x window blocks, or with `grid` the pixels `window`
// apart; valid() when the image is a whole number of windows (else the reference reports it).
struct PixelGroups {
  int window = 0;
  bool grid = false;
  int h = 0, w = 0, gh = 0, gw = 0;

  PixelGroups(const Tensor& x, const Node& n) : window(n.window), grid(n.grid), h(x.h), w(x.w) {
    if (!valid()) return;
    gh = grid ? window : h / window;
    gw = grid ? window : w / window;
  }
  bool valid() const { return window > 0 && h % window == 0 && w % window == 0 && h > 0; }
  int count() const { return gh * gw; }
  // The pixel indices (y * w + x) of group g, in row order.
  void pixels(int g, std::vector<std::size_t>& out) const {
    out.clear();
    const int gy = g / gw;
    const int gx = g % gw;
    const int step = grid ? window : 1;
    const int y0 = grid ? gy : gy * window;
    const int x0 = grid ? gx : gx * window;
    const int y1 = grid ? h : y0 + window;
    const int x1 = grid ? w : x0 + window;
    for (int y = y0; y < y1; y += step)
      for (int x = x0; x < x1; x += step) {
        out.push_back(static_cast<std::size_t>(y) * w + x);
      }
  }
};

// Copies channels [first, first + count) of x at `pixels` into dst ([count][pixels]).
void gather(const Tensor& x, int first, int count, const std::vector<std::size_t>& pixels,
            std::vector<float>& dst) {
  const std::size_t np = pixels.size();
  dst.resize(static_cast<std::size_t>(count) * np);
  for (int c = 0; c < count; ++c) {
    const float* src = x.channel(first + c);
    for (std::size_t p = 0; p < np; ++p) dst[static_cast<std::size_t>(c) * np + p] = src[pixels[p]];
  }
}

// channel_gram per group: each group's q and k gathered contiguous, its statistics in double,
// the groups across the threads.
Tensor grouped_channel_gram(const Tensor& qkv, const Node& n, const PixelGroups& groups) {
  const int channels = qkv.c / 3;
  const int d = channels / n.heads;
  const std::size_t grams = static_cast<std::size_t>(n.heads) * d * d;
  const std::size_t stats = grams + 2 * static_cast<std::size_t>(channels);
  const int count = groups.count();
  Tensor y(static_cast<int>(stats), groups.gh, groups.gw);
#pragma omp parallel
  {
    std::vector<std::size_t> px;
    std::vector<float> qk;
#pragma omp for
    for (int g = 0; g < count; ++g) {
      groups.pixels(g, px);
      gather(qkv, 0, 2 * channels, px, qk);
      const std::size_t np = px.size();
      const auto mean = [&](const float* a, const float* b) {
        double acc = 0;
        for (std::size_t p = 0; p < np; ++p) acc += static_cast<double>(a[p]) * b[p];
        return static_cast<float>(acc / static_cast<double>(np));
      };
      const auto row = [&](int c) { return &qk[static_cast<std::size_t>(c) * np]; };
      for (int h = 0; h < n.heads; ++h)
        for (int i = 0; i < d; ++i)
          for (int j = 0; j < d; ++j) {
            const std::size_t s = (static_cast<std::size_t>(h) * d + i) * d + j;
            y.data[s * count + g] = mean(row(h * d + i), row(channels + h * d + j));
          }
      for (int c = 0; c < 2 * channels; ++c) {
        y.data[(grams + c) * count + g] = mean(row(c), row(c));
      }
    }
  }
  return y;
}

// channel_attention per group: v gathered, mixed by the group's matrices, scattered back.
Tensor grouped_channel_attention(const Tensor& qkv, const std::vector<float>& a, const Node& n,
                                 const PixelGroups& groups) {
  const int channels = qkv.c / 3;
  const int d = channels / n.heads;
  const std::size_t grams = static_cast<std::size_t>(n.heads) * d * d;
  Tensor y(channels, qkv.h, qkv.w);
#pragma omp parallel
  {
    std::vector<std::size_t> px;
    std::vector<float> v;
    std::vector<float> out;
#pragma omp for
    for (int g = 0; g < groups.count(); ++g) {
      groups.pixels(g, px);
      gather(qkv, 2 * channels, channels, px, v);
      const std::size_t np = px.size();
      out.assign(np, 0.0F);
      const float* m = &a[static_cast<std::size_t>(g) * grams];
      for (int h = 0; h < n.heads; ++h)
        for (int i = 0; i < d; ++i) {
          std::fill(out.begin(), out.end(), 0.0F);
          for (int j = 0; j < d; ++j) {
            const float weight = m[(static_cast<std::size_t>(h) * d + i) * d + j];
            const float* src = &v[static_cast<std::size_t>(h * d + j) * np];
            for (std::size_t p = 0; p < np; ++p) out[p] += weight * src[p];
          }
          float* dst = y.channel(h * d + i);
          for (std::size_t p = 0; p < np; ++p) dst[px[p]] = out[p];
        }
    }
  }
  return y;
}

}  // namespace

Tensor channel_gram(const Tensor& qkv, const Node& n) {
  if (n.heads < 1 || qkv.c % (3 * n.heads) != 0 || qkv.plane() == 0) {
    return ref::channel_gram(qkv, n);
  }
  if (n.window != 0) {  // per window or grid phase (OmniSR)
    const PixelGroups groups(qkv, n);
    if (!groups.valid()) return ref::channel_gram(qkv, n);
    return grouped_channel_gram(qkv, n, groups);
  }
  const int channels = qkv.c / 3;
  const memory::dim d = channels / n.heads;
  const auto pixels = static_cast<memory::dim>(qkv.plane());
  const std::size_t grams = static_cast<std::size_t>(n.heads) * d * d;
  Tensor y(static_cast<int>(grams) + 2 * channels, 1, 1);
  // G[h] = Q[h] K[h]^T: q is [h][d][P]; k read as [h][P][d] (column stride P).
  batched_matmul(n.heads, d, pixels, d, {qkv.channel(0), {d * pixels, pixels, 1}},
                 {qkv.channel(channels), {d * pixels, 1, pixels}}, y.data.data());
  const auto inv = static_cast<float>(1.0 / static_cast<double>(pixels));
  for (std::size_t i = 0; i < grams; ++i) y.data[i] *= inv;
#pragma omp parallel for
  for (int c = 0; c < 2 * channels; ++c) {
    const float* x = qkv.channel(c);
    double acc = 0;
    for (std::size_t p = 0; p < qkv.plane(); ++p) acc += static_cast<double>(x[p]) * x[p];
    y.data[grams + c] = static_cast<float>(acc / static_cast<double>(pixels));
  }
  return y;
}

Tensor channel_attention(const Tensor& qkv, const Tensor& gram, const Node& n) {
  const int channels = n.heads > 0 ? qkv.c / 3 : 0;
  const int d = n.heads > 0 ? channels / n.heads : 0;
  const std::size_t stats =
      static_cast<std::size_t>(n.heads) * d * d + 2 * static_cast<std::size_t>(channels);
  if (n.heads < 1 || qkv.c % (3 * n.heads) != 0 || qkv.plane() == 0 ||
      gram.c != static_cast<int>(stats)) {
    return ref::channel_attention(qkv, gram, n);
  }
  if (n.window != 0) {  // per window or grid phase (OmniSR)
    const PixelGroups groups(qkv, n);
    if (!groups.valid() || gram.h != groups.gh || gram.w != groups.gw) {
      return ref::channel_attention(qkv, gram, n);
    }
    return grouped_channel_attention(qkv, ref::channel_attention_matrix(gram, n, channels), n,
                                     groups);
  }
  if (gram.size() != stats) return ref::channel_attention(qkv, gram, n);
  const std::vector<float> a = ref::channel_attention_matrix(gram, n, channels);
  const auto pixels = static_cast<memory::dim>(qkv.plane());
  const memory::dim dd = d;
  Tensor y(channels, qkv.h, qkv.w);
  // Y[h] = A[h] V[h]: A is [h][d][d], v [h][d][P].
  batched_matmul(n.heads, dd, dd, pixels, {a.data(), {dd * dd, dd, 1}},
                 {qkv.channel(2 * channels), {dd * pixels, pixels, 1}}, y.data.data());
  return y;
}

Tensor token_attention(const Tensor& q, const Tensor& kv, const Node& n) {
  const int cq = q.c;
  const int cv = kv.c - cq;
  if (n.heads < 1 || cq % n.heads != 0 || cv < 1 || cv % n.heads != 0 || kv.plane() == 0) {
    return ref::token_attention(q, kv, n);
  }
  const memory::dim heads = n.heads;
  const memory::dim dq = cq / n.heads;
  const memory::dim dv = cv / n.heads;
  const auto tokens = static_cast<memory::dim>(kv.plane());
  const auto pixels = static_cast<memory::dim>(q.plane());
  // Pixels per block: the scores ([heads][block][tokens]) and the block's output take at most
  // kBlockBytes.
  const auto per_pixel = static_cast<memory::dim>(sizeof(float)) * heads * (tokens + dv);
  const memory::dim block =
      std::clamp<memory::dim>(static_cast<memory::dim>(kBlockBytes) / per_pixel, 1, pixels);
  Tensor y(cv, q.h, q.w);
  std::vector<float> scores(static_cast<std::size_t>(heads * block * tokens));
  std::vector<float> out(static_cast<std::size_t>(heads * dv * block));
  for (memory::dim p0 = 0; p0 < pixels; p0 += block) {
    const memory::dim nb = std::min(block, pixels - p0);
    // S[h] = Q[h]^T K[h]: q read as [h][pixel][d] (pixel stride 1, channel stride P), k as
    // [h][d][token].
    batched_matmul(heads, nb, dq, tokens, {q.channel(0) + p0, {dq * pixels, 1, pixels}},
                   {kv.channel(0), {dq * tokens, tokens, 1}}, scores.data());
#pragma omp parallel for
    for (memory::dim r = 0; r < heads * nb; ++r) {
      float* row = &scores[static_cast<std::size_t>(r * tokens)];
      float top = -std::numeric_limits<float>::infinity();
      for (memory::dim t = 0; t < tokens; ++t) {
        row[t] *= n.scale;
        top = std::max(top, row[t]);
      }
      float total = 0;
      for (memory::dim t = 0; t < tokens; ++t) {
        row[t] = std::exp(row[t] - top);
        total += row[t];
      }
      for (memory::dim t = 0; t < tokens; ++t) row[t] /= total;
    }
    // O[h] = V[h] S[h]^T: v is [h][dv][token], S^T read as [h][token][pixel].
    batched_matmul(heads, dv, tokens, nb, {kv.channel(cq), {dv * tokens, tokens, 1}},
                   {scores.data(), {nb * tokens, 1, tokens}}, out.data());
#pragma omp parallel for
    for (memory::dim c = 0; c < heads * dv; ++c) {
      std::copy_n(&out[static_cast<std::size_t>(c * nb)], nb, y.channel(static_cast<int>(c)) + p0);
    }
  }
  return y;
}

}  // namespace hires::engine::cpu
