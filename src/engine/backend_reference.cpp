#include <fmt/format.h>
#include <cstdlib>
#include <optional>

#include "engine/backend.hpp"
#include "engine/ops_reference.hpp"
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
      Tensor out = n.type == OpType::global_avg_pool && fixed != global_means_.end()
                       ? fixed->second
                       : ref::run_node(n, ins);
      if (n.type == OpType::global_avg_pool) last_means_[n.output] = out;
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

const std::vector<BackendKind>& backend_order() {
  static const std::vector<BackendKind> order{BackendKind::cpu, BackendKind::reference};
  return order;
}

BackendChoice choose_backend(BackendKind requested) {
  if (requested != BackendKind::automatic) return {requested, "asked for"};
  const char* forced = std::getenv("HIRES_BACKEND");
  if (forced != nullptr && *forced != '\0') {
    const BackendKind kind = parse_backend("HIRES_BACKEND", forced);
    if (kind != BackendKind::automatic) {
      return {kind, fmt::format("HIRES_BACKEND={}", backend_name(kind))};
    }
  }
  return {backend_order().front(), "the fastest here"};
}

std::unique_ptr<Backend> make_backend(BackendKind kind, const Graph& graph,
                                      const BackendOptions& options) {
  switch (choose_backend(kind).kind) {
    case BackendKind::reference:
      return make_reference_backend(graph);
    case BackendKind::cpu:
    case BackendKind::automatic:
      break;
  }
  return make_cpu_backend(graph, options);
}

std::unique_ptr<Backend> make_backend(std::string_view name, const Graph& graph,
                                      const BackendOptions& options) {
  return make_backend(parse_backend("--backend", name.empty() ? "auto" : name), graph, options);
}

}  // namespace hires::engine
