// Times warm forward passes of any model file hires reads (.pth, .safetensors, ncnn .param) on
// one input, and checks the output against a reference computed elsewhere (PyTorch).
// IO is a safetensors file with tensors `input` (1, C, H, W) and `output` (the reference result).
// Prints one line: median and min seconds over REPS warm passes and the max abs difference.
// Usage: bench_engine_model MODEL IO [reps=3] [threads=0 (all cores)] [backend=cpu]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/backend.hpp"
#include "hires/error.hpp"
#include "models/formats/safetensors.hpp"
#include "models/model.hpp"

namespace {

hires::engine::Tensor to_tensor(const hires::models::TensorData& t) {
  if (t.shape.size() != 4 || t.shape[0] != 1) {
    throw hires::Error(hires::ErrorKind::input, "io", "expected a (1, C, H, W) tensor");
  }
  hires::engine::Tensor x(static_cast<int>(t.shape[1]), static_cast<int>(t.shape[2]),
                          static_cast<int>(t.shape[3]));
  x.data = t.values;
  return x;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_engine_model MODEL IO [reps] [threads] [backend]\n");
    return 2;
  }
  const int reps = argc > 3 ? std::atoi(argv[3]) : 3;
  const int threads = argc > 4 ? std::atoi(argv[4]) : 0;
  const std::string backend = argc > 5 ? argv[5] : "cpu";
  try {
    const auto t_load = std::chrono::steady_clock::now();
    const auto model = hires::load_model_file(argv[1]);
    hires::engine::BackendOptions options;
    options.threads = threads;
    const auto made = hires::engine::make_backend(hires::parse_backend("backend", backend),
                                                  model->graph(), options);
    hires::engine::Backend& be = *made;
    const double load_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();
    const hires::models::SafeTensors io = hires::models::load_safetensors(argv[2]);
    const hires::engine::Tensor x = to_tensor(io.get("input"));
    const hires::engine::Tensor want = to_tensor(io.get("output"));
    hires::engine::Tensor y = be.run(x);  // warm-up: primitive creation and weight reorders
    std::vector<double> times;
    for (int i = 0; i < reps; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      y = be.run(x);
      times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    if (y.c != want.c || y.h != want.h || y.w != want.w) {
      std::fprintf(stderr, "output is %dx%dx%d, reference %dx%dx%d\n", y.c, y.h, y.w, want.c,
                   want.h, want.w);
      return 1;
    }
    double max_diff = 0;
    for (std::size_t i = 0; i < y.size(); ++i) {
      max_diff = std::max(max_diff, static_cast<double>(std::abs(y.data[i] - want.data[i])));
    }
    std::sort(times.begin(), times.end());
    const auto& info = model->info();
    std::printf(
        "model=%s arch=%s scale=%d params=%llu median=%.3f s min=%.3f s load=%.3f s "
        "max_abs_diff=%.3g\n%s\n",
        info.name.c_str(), info.architecture.c_str(), info.scale,
        static_cast<unsigned long long>(info.parameters), times[times.size() / 2], times.front(),
        load_s, max_diff, be.describe().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_engine_model: %s\n", e.what());
    return 1;
  }
  return 0;
}
