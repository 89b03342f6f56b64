// Times one forward pass of an SRVGGNetCompact (structure of realesr-general-x4v3 by default:
// 64 features, 32 body convolutions, x4) with random weights on the cpu backend.
// Usage: bench_engine_srvgg [size=256] [reps=5] [num_feat=64] [num_conv=32] [backend=cpu]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "engine/backend.hpp"
#include "models/srvgg.hpp"

int main(int argc, char** argv) {
  const int size = argc > 1 ? std::atoi(argv[1]) : 256;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 5;
  hires::models::SrvggConfig c;
  c.num_feat = argc > 3 ? std::atoi(argv[3]) : 64;
  c.num_conv = argc > 4 ? std::atoi(argv[4]) : 32;
  const std::string backend = argc > 5 ? argv[5] : "cpu";
  const auto t_load = std::chrono::steady_clock::now();
  const hires::engine::Graph g = hires::models::build_srvgg_random(c, 1);
  auto be = hires::engine::make_backend(backend, g, {});
  const double load_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();
  hires::engine::Tensor x(3, size, size);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> d(0.0F, 1.0F);
  for (float& v : x.data) v = d(rng);
  be->run(x);  // warm-up: primitive creation and weight reorders
  std::vector<double> times;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    be->run(x);
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  const double med = times[times.size() / 2];
  // FLOPs: 2 * MACs of every convolution.
  double flops = 0;
  for (const auto& n : g.nodes) {
    if (n.type == hires::engine::OpType::conv2d) {
      flops +=
          2.0 * n.out_channels * (n.in_channels / n.groups) * n.kernel * n.kernel * size * size;
    }
  }
  std::printf(
      "backend=%s size=%d feat=%d conv=%d median=%.3f s min=%.3f s gflops=%.1f load=%.3f s\n%s\n",
      backend.c_str(), size, c.num_feat, c.num_conv, med, times.front(), flops / med / 1e9, load_s,
      be->describe().c_str());
  return 0;
}
