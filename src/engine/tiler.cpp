#include "engine/tiler.hpp"

#include <malloc.h>
#include <algorithm>
#include <array>

#include <cmath>
#include <numeric>
#include <vector>

#include "engine/ops_reference.hpp"

namespace hires::engine {

double peak_floats_per_pixel(const Graph& g) {
  struct Shape {
    double channels = 0;
    double area = 0;  // pixels per input pixel
    double floats() const { return channels * area; }
  };
  std::vector<Shape> shapes(static_cast<std::size_t>(g.num_values));
  shapes[g.input] = {static_cast<double>(g.in_channels), 1.0};
  std::vector<int> last(static_cast<std::size_t>(g.num_values), -1);
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    for (int v : g.nodes[i].inputs) last[v] = static_cast<int>(i);
  }
  // The tile as read and padded, beside the value the graph starts from.
  double live = 2.0 * g.in_channels;
  double peak = live;
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    const Shape in = n.inputs.empty() ? Shape{} : shapes[n.inputs[0]];
    Shape out = in;
    double work = 0;
    const double f2 = static_cast<double>(n.factor) * n.factor;
    switch (n.type) {
      case OpType::conv2d:
      case OpType::deconv2d: {
        const double s2 = static_cast<double>(n.stride) * n.stride;
        out = {static_cast<double>(n.out_channels),
               n.type == OpType::conv2d ? in.area / s2 : in.area * s2};
        // Winograd F(4,3) works on 6x6 tiles per 4x4 outputs (2.25x both sides); other convs
        // reorder their input and output once.
        const double copies = n.kernel == 3 && n.stride == 1 ? 2.25 : 1.0;
        work = copies * (in.floats() + out.floats());
        break;
      }
      case OpType::pixel_shuffle:
        out = {in.channels / f2, in.area * f2};
        break;
      case OpType::pixel_unshuffle:
        out = {in.channels * f2, in.area / f2};
        break;
      case OpType::upsample_nearest:
      case OpType::upsample_bilinear:
      case OpType::offset_sample:
        out = {in.channels, in.area * f2};
        break;
      case OpType::global_avg_pool:
      case OpType::channel_gram:  // [heads*d*d + 2C, 1, 1]: small beside any image
        out = {in.channels, 0.0};
        break;
      case OpType::max_pool:
        out = {in.channels, in.area / (static_cast<double>(n.stride) * n.stride)};
        break;
      case OpType::resize_bilinear_like:
        out = {in.channels, shapes[n.inputs[1]].area};
        break;
      case OpType::concat:
        out.channels = 0;
        for (int v : n.inputs) out.channels += shapes[v].channels;
        break;
      case OpType::slice_channels:
        out.channels = n.count;
        break;
      case OpType::window_attention:  // qkv in, C out; its windows' buffers are bounded
      case OpType::overlap_attention:
      case OpType::channel_attention:
        out.channels = in.channels / 3;
        break;
      case OpType::permuted_attention:
        out.channels = 2 * in.channels / 3;
        break;
      case OpType::recursive_reduction:  // at least `count` times
        out.area =
            in.area / std::pow(static_cast<double>(n.kernel) * n.kernel, std::max(1, n.count));
        break;
      case OpType::token_attention:  // the tokens' values at every pixel; scores in blocks
        out.channels = shapes[n.inputs[1]].channels - in.channels;
        break;
      default:
        break;
    }
    shapes[n.output] = out;
    const bool unary =
        n.type == OpType::relu || n.type == OpType::leaky_relu || n.type == OpType::silu ||
        n.type == OpType::gelu || n.type == OpType::sigmoid || n.type == OpType::mish ||
        n.type == OpType::group_norm || n.type == OpType::prelu || n.type == OpType::scale_shift;
    if (unary && last[n.inputs[0]] == static_cast<int>(i) && n.inputs[0] != g.output) {
      continue;  // done in place (or fused into the conv before it): nothing new is alive
    }
    peak = std::max(peak, live + out.floats() + work);
    live += out.floats();
    for (int v : n.inputs) {
      if (last[v] == static_cast<int>(i) && v != g.output) live -= shapes[v].floats();
    }
  }
  return peak;
}

TilePlan plan_tiles(const Graph& g, int requested, std::uint64_t memory_budget, int width,
                    int height) {
  TilePlan p;
  // Tiles and bands start at multiples of the size multiple and of the tile alignment (window
  // attention: a tile's windows are the image's), and the context is one.
  const int m = std::lcm(std::max(1, g.size_multiple), std::max(1, g.tile_align));
  p.context = (g.receptive_radius + m - 1) / m * m;
  const double half = static_cast<double>(memory_budget) / 2.0;
  // Two cached bands of 16-bit output, out_channels at scale^2 per input pixel.
  const double row_bytes = 2.0 * 2.0 * g.out_channels * g.scale * g.scale * std::max(1, width);
  const int band_rows = static_cast<int>(half / row_bytes);
  // So strided layers see the same pixel phase as on the whole image.
  const auto round_down = [m](int v) { return std::max(m, v / m * m); };
  if (requested > 0) {
    p.tile = round_down(requested);
    p.band = round_down(std::clamp(band_rows, 1, p.tile));
    return p;
  }
  // The graph's peak, in bytes per input pixel of the tile with its context.
  const double per_pixel = 4.0 * peak_floats_per_pixel(g);
  const double side = std::sqrt(half / per_pixel);
  const int tile = static_cast<int>(side) - 2 * p.context;
  // Nets with global pooling (SE blocks) average over their tile, not the whole image: they get
  // the largest tiles the budget allows, so that most images run as one tile.
  const int most = has_global_context(g) ? 8192 : 1024;
  p.tile = round_down(std::clamp(tile, 32, most));
  if (height > 0 && per_pixel * width * height <= half) {
    const auto round_up = [m](int v) { return (v + m - 1) / m * m; };
    p.tile = std::max({p.tile, round_up(width), round_up(height)});
  }
  p.band = round_down(std::clamp(band_rows, std::min(16, p.tile), p.tile));
  return p;
}

bool needs_global_means(const Graph& g, const TilePlan& plan, int width, int height) {
  // Only pools' means and channel attention's statistics can be shared; GroupNorm's statistics
  // stay per tile (largest tiles).
  const bool pools = std::any_of(g.nodes.begin(), g.nodes.end(),
                                 [](const Node& n) { return is_global_statistic(n); });
  return pools && (width > plan.tile || height > plan.band);
}

namespace {
// Replicates the far edges up to multiples of m (what nets that fold pixels need).
Tensor pad_to_multiple(Tensor in, int m) {
  const int pw = (m - in.w % m) % m;
  const int ph = (m - in.h % m) % m;
  if (pw == 0 && ph == 0) return in;
  Node pad;
  pad.type = OpType::pad;
  pad.pad_mode = PadMode::replicate;
  pad.right = pw;
  pad.bottom = ph;
  return ref::pad(in, pad);
}

// Calls fn(x0, x1, cx0, cy0, input) for each tile of the band [y0, y1): its columns [x0, x1), and
// the input it runs on, which starts at (cx0, cy0): the tile with the plan's context around it
// (clamped to the image), padded to a multiple of m.
template <class Fn>
void for_each_tile(const TilePlan& plan, int width, int height, int y0, int y1, int m,
                   const ReadFn& read, Fn&& fn) {
  const int cy0 = std::max(0, y0 - plan.context);
  const int cy1 = std::min(height, y1 + plan.context);
  for (int x0 = 0; x0 < width; x0 += plan.tile) {
    const int x1 = std::min(width, x0 + plan.tile);
    const int cx0 = std::max(0, x0 - plan.context);
    const int cx1 = std::min(width, x1 + plan.context);
    // Nets that fold pixels (pixel_unshuffle) need sides that are multiples of m: replicate the
    // far edges, as full-image inference would have to as well.
    fn(x0, x1, cx0, cy0, pad_to_multiple(read({cx0, cy0, cx1 - cx0, cy1 - cy0}), m));
    // Hand the tile's freed activations back to the system: glibc keeps freed blocks in its
    // per-thread arenas, and over the tiles of a band they added up to several budgets of RSS
    // (Real-CUGAN at --memory-budget 128M: 466 MB before, see docs/BENCHMARKS.md).
    malloc_trim(0);
  }
}
}  // namespace

std::shared_ptr<const std::map<int, Tensor>> estimate_global_means(const Graph& g, Backend& backend,
                                                                   const TilePlan& plan, int width,
                                                                   int height, const ReadFn& read) {
  const int m = std::max(1, g.size_multiple);
  std::map<int, std::vector<double>> sums;
  std::map<int, std::array<int, 3>> shapes;
  double total = 0;
  backend.set_global_means({});
  for (int y0 = 0; y0 < height; y0 += plan.band) {
    const int y1 = std::min(height, y0 + plan.band);
    for_each_tile(plan, width, height, y0, y1, m, read,
                  [&](int x0, int x1, int /*cx0*/, int /*cy0*/, const Tensor& in) {
                    backend.run(in);
                    const double weight = static_cast<double>(x1 - x0) * (y1 - y0);
                    total += weight;
                    for (const auto& [id, t] : backend.last_global_means()) {
                      auto& acc = sums[id];
                      acc.resize(t.size(), 0.0);
                      for (std::size_t i = 0; i < t.size(); ++i) acc[i] += weight * t.data[i];
                      if (shapes.count(id) == 0) shapes[id] = {t.c, t.h, t.w};
                    }
                  });
  }
  auto means = std::make_shared<std::map<int, Tensor>>();
  for (const auto& [id, acc] : sums) {
    const auto& [c, h, w] = shapes[id];  // [C,1,1], or per phase of a grid [S, k, k]
    Tensor t(c, h, w);
    for (std::size_t i = 0; i < acc.size() && i < t.size(); ++i) {
      t.data[i] = static_cast<float>(acc[i] / total);
    }
    (*means)[id] = std::move(t);
  }
  return means;
}

void run_band(const Graph& g, Backend& backend, const TilePlan& plan, int width, int height, int y0,
              int y1, const ReadFn& read, const EmitFn& emit) {
  const int s = g.scale;
  const int m = std::max(1, g.size_multiple);
  backend.set_global_means(plan.global_means ? *plan.global_means : std::map<int, Tensor>{});
  for_each_tile(plan, width, height, y0, y1, m, read,
                [&](int x0, int x1, int cx0, int cy0, const Tensor& in) {
                  const Tensor y = backend.run(in);
                  emit(y, (y0 - cy0) * s, (x0 - cx0) * s, (y1 - y0) * s, (x1 - x0) * s, x0 * s);
                });
}

void prepare_plan(const Graph& g, Backend& backend, TilePlan& plan, int width, int height,
                  const ReadFn& read) {
  if (needs_global_means(g, plan, width, height)) {
    plan.global_means = estimate_global_means(g, backend, plan, width, height, read);
  }
}

void run_image(const Graph& g, Backend& backend, TilePlan plan, int width, int height,
               const ReadFn& read, const BandEmitFn& emit) {
  prepare_plan(g, backend, plan, width, height, read);
  for (int y0 = 0; y0 < height; y0 += plan.band) {
    const int y1 = std::min(height, y0 + plan.band);
    run_band(g, backend, plan, width, height, y0, y1, read,
             [&](const Tensor& out, int src_y, int src_x, int rows, int cols, int dst_x) {
               emit(y0, out, src_y, src_x, rows, cols, dst_x);
             });
  }
}

}  // namespace hires::engine
