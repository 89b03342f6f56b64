// Model passes as lazy libvips images: the pipeline's step between decode and the final resize.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vips/vips8>

#include "engine/tiler.hpp"
#include "hires/models.hpp"
#include "hires/pipeline.hpp"
#include "io/io.hpp"

namespace hires::pipeline {

// Model work done over every pass of one job, counted in input pixels through the net and
// reported as a fraction after each tile (the first band of tiles can be a large share of a job,
// long before any output row is written).
class TileProgress {
 public:
  explicit TileProgress(std::function<void(double)> report) : report_(std::move(report)) {}
  void add_total(double pixels);
  void add_done(double pixels);  // from any thread
  void stop();                   // no reports after this (the job is over)

 private:
  std::mutex mutex_;
  std::function<void(double)> report_;
  double total_ = 0, done_ = 0;
};

struct ModelPass {
  std::shared_ptr<Model> model;
  engine::TilePlan plan;
  BackendKind backend = BackendKind::automatic;
  int threads = 0;
  int gpu = -1;  // vulkan: the device (-1 = the best one)
  // When it becomes true, the next tile fails the image (UpscaleOptions::cancel).
  std::shared_ptr<const std::atomic<bool>> cancel;
  std::shared_ptr<TileProgress> progress;  // optional
};

// A lazy libvips image: `in` (8/16-bit RGB) through the model, as 16-bit RGB at the model's
// scale. Computed a band of tiles at a time (engine/tiler.hpp) when pixels are asked for, with
// the two most recent bands cached, so memory follows the band, not the image.
vips::VImage model_pass(const vips::VImage& in, const ModelPass& pass);

struct ModelUpscale {
  vips::VImage image;       // 16-bit, same bands as the input, at input size * scale^passes
  vips::VImage first_pass;  // the pass that reads the decoder (for error attribution)
};
// Runs `passes` model passes over the colour of `in` (grey goes through as RGB and comes back
// grey); alpha is resized separately with Lanczos-3 (see docs/ARCHITECTURE.md) and re-attached.
ModelUpscale upscale_with_model(const vips::VImage& in, const ModelPass& pass, int passes);

// A plan's pixel path, prepared once (model loaded, tiles planned for plan.in) and run on any
// image of that size: the model passes, then the exact resize to plan.out
// (src/pipeline/pixels.cpp).
struct PixelPath {
  std::shared_ptr<Model> model;  // nullptr: the resize only
  ModelPass pass;
  int passes = 0;
  io::ResampleRequest resample;
};
PixelPath prepare_pixels(const UpscalePlan& plan, const UpscaleOptions& options,
                         core::SampleType out_type, std::optional<Rgb> flatten = {});

struct PixelResult {
  vips::VImage image;       // lazy, plan.out
  vips::VImage first_pass;  // set when a model runs (for error attribution)
};
PixelResult upscale_pixels(const vips::VImage& in, const PixelPath& path);

}  // namespace hires::pipeline
