// hires-train: trains SRVGGNetCompact for hires on HR photos (see docs/QUALITY.md for the recipe).
//
//   hires-train --data ../shared/datasets/train --scale 4 --run train/runs/photo-x4 --name photo-x4
//   hires-train ... --resume            # goes on from the run's checkpoint
//   hires-train --run train/runs/photo-x4 --export photo-x4.safetensors --name photo-x4
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "hires/error.hpp"
#include "trainer.hpp"

int main(int argc, char** argv) {
  using namespace hires::train;
  CLI::App app{"hires-train: train SRVGGNetCompact super-resolution nets for hires"};
  TrainOptions o;
  std::vector<std::string> data;
  std::string run_dir, export_path, name = "photo", license = "CC-BY-4.0 hires project", recipe;
  bool resume = false, fp16 = false;
  int threads = 2;
  long stop_after = 0;
  app.add_option("--data", data, "Folders of HR training images (repeatable)");
  app.add_option("--run", run_dir, "Run folder: checkpoints, state, latest.safetensors")
      ->required();
  app.add_option("-s,--scale", o.net.upscale, "Scale")
      ->check(CLI::Range(1, 4))
      ->capture_default_str();
  app.add_option("--num-feat", o.net.num_feat, "Channels")->capture_default_str();
  app.add_option("--num-conv", o.net.num_conv, "Body convolutions")->capture_default_str();
  app.add_option("--patch", o.lr_patch, "LR patch side")->capture_default_str();
  app.add_option("--batch", o.batch, "Patches per step")->capture_default_str();
  app.add_option("--iters", o.iterations, "Iterations in total (sets the LR schedule)")
      ->capture_default_str();
  app.add_option("--stop-after", stop_after,
                 "Stop after N iterations in this run (0 = at --iters)");
  app.add_option("--lr", o.learning_rate, "Initial learning rate")->capture_default_str();
  app.add_option("--degrade", o.degrade,
                 "Degradation recipe for the LR inputs (hires eval --help lists them)")
      ->capture_default_str();
  app.add_option("--bicubic-fraction", o.clean_fraction,
                 "Share of patches degraded by plain bicubic, overriding the recipe's (-1: the "
                 "recipe's own)")
      ->capture_default_str();
  std::string init;
  app.add_option("--init", init, "Start from these weights (a run's ema.pt or checkpoint.pt)");
  app.add_option("--checkpoint-every", o.checkpoint_every, "Iterations")->capture_default_str();
  app.add_option("--log-every", o.log_every, "Iterations")->capture_default_str();
  app.add_option("--seed", o.seed, "Random seed")->capture_default_str();
  app.add_option("--threads", threads, "Torch threads")->capture_default_str();
  app.add_flag("--resume", resume, "Go on from the run's checkpoint");
  app.add_flag("--cpu", o.cpu_only, "Train on the CPU even when a CUDA GPU is available");
  app.add_option("--export", export_path, "Only export the run's checkpoint to this file");
  app.add_flag("--fp16", fp16, "Export F16 weights (half the size)");
  app.add_option("--name", name, "Model name (metadata)")->capture_default_str();
  app.add_option("--license", license, "Licence (metadata)")->capture_default_str();
  app.add_option("--recipe", recipe, "Recipe text (metadata)");
  CLI11_PARSE(app, argc, argv);
  try {
    torch::set_num_threads(threads);
    o.run_dir = run_dir;
    o.init = init;
    if (recipe.empty()) {
      recipe = fmt::format(
          "SRVGGNetCompact feat {} conv {} x{}; L1, Adam {} cosine; LR patch {} batch {}; "
          "degradations: recipe {} with {:.0f}% bicubic (antialiased)",
          o.net.num_feat, o.net.num_conv, o.net.upscale, o.learning_rate, o.lr_patch, o.batch,
          o.degrade, o.clean_fraction * 100);
    }
    o.metadata = {{"name", name}, {"license", license}, {"recipe", recipe}};
    if (!export_path.empty()) {
      Srvgg net(o.net);
      const auto ema = o.run_dir / "ema.pt";
      torch::load(net, (std::filesystem::exists(ema) ? ema : o.run_dir / "checkpoint.pt").string());
      export_model(net, export_path, o.metadata, fp16);
      fmt::print(stderr, "exported {}\n", export_path);
      return 0;
    }
    std::vector<std::filesystem::path> dirs(data.begin(), data.end());
    const Dataset ds = Dataset::load(dirs, o.lr_patch * o.net.upscale);
    fmt::print("{} training images\n", ds.size());
    const auto r = train(ds, o, resume, stop_after, [](const std::string& line) {
      fmt::print("{}\n", line);
      std::fflush(stdout);
    });
    fmt::print("done: {} iterations\n", r.iteration);
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "hires-train: error: {}\n", e.what());
    return 1;
  }
}
