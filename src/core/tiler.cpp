#include "core/tiler.hpp"

#include <algorithm>
#include <cmath>

#include "engine/ops_reference.hpp"

namespace hires::core {

TilePlan plan_tiles(const engine::Graph& g, int requested, std::uint64_t memory_budget) {
  TilePlan p;
  p.context = g.receptive_radius;
  if (requested > 0) {
    p.tile = requested;
    return p;
  }
  int width = 3;
  for (const auto& n : g.nodes) {
    if (n.type == engine::OpType::conv2d) width = std::max({width, n.out_channels, n.in_channels});
  }
  // About three live activations of `width` channels, plus the output at scale^2.
  const double per_pixel = 4.0 * (3.0 * width + 3.0 * g.scale * g.scale * 2.0);
  const double side = std::sqrt(static_cast<double>(memory_budget) / per_pixel);
  const int tile = static_cast<int>(side) - 2 * p.context;
  p.tile = std::clamp(tile, 32, 1024);
  return p;
}

engine::Tensor run_band(const engine::Graph& g, engine::Backend& backend, const TilePlan& plan,
                        int width, int height, int y0, int y1, const ReadFn& read) {
  const int s = g.scale;
  const int m = std::max(1, g.size_multiple);
  engine::Tensor out(g.out_channels, (y1 - y0) * s, width * s);
  const int cy0 = std::max(0, y0 - plan.context);
  const int cy1 = std::min(height, y1 + plan.context);
  for (int x0 = 0; x0 < width; x0 += plan.tile) {
    const int x1 = std::min(width, x0 + plan.tile);
    const int cx0 = std::max(0, x0 - plan.context);
    const int cx1 = std::min(width, x1 + plan.context);
    engine::Tensor in = read({cx0, cy0, cx1 - cx0, cy1 - cy0});
    // Nets that fold pixels (pixel_unshuffle) need sides that are multiples of m: replicate the
    // far edges, as full-image inference would have to as well.
    const int pw = (m - in.w % m) % m;
    const int ph = (m - in.h % m) % m;
    if (pw != 0 || ph != 0) {
      engine::Node pad;
      pad.type = engine::OpType::pad;
      pad.pad_mode = engine::PadMode::replicate;
      pad.right = pw;
      pad.bottom = ph;
      in = engine::ref::pad(in, pad);
    }
    const engine::Tensor y = backend.run(in);
    // Keep the core: input rows [y0, y1) and columns [x0, x1).
    const int oy = (y0 - cy0) * s;
    const int ox = (x0 - cx0) * s;
    const int rows = (y1 - y0) * s;
    const int cols = (x1 - x0) * s;
    for (int c = 0; c < out.c; ++c) {
      for (int r = 0; r < rows; ++r) {
        const float* src = y.channel(c) + static_cast<std::size_t>(oy + r) * y.w + ox;
        float* dst = out.channel(c) + static_cast<std::size_t>(r) * out.w + x0 * s;
        std::copy(src, src + cols, dst);
      }
    }
  }
  return out;
}

}  // namespace hires::core
