// The Model object behind the public handle: graph + lazily made backend.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "engine/backend.hpp"
#include "engine/graph.hpp"
#include "hires/models.hpp"
#include "models/formats/ncnn/reader.hpp"

namespace hires {

class Model {
 public:
  Model(ModelInfo info, engine::Graph graph) : info_(std::move(info)), graph_(std::move(graph)) {}
  const ModelInfo& info() const { return info_; }
  const engine::Graph& graph() const { return graph_; }
  // Calls f(backend) under the model's lock (a backend runs one input at a time): the backend for
  // `kind` (see engine::choose_backend) and `gpu` (the Vulkan device, -1 = the best one), made on
  // first use and kept, set to `threads` for this call.
  template <class F>
  decltype(auto) with_backend(BackendKind kind, int threads, int gpu, F&& f) {
    const std::lock_guard<std::mutex> lock(mutex_);
    return std::forward<F>(f)(backend(kind, threads, gpu));
  }
  // One run of the whole graph on `input` (tests, tools): with_backend's backend.
  engine::Tensor run(BackendKind kind, const engine::Tensor& input, int threads = 0, int gpu = -1) {
    return with_backend(kind, threads, gpu, [&](engine::Backend& b) { return b.run(input); });
  }

 private:
  engine::Backend& backend(BackendKind kind, int threads, int gpu);

  ModelInfo info_;
  engine::Graph graph_;
  BackendKind backend_kind_ = BackendKind::automatic;
  int backend_gpu_ = -1;
  std::unique_ptr<engine::Backend> backend_;
  std::mutex mutex_;
};

// Loads one file as a model (no name lookup).
std::shared_ptr<Model> load_model_file(const std::filesystem::path& path);

// What load_model_file(file)->info() would say, read from the file's header without loading its
// weights (model_facts.cpp): name, architecture, format, scale, parameters, source, licence.
// Throws Error(input) when the header is unreadable or no supported architecture matches.
ModelInfo model_facts(const std::filesystem::path& file);

// Names a waifu2x or Real-CUGAN net after the structure the ncnn reader found (model.cpp).
void name_ncnn_model(ModelInfo& info, const models::NcnnInfo& ncnn,
                     const std::filesystem::path& param);

}  // namespace hires
