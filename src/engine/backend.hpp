// Backends run a graph on one input tensor. `reference` is plain loops (the oracle); `cpu` uses
// oneDNN convolutions with fused activations and keeps activations in oneDNN's layout; `vulkan`
// runs compute shaders on a Vulkan device (vulkan/, built when libvulkan-dev and glslc are found).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/graph.hpp"
#include "engine/tensor.hpp"
#include "hires/devices.hpp"
#include "hires/hires.hpp"

namespace hires::engine {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;
  // input: [graph.in_channels, H, W] with H, W multiples of graph.size_multiple.
  virtual Tensor run(const Tensor& input) = 0;
  // One line saying which implementation ran, e.g. "cpu: oneDNN jit:avx512_core conv".
  virtual std::string describe() const { return std::string(name()); }
  // The worker threads of the runs that follow, on whatever thread calls run (0 = all cores);
  // backends that do not use CPU threads ignore it.
  virtual void set_threads(int /*threads*/) {}

  // Nets with global average pooling (SE blocks) on tiles: fixed values for the pools' outputs
  // (value id -> [C,1,1]), used instead of the tile's own means; empty = compute them.
  virtual void set_global_means(std::map<int, Tensor> means) { global_means_ = std::move(means); }
  // The global_avg_pool outputs of the last run (value id -> [C,1,1]).
  const std::map<int, Tensor>& last_global_means() const { return last_means_; }

 protected:
  std::map<int, Tensor> global_means_;
  std::map<int, Tensor> last_means_;
};

// How the vulkan backend stores the graph's values between ops (arithmetic is fp32 either way).
// automatic: fp16 on a real GPU with 16-bit storage (half the memory traffic and tile memory),
// fp32 on a software driver such as lavapipe (where it only adds conversions) or without it.
enum class ValueStorage { automatic, fp32, fp16 };

struct BackendOptions {
  int threads = 0;  // 0 = all cores
  int gpu = -1;     // vulkan: the device index (list_gpus()); -1 = the best one
  ValueStorage storage = ValueStorage::automatic;  // vulkan; fp16 falls back to fp32 without it
};

// Whether the vulkan backend keeps values in fp16 on device `d` when asked for `storage` (the
// rule above; the tile budget counts 2 bytes a value then).
inline bool vulkan_fp16_values(const GpuDevice& d, ValueStorage storage) {
  return d.fp16_storage &&
         (storage == ValueStorage::fp16 || (storage == ValueStorage::automatic && d.type != "cpu"));
}

// The implementations this machine can run, fastest first: vulkan (when built and a Vulkan
// device exists, lavapipe included), cpu, reference. `automatic` takes the first that suits
// the graph, and vulkan only on a real GPU (see choose_backend).
std::vector<BackendKind> backend_order();

// Which implementation runs, and why (for `hires -v`). An explicit choice wins; `automatic`
// takes HIRES_BACKEND from the environment when set (the one forcing switch, for debugging and
// comparison: HIRES_BACKEND=reference runs the plain loops), else vulkan when a discrete or
// integrated GPU exists and it runs every op of `graph` (never a software driver such as
// lavapipe: the cpu backend is faster there), else cpu. Without a graph, vulkan is not chosen.
struct BackendChoice {
  BackendKind kind = BackendKind::cpu;
  std::string reason;  // "asked for", "HIRES_BACKEND=reference", "the fastest here"
  int gpu = -1;        // vulkan: the device chosen (-1 = the backend picks)
};
BackendChoice choose_backend(BackendKind requested, const Graph* graph = nullptr, int gpu = -1);

std::unique_ptr<Backend> make_backend(BackendKind kind, const Graph& graph,
                                      const BackendOptions& options);
// As above, by name ("auto", "cpu", "reference"), for tools and tests.
std::unique_ptr<Backend> make_backend(std::string_view name, const Graph& graph,
                                      const BackendOptions& options);
std::unique_ptr<Backend> make_reference_backend(const Graph& graph);
std::unique_ptr<Backend> make_cpu_backend(const Graph& graph, const BackendOptions& options);
// Error(usage) when this build has no Vulkan backend, or a node's op has no shader (naming it).
std::unique_ptr<Backend> make_vulkan_backend(const Graph& graph, const BackendOptions& options);
bool vulkan_built();
bool vulkan_supports(const Graph& graph);  // every op has a shader
bool vulkan_any_device();                  // any Vulkan device, lavapipe included
int vulkan_auto_device();                  // the GPU `automatic` would use, -1 = none
// The memory budget the tiler should size tiles by (plan_tiles) when `graph` runs on the Vulkan
// device `gpu` (-1 = the one the backend picks): `budget`, lowered so that the activations fit
// in half the device's memory and every tile's largest value fits one shader buffer.
std::uint64_t vulkan_memory_budget(const Graph& graph, int gpu, std::uint64_t budget);

// Which value ids each node's inputs stop being needed after (for freeing), shared by backends.
std::vector<std::vector<int>> last_uses(const Graph& g);

}  // namespace hires::engine
