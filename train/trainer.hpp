// Training SRVGGNetCompact on HR patches with LR made on the fly; checkpoints, resume, export.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "hires/degrade.hpp"
#include "net.hpp"

namespace hires::train {

// HR images held in memory; patches drawn with probability proportional to image area.
class Dataset {
 public:
  explicit Dataset(std::vector<RgbImage> images);
  // Every image file under `dirs` (recursively) with both sides >= min_side.
  static Dataset load(const std::vector<std::filesystem::path>& dirs, int min_side);
  std::size_t size() const { return images_.size(); }
  // A batch of (LR, HR) tensors, [N, 3, patch, patch] and [N, 3, patch * s, patch * s], 0..1.
  // Patches are randomly flipped and transposed.
  std::pair<torch::Tensor, torch::Tensor> batch(int count, int lr_patch, int scale,
                                                const DegradeRecipe& degrade,
                                                std::mt19937_64& rng) const;

 private:
  std::vector<RgbImage> images_;
  std::discrete_distribution<std::size_t> pick_;
};

struct TrainOptions {
  SrvggOptions net;
  // How LR inputs are made (hires/degrade.hpp): a named recipe, its clean (protocol bicubic)
  // share overridden by clean_fraction when that is >= 0.
  std::string degrade = "real";
  double clean_fraction = 0.5;
  int lr_patch = 32;
  int batch = 16;
  long iterations = 100000;
  double learning_rate = 5e-4;
  double min_learning_rate = 1e-5;  // cosine decay to this at `iterations`
  int checkpoint_every = 500;
  int log_every = 50;
  unsigned seed = 1;
  bool cpu_only = false;     // else a CUDA GPU when libtorch has one
  double ema_decay = 0.999;  // weights exported: their moving average (0 = the last step's)
  // checkpoint.pt, ema.pt (the averaged weights), optimizer.pt, state.txt, latest.safetensors
  std::filesystem::path run_dir;
  std::map<std::string, std::string> metadata;  // extra export metadata (name, license, recipe)
  std::filesystem::path init;                   // start from these weights (fine-tuning)
};

struct TrainResult {
  long iteration = 0;          // iterations done in total (with resumed ones)
  std::vector<double> losses;  // per iteration run in this call
};

using LogFn = std::function<void(const std::string& line)>;

// Trains from scratch, from `init` (a checkpoint.pt or ema.pt of the same net: weights only,
// iteration 0) when set, or from run_dir's checkpoint when `resume` and one exists; writes a
// checkpoint (and latest.safetensors) every checkpoint_every iterations and at the end.
// Stops after `stop_after` iterations in this call when > 0.
TrainResult train(const Dataset& data, const TrainOptions& options, bool resume, long stop_after,
                  const LogFn& log);

// Writes the net as our safetensors model (F32, or F16 with `fp16`) with the metadata block the
// engine reads.
void export_model(Srvgg& net, const std::filesystem::path& path,
                  const std::map<std::string, std::string>& metadata, bool fp16 = false);

// Converts between RgbImage and [1, 3, H, W] 0..1 tensors.
torch::Tensor to_tensor(const RgbImage& image);
RgbImage to_image(const torch::Tensor& chw);

}  // namespace hires::train
