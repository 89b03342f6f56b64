// `hires eval DIR -s S -m METHOD`: PSNR/SSIM of a method on a folder of HR images (see
// hires/eval.hpp for the protocol).
#include <fmt/format.h>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "hires/degrade.hpp"
#include "hires/error.hpp"
#include "hires/eval.hpp"
#include "hires/models.hpp"
#include "json_line.hpp"
#include "option_table.hpp"
#include "upscale_args.hpp"

namespace hires::cli {

Command add_eval_command(CLI::App& app) {
  struct Args {
    std::string dir;
    int scale = 4;
    bool linear_light = false;
    bool json = false;
    int limit = 0;
    std::string save;
    std::string degrade = "bicubic";
    std::uint64_t seed = 1;
    bool save_lr = false;
    TableArgs options;  // the table's options eval takes: method, restore, models, engine
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "eval", "Score a method on HR images: PSNR/SSIM (Y) after bicubic x S downscale");
  cmd->add_option("dir", a->dir, "Folder of HR images")->required();
  cmd->add_option("-s,--scale", a->scale, "Whole scale factor")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  a->options.add_keys(
      *cmd, {"method"},
      {{"method",
        "Classic method, auto (what hires picks per image), model file or model name (default: "
        "bicubic)"}});
  std::string recipes;
  for (const DegradeRecipe& r : degrade_recipes()) recipes += "\n  " + r.name + ": " + r.summary;
  cmd->add_option("--degrade", a->degrade, "How the LR input is made:" + recipes)
      ->capture_default_str();
  cmd->add_option("--seed", a->seed, "Seed of the degradations (per image: seed and file name)")
      ->capture_default_str();
  a->options.add_keys(
      *cmd, {"restore", "models_dir"},
      {{"restore", "Restoration strength 0..1 for -m auto and the restore models"}});
  cmd->add_flag("--save-lr", a->save_lr, "With --save: also write each LR input (NAME-lr.png)");
  cmd->add_flag("--linear-light", a->linear_light,
                "Classic methods filter in linear light (as hires upscales) instead of on "
                "gamma-encoded values (as the protocol's MATLAB baseline)");
  cmd->add_option("--limit", a->limit, "Only the first N images (0 = all)")
      ->check(CLI::Range(0, 1 << 20));
  a->options.add_keys(*cmd, {"threads", "backend", "gpu"});
  cmd->add_option("--save", a->save, "Write each upscaled image into this folder (PNG)");
  cmd->add_flag("--json", a->json, "One JSON object per image, then a summary, on stdout");

  RunFn run = [a]() {
    EvalOptions o;
    o.scale = a->scale;
    const OptionValues values = a->options.values();
    const auto method = values.find("method");
    o.method = method == values.end() ? "bicubic" : std::get<std::string>(method->second);
    if (const auto restore = values.find("restore"); restore != values.end()) {
      o.restore = std::get<double>(restore->second);
    }
    o.model_dirs = model_dirs(a->options.list("models_dir"));
    UpscaleOptions engine;
    a->options.apply(engine);
    check_gpu_choice(engine);
    o.threads = engine.threads;
    o.backend = engine.backend;
    o.gpu = engine.gpu;
    o.linear_light = a->linear_light;
    o.limit = a->limit;
    o.save_dir = a->save;
    o.save_lr = a->save_lr;
    o.degrade = a->degrade;
    o.seed = a->seed;
    const EvalReport r = evaluate(a->dir, o, [&](const EvalImage& im, std::size_t, std::size_t) {
      if (a->json) {
        nlohmann::json j{{"event", "image"},       {"file", im.file.string()},
                         {"width", im.size.width}, {"height", im.size.height},
                         {"psnr", im.psnr},        {"ssim", im.ssim},
                         {"seconds", im.seconds},  {"method", im.method}};
        std::cout << json_line(j) << '\n' << std::flush;
      } else {
        fmt::print("{:<28} {:>5}x{:<5} {:7.3f} dB  {:.4f}  {:6.2f}s  {}\n",
                   im.file.filename().string(), im.size.width, im.size.height, im.psnr, im.ssim,
                   im.seconds, im.method);
        std::fflush(stdout);
      }
    });
    if (a->json) {
      nlohmann::json j{{"event", "summary"},        {"method", r.method},   {"scale", r.scale},
                       {"images", r.images.size()}, {"psnr", r.mean_psnr},  {"ssim", r.mean_ssim},
                       {"seconds", r.mean_seconds}, {"degrade", a->degrade}};
      std::cout << json_line(j) << '\n';
    } else {
      fmt::print("{} x{} ({}) on {} images: PSNR-Y {:.3f} dB, SSIM-Y {:.4f}, {:.2f}s per image\n",
                 r.method, r.scale, a->degrade, r.images.size(), r.mean_psnr, r.mean_ssim,
                 r.mean_seconds);
    }
    return 0;
  };
  return {cmd, run};
}

}  // namespace hires::cli
