// engine::peak_floats_per_pixel: what plan_tiles sizes tiles by.
#include <gtest/gtest.h>

#include "engine/graph.hpp"
#include "engine/tiler.hpp"

namespace hires::engine {
namespace {

int conv(Graph& g, int in, int cin, int cout, int stride = 1) {
  Node n;
  n.type = OpType::conv2d;
  n.inputs = {in};
  n.output = g.add_value();
  n.in_channels = cin;
  n.out_channels = cout;
  n.kernel = 3;
  n.stride = stride;
  n.padding = 1;
  n.weight.assign(static_cast<std::size_t>(cout) * cin * 9, 0.0F);
  g.nodes.push_back(n);
  return n.output;
}

int op(Graph& g, OpType type, std::vector<int> inputs, int factor = 1) {
  Node n;
  n.type = type;
  n.inputs = std::move(inputs);
  n.output = g.add_value();
  n.factor = factor;
  g.nodes.push_back(n);
  return n.output;
}

TEST(TileMemory, AChainHoldsItsWidestStepAndTheConvsWorkingCopies) {
  Graph g;
  const int a = conv(g, g.input, 3, 64);
  const int r = op(g, OpType::relu, {a});  // in place: nothing new
  g.output = conv(g, r, 64, 3);
  // The tile read and padded (2 x 3), then the first conv: its 64 channels out and Winograd's
  // 2.25 x (3 + 64) working floats; the second conv sees 64 in, 3 out, the same working copies.
  EXPECT_DOUBLE_EQ(peak_floats_per_pixel(g), 6 + 64 + 2.25 * 67);
}

TEST(TileMemory, SkipConnectionsKeepTheirValuesAlive) {
  Graph g;
  const int a = conv(g, g.input, 3, 32);
  const int down = conv(g, a, 32, 64, 2);  // a quarter of the pixels
  const int up = op(g, OpType::pixel_shuffle, {conv(g, down, 64, 128)}, 2);  // 32 channels again
  g.output = op(g, OpType::concat, {a, up});
  // The peak is the 64 -> 128 conv at a quarter of the pixels: the input is gone (3 of the 6
  // read), `a` (32) is kept for the concat, `down` (64 / 4 = 16) and the output (128 / 4 = 32)
  // are alive, and Winograd's copies take 2.25 x (16 + 32).
  EXPECT_DOUBLE_EQ(peak_floats_per_pixel(g), 3 + 32 + 16 + 32 + 2.25 * 48);
  // Without the skip the same net holds less.
  Graph chain;
  const int c = conv(chain, chain.input, 3, 32);
  const int d = conv(chain, c, 32, 64, 2);
  chain.output = op(chain, OpType::pixel_shuffle, {conv(chain, d, 64, 128)}, 2);
  EXPECT_LT(peak_floats_per_pixel(chain), peak_floats_per_pixel(g));
}

TEST(TileMemory, TilesFollowThePeak) {
  Graph g;
  g.output = conv(g, conv(g, g.input, 3, 64), 64, 3);
  const TilePlan p = plan_tiles(g, 0, 64ULL << 20, 100000);
  // Half the budget for the tile with its context: side^2 x 4 bytes x peak <= 32 MiB.
  const double side = p.tile + 2.0 * p.context;
  EXPECT_LE(side * side * 4 * peak_floats_per_pixel(g), 32.0 * (1 << 20));
  EXPECT_GT((side + 16) * (side + 16) * 4 * peak_floats_per_pixel(g), 32.0 * (1 << 20));
}

}  // namespace
}  // namespace hires::engine
