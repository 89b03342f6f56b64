// The pixel path of a plan: model passes, then the exact resize. Shared by the image path
// (upscale.cpp) and the video path (video.cpp), so that a frame gets what an image gets.
#include "core/methods.hpp"
#include "engine/backend.hpp"
#include "hires/pipeline.hpp"
#include "models/model.hpp"
#include "pipeline/model_pass.hpp"

namespace hires::pipeline {

PixelPath prepare_pixels(const UpscalePlan& plan, const UpscaleOptions& options,
                         core::SampleType out_type, std::optional<Rgb> flatten) {
  PixelPath path;
  path.model = load_plan_model(plan);
  path.passes = plan.passes;
  if (path.model) {
    path.pass.model = path.model;
    int widest = plan.in.width;  // the last pass reads the largest input
    int tallest = plan.in.height;
    for (int i = 1; i < plan.passes; ++i) {
      widest *= plan.model_scale;
      tallest *= plan.model_scale;
    }
    // On a GPU, tiles also fit the device's memory and its largest buffer.
    const engine::Graph& graph = path.model->graph();
    const engine::BackendChoice choice =
        engine::choose_backend(options.backend, &graph, options.gpu);
    const std::uint64_t budget =
        choice.kind == BackendKind::vulkan
            ? engine::vulkan_memory_budget(graph, choice.gpu, options.memory_budget)
            : options.memory_budget;
    path.pass.plan = engine::plan_tiles(graph, options.tile, budget, widest, tallest);
    path.pass.backend = options.backend;
    path.pass.threads = options.threads;
    path.pass.gpu = options.gpu;
    path.pass.cancel = options.cancel;
  }
  path.resample.out = plan.out;
  path.resample.filter = core::filter_for(plan.resize);
  path.resample.out_type = out_type;
  path.resample.flatten = flatten;
  return path;
}

PixelResult upscale_pixels(const vips::VImage& in, const PixelPath& path) {
  PixelResult r;
  vips::VImage source = in;
  if (path.model) {
    ModelUpscale up = upscale_with_model(in, path.pass, path.passes);
    source = up.image;
    r.first_pass = up.first_pass;
  }
  r.image = io::resample(source, path.resample);
  return r;
}

}  // namespace hires::pipeline
