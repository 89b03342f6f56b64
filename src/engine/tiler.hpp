// Runs a model over an image of any size in tiles. Each tile is given its full receptive field of
// context (clipped at the image edges, where the net sees the same zero padding as on the whole
// image) and only its core is kept, so the output does not depend on the tile size: tile 64,
// tile 512 and no tiling agree up to float rounding. Exception: nets with global average pooling
// (squeeze-and-excitation blocks, Real-CUGAN, waifu2x cunet) get the largest tiles; when the image
// still takes several, every tile uses means estimated by a first pass over the tiles
// (estimate_global_means), which are close to but not exactly the whole image's.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include "core/resample.hpp"
#include "engine/backend.hpp"
#include "engine/graph.hpp"

namespace hires::engine {

struct TilePlan {
  int tile = 0;     // tile width (and at most height) in input pixels
  int band = 0;     // rows per band in input pixels (a band is a row of tiles)
  int context = 0;  // input pixels of context on each side
  // Nets with global pooling, image in several tiles: the pools' outputs every tile uses (see
  // estimate_global_means); null = each tile takes its own means.
  std::shared_ptr<const std::map<int, Tensor>> global_means;
};

// Chooses the tile size: `requested` when > 0, else the largest that keeps the net's
// activations within half of `memory_budget` bytes (at least 32, at most 1024, or 8192 for nets
// with global pooling, whose SE means are taken over a tile), or the whole image when an image
// `width` x `height` fits there at once (nets with a wide receptive field, like RRDBNet's ~350
// pixels, would otherwise run small tiles whose context is the whole image over and over); and
// the band height so that two bands of 16-bit output for an image `width` pixels wide fit in the
// other half. Tile and band are multiples of the graph's size_multiple. `height` 0: unknown.
TilePlan plan_tiles(const Graph& g, int requested, std::uint64_t memory_budget, int width,
                    int height = 0);

// Floats per input pixel a run of `g` holds at its peak: the values alive at once (the backends
// free each after its last use), with each value's channels and size relative to the input
// (strided convs, pixel (un)shuffles, upsampling), plus the working copies of the op that runs
// (a 3x3 conv's Winograd transforms, layout reorders) and the tile's own input. What plan_tiles
// sizes tiles by; a U-Net with skip connections holds far more than a plain chain.
double peak_floats_per_pixel(const Graph& g);

// Receives one tile's output: `out` is the net's output for the tile with its context; the core
// to keep is rows [src_y, src_y + rows) and columns [src_x, src_x + cols) of it, which belong at
// column dst_x of the band's output (row 0 of the band).
using EmitFn =
    std::function<void(const Tensor& out, int src_y, int src_x, int rows, int cols, int dst_x)>;

// True when `g` has global pooling (SE blocks) and a `width` x `height` image takes more than
// one tile under `plan`: its tiles should then share global means.
bool needs_global_means(const Graph& g, const TilePlan& plan, int width, int height);

// Input pixels as planar float [channels, rect.height, rect.width], values 0..1.
using ReadFn = std::function<Tensor(const core::Rect& rect)>;

// The global pooling nodes' outputs (value id -> [C,1,1]) averaged over every tile of the image
// (each run with its own means, weighted by its core's area): a first pass over the tiles. Every
// tile then uses these means, so the output no longer depends on where tile borders fall, and the
// means are close to the whole image's own (exact for the first SE block when there is no
// context overlap; deeper blocks see first-pass inputs).
std::shared_ptr<const std::map<int, Tensor>> estimate_global_means(const Graph& g, Backend& backend,
                                                                   const TilePlan& plan, int width,
                                                                   int height, const ReadFn& read);

// Sets plan.global_means by a first pass over the tiles when the net needs shared means on this
// image (see needs_global_means); otherwise leaves the plan as it is. The one place both drivers
// (the lazy band cache in pipeline/ and run_image) decide it.
void prepare_plan(const Graph& g, Backend& backend, TilePlan& plan, int width, int height,
                  const ReadFn& read);

// Receives one band's output: rows [y0 * scale, y1 * scale) of the image, as `emit` would.
using BandEmitFn = std::function<void(int y0, const Tensor& out, int src_y, int src_x, int rows,
                                      int cols, int dst_x)>;

// The tile-band driver: every band of a `width` x `height` image, top to bottom (after
// prepare_plan). Used for whole images held in memory (eval, tests); the streaming path asks for
// single bands through run_band as its cache needs them.
void run_image(const Graph& g, Backend& backend, TilePlan plan, int width, int height,
               const ReadFn& read, const BandEmitFn& emit);

// Runs every tile of the band of input rows [y0, y1) across the whole width.
void run_band(const Graph& g, Backend& backend, const TilePlan& plan, int width, int height, int y0,
              int y1, const ReadFn& read, const EmitFn& emit);

}  // namespace hires::engine
