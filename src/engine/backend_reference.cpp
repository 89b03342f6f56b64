#include <fmt/format.h>
#include <cstdlib>
#include <optional>

#include "engine/backend.hpp"
#include "engine/ops_reference.hpp"
#include "hires/devices.hpp"
#include "hires/error.hpp"

namespace hires::engine {

std::vector<std::vector<int>> last_uses(const Graph& g) {
  std::vector<int> last(static_cast<std::size_t>(g.num_values), -1);
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    for (int v : g.nodes[i].inputs) last[v] = static_cast<int>(i);
  }
  std::vector<std::vector<int>> frees(g.nodes.size());
  for (int v = 0; v < g.num_values; ++v) {
    if (last[v] >= 0 && v != g.output) frees[last[v]].push_back(v);
  }
  return frees;
}

namespace {

class ReferenceBackend final : public Backend {
 public:
  explicit ReferenceBackend(const Graph& g) : g_(g), frees_(last_uses(g)) {}
  std::string_view name() const override { return "reference"; }
  std::string describe() const override { return "reference: plain loops"; }

  Tensor run(const Tensor& input) override {
    std::vector<std::optional<Tensor>> values(static_cast<std::size_t>(g_.num_values));
    values[g_.input] = input;
    last_means_.clear();
    for (std::size_t i = 0; i < g_.nodes.size(); ++i) {
      const Node& n = g_.nodes[i];
      std::vector<const Tensor*> ins;
      ins.reserve(n.inputs.size());
      for (int v : n.inputs) ins.push_back(&*values[v]);
      const auto fixed = global_means_.find(n.output);
      Tensor out = is_global_statistic(n) && fixed != global_means_.end() ? fixed->second
                                                                          : ref::run_node(n, ins);
      if (is_global_statistic(n)) last_means_[n.output] = out;
      for (int v : frees_[i]) values[v].reset();
      values[n.output] = std::move(out);
    }
    return std::move(*values[g_.output]);
  }

 private:
  const Graph& g_;
  std::vector<std::vector<int>> frees_;
};

}  // namespace

std::unique_ptr<Backend> make_reference_backend(const Graph& graph) {
  return std::make_unique<ReferenceBackend>(graph);
}

std::vector<BackendKind> backend_order() {
  std::vector<BackendKind> order;
  if (vulkan_any_device()) order.push_back(BackendKind::vulkan);
  order.push_back(BackendKind::cpu);
  order.push_back(BackendKind::reference);
  return order;
}

BackendChoice choose_backend(BackendKind requested, const Graph* graph, int gpu) {
  if (requested != BackendKind::automatic) return {requested, "asked for", gpu};
  const char* forced = std::getenv("HIRES_BACKEND");
  if (forced != nullptr && *forced != '\0') {
    const BackendKind kind = parse_backend("HIRES_BACKEND", forced);
    if (kind != BackendKind::automatic) {
      return {kind, fmt::format("HIRES_BACKEND={}", backend_name(kind)), gpu};
    }
  }
  // A real GPU (not a software driver like lavapipe), when it runs every op of the graph.
  if (graph != nullptr && vulkan_built() && vulkan_supports(*graph)) {
    const GpuList& gpus = list_gpus();
    const int device = gpu >= 0 ? gpu : vulkan_auto_device();
    for (const GpuDevice& d : gpus.devices) {
      if (d.index == device && d.chosen_by_auto) {
        return {BackendKind::vulkan, fmt::format("the GPU {} ({})", d.index, d.name), d.index};
      }
    }
  }
  return {BackendKind::cpu, "the fastest here", gpu};
}

std::unique_ptr<Backend> make_backend(BackendKind kind, const Graph& graph,
                                      const BackendOptions& options) {
  const BackendChoice choice = choose_backend(kind, &graph, options.gpu);
  switch (choice.kind) {
    case BackendKind::reference:
      return make_reference_backend(graph);
    case BackendKind::vulkan: {
      BackendOptions o = options;
      o.gpu = choice.gpu;
      return make_vulkan_backend(graph, o);
    }
    case BackendKind::cpu:
    case BackendKind::automatic:
      break;
  }
  return make_cpu_backend(graph, options);
}

std::unique_ptr<Backend> make_backend(std::string_view name, const Graph& graph,
                                      const BackendOptions& options) {
  return make_backend(parse_backend("backend", name.empty() ? "auto" : name), graph, options);
}

}  // namespace hires::engine
