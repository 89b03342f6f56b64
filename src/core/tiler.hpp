// Runs a model over an image of any size in tiles. Each tile is given its full receptive field of
// context (clipped at the image edges, where the net sees the same zero padding as on the whole
// image) and only its core is kept, so the output does not depend on the tile size: tile 64,
// tile 512 and no tiling agree up to float rounding.
#pragma once

#include <functional>
#include <mutex>

#include "core/resample.hpp"
#include "engine/backend.hpp"
#include "engine/graph.hpp"

namespace hires::core {

struct TilePlan {
  int tile = 0;     // core size in input pixels
  int context = 0;  // input pixels of context on each side
};

// Chooses the tile size: `requested` when > 0, else the largest that keeps the net's
// activations within `memory_budget` bytes (at least 32, at most 1024).
TilePlan plan_tiles(const engine::Graph& g, int requested, std::uint64_t memory_budget);

// Input pixels as planar float [channels, rect.height, rect.width], values 0..1.
using ReadFn = std::function<engine::Tensor(const Rect& rect)>;

// Computes the model output for input rows [y0, y1) over the whole width (all tiles of that band).
// Returns [out_channels, (y1 - y0) * scale, width * scale].
engine::Tensor run_band(const engine::Graph& g, engine::Backend& backend, const TilePlan& plan,
                        int width, int height, int y0, int y1, const ReadFn& read);

}  // namespace hires::core
