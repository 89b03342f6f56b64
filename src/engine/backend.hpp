// Backends run a graph on one input tensor. `reference` is plain loops (the oracle); `cpu` uses
// oneDNN convolutions with fused activations and keeps activations in oneDNN's layout.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "engine/graph.hpp"
#include "engine/tensor.hpp"

namespace hires::engine {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;
  // input: [graph.in_channels, H, W] with H, W multiples of graph.size_multiple.
  virtual Tensor run(const Tensor& input) = 0;
  // One line saying which implementation ran, e.g. "cpu: oneDNN jit:avx512_core conv".
  virtual std::string describe() const { return std::string(name()); }
};

struct BackendOptions {
  int threads = 0;  // 0 = all cores
};

// "reference" or "cpu" (or "auto" = cpu). HIRES_BACKEND=reference in the environment forces the
// plain path, as a documented switch for debugging and comparison.
std::unique_ptr<Backend> make_backend(std::string_view name, const Graph& graph,
                                      const BackendOptions& options);
std::unique_ptr<Backend> make_reference_backend(const Graph& graph);
std::unique_ptr<Backend> make_cpu_backend(const Graph& graph, const BackendOptions& options);

// Which value ids each node's inputs stop being needed after (for freeing), shared by backends.
std::vector<std::vector<int>> last_uses(const Graph& g);

}  // namespace hires::engine
