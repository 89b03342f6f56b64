#include "trainer.hpp"

#include <fmt/format.h>
#include <chrono>
#include <cmath>
#include <fstream>
#include <numbers>

#include "hires/batch.hpp"
#include "hires/error.hpp"
#include "models/formats/safetensors.hpp"

namespace hires::train {
namespace fs = std::filesystem;

namespace {

std::vector<double> areas(const std::vector<RgbImage>& images) {
  std::vector<double> a;
  for (const auto& im : images) a.push_back(static_cast<double>(im.width) * im.height);
  return a;
}

RgbImage crop(const RgbImage& im, int x0, int y0, int side) {
  RgbImage out{side, side, std::vector<std::uint8_t>(static_cast<std::size_t>(side) * side * 3)};
  for (int y = 0; y < side; ++y) {
    const auto* src = im.pixels.data() + (static_cast<std::size_t>(y0 + y) * im.width + x0) * 3;
    std::copy(src, src + static_cast<std::size_t>(side) * 3,
              out.pixels.data() + static_cast<std::size_t>(y) * side * 3);
  }
  return out;
}

// Flips (horizontal, vertical) and transpose, chosen by the low three bits of `how`.
RgbImage augment(const RgbImage& im, unsigned how) {
  const int n = im.width;  // square
  RgbImage out = im;
  for (int y = 0; y < n; ++y) {
    for (int x = 0; x < n; ++x) {
      int sx = (how & 1U) != 0 ? n - 1 - x : x;
      int sy = (how & 2U) != 0 ? n - 1 - y : y;
      if ((how & 4U) != 0) std::swap(sx, sy);
      const auto* s = im.pixels.data() + (static_cast<std::size_t>(sy) * n + sx) * 3;
      std::copy(s, s + 3, out.pixels.data() + (static_cast<std::size_t>(y) * n + x) * 3);
    }
  }
  return out;
}

void write_text(const fs::path& path, const std::string& text) {
  const fs::path tmp = fs::path(path).concat(".tmp");
  {
    std::ofstream f(tmp);
    f << text;
    if (!f) throw Error(ErrorKind::output, tmp.string(), "cannot write");
  }
  fs::rename(tmp, path);
}

template <typename T>
void save_atomic(const T& object, const fs::path& path) {
  const fs::path tmp = fs::path(path).concat(".tmp");
  torch::save(object, tmp.string());
  fs::rename(tmp, path);
}

}  // namespace

torch::Tensor to_tensor(const RgbImage& image) {
  auto t = torch::from_blob(const_cast<std::uint8_t*>(image.pixels.data()),
                            {image.height, image.width, 3}, torch::kUInt8)
               .to(torch::kFloat32)
               .div_(255.0F);
  return t.permute({2, 0, 1}).unsqueeze(0).contiguous();
}

RgbImage to_image(const torch::Tensor& chw) {
  const auto t = chw.squeeze(0).clamp(0.0, 1.0).mul(255.0).round().to(torch::kUInt8);
  const auto hwc = t.permute({1, 2, 0}).contiguous();
  RgbImage out{static_cast<int>(hwc.size(1)), static_cast<int>(hwc.size(0)), {}};
  out.pixels.assign(hwc.data_ptr<std::uint8_t>(), hwc.data_ptr<std::uint8_t>() + hwc.numel());
  return out;
}

Dataset::Dataset(std::vector<RgbImage> images) : images_(std::move(images)) {
  if (images_.empty()) throw Error(ErrorKind::usage, "--data", "no training images");
  const auto a = areas(images_);
  pick_ = std::discrete_distribution<std::size_t>(a.begin(), a.end());
}

Dataset Dataset::load(const std::vector<fs::path>& dirs, int min_side) {
  std::vector<fs::path> files;
  for (const auto& d : dirs) {
    std::error_code ec;
    if (!fs::is_directory(d, ec)) throw Error(ErrorKind::usage, d.string(), "not a folder");
    for (fs::recursive_directory_iterator it(d, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->is_regular_file(ec) && is_image_path(it->path())) files.push_back(it->path());
    }
  }
  std::sort(files.begin(), files.end());
  std::vector<RgbImage> images;
  for (const auto& f : files) {
    RgbImage im = read_rgb(f);
    if (im.width >= min_side && im.height >= min_side) images.push_back(std::move(im));
  }
  return Dataset(std::move(images));
}

std::pair<torch::Tensor, torch::Tensor> Dataset::batch(int count, int lr_patch, int s,
                                                       const DegradeRecipe& recipe,
                                                       std::mt19937_64& rng) const {
  const int side = lr_patch * s;
  std::vector<torch::Tensor> lrs, hrs;
  auto pick = pick_;
  while (static_cast<int>(hrs.size()) < count) {
    const RgbImage& im = images_[pick(rng)];
    if (im.width < side || im.height < side) continue;
    std::uniform_int_distribution<int> px(0, im.width - side), py(0, im.height - side);
    const RgbImage hr = augment(crop(im, px(rng), py(rng), side), rng() & 7U);
    const RgbImage lr = degrade(hr, s, recipe, rng);
    hrs.push_back(to_tensor(hr));
    lrs.push_back(to_tensor(lr));
  }
  return {torch::cat(lrs), torch::cat(hrs)};
}

void export_model(Srvgg& net, const fs::path& path,
                  const std::map<std::string, std::string>& metadata, bool fp16) {
  models::SafeTensors st;
  for (const auto& p : net->named_parameters()) {
    const auto t = p.value().detach().to(torch::kCPU).contiguous();
    models::TensorData d;
    d.shape.assign(t.sizes().begin(), t.sizes().end());
    d.values.assign(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
    st.tensors[p.key()] = std::move(d);
  }
  const SrvggOptions& o = net->options();
  st.metadata = metadata;
  st.metadata["format"] = "hires";
  st.metadata["architecture"] = "srvgg";
  st.metadata["num_in_ch"] = std::to_string(o.num_in_ch);
  st.metadata["num_out_ch"] = std::to_string(o.num_out_ch);
  st.metadata["num_feat"] = std::to_string(o.num_feat);
  st.metadata["num_conv"] = std::to_string(o.num_conv);
  st.metadata["upscale"] = std::to_string(o.upscale);
  st.metadata["act_type"] = "prelu";
  models::save_safetensors(path, st, fp16);
}

TrainResult train(const Dataset& data, const TrainOptions& o, bool resume, long stop_after,
                  const LogFn& log_fn) {
  const auto log = [&](const std::string& line) {
    if (log_fn) log_fn(line);
  };
  torch::manual_seed(o.seed);
  Srvgg net(o.net);
  // A CUDA GPU when libtorch has one, else the CPU.
  const torch::Device device = torch::cuda::is_available() && !o.cpu_only
                                   ? torch::Device(torch::kCUDA)
                                   : torch::Device(torch::kCPU);
  net->to(device);
  torch::optim::Adam opt(net->parameters(),
                         torch::optim::AdamOptions(o.learning_rate).betas({0.9, 0.99}));
  fs::create_directories(o.run_dir);
  const fs::path ckpt = o.run_dir / "checkpoint.pt";
  const fs::path opt_path = o.run_dir / "optimizer.pt";
  const fs::path state = o.run_dir / "state.txt";
  TrainResult r;
  if (resume && fs::exists(ckpt) && fs::exists(state)) {
    torch::load(net, ckpt.string(), device);
    torch::load(opt, opt_path.string(), device);
    std::ifstream f(state);
    f >> r.iteration;
    log(fmt::format("resumed from {} at iteration {}", ckpt.string(), r.iteration));
  } else if (!o.init.empty()) {
    torch::load(net, o.init.string(), device);
    log(fmt::format("starting from the weights of {}", o.init.string()));
  }
  log(fmt::format("training on {}", device.is_cuda() ? "CUDA" : "CPU"));
  // An exponential moving average of the weights: what is exported (smoother than the last step).
  Srvgg ema(o.net);
  ema->to(device);
  const fs::path ema_path = o.run_dir / "ema.pt";
  const auto net_params = net->parameters();
  const auto ema_params = ema->parameters();
  if (resume && fs::exists(ema_path)) {
    torch::load(ema, ema_path.string(), device);
  } else {
    torch::NoGradGuard no_grad;
    for (std::size_t i = 0; i < net_params.size(); ++i) ema_params[i].copy_(net_params[i]);
  }
  std::mt19937_64 rng(o.seed + static_cast<std::uint64_t>(r.iteration));
  DegradeRecipe recipe = degrade_recipe(o.degrade);
  if (o.clean_fraction >= 0) recipe.clean_fraction = o.clean_fraction;
  auto checkpoint = [&] {
    save_atomic(net, ckpt);
    save_atomic(ema, ema_path);
    save_atomic(opt, opt_path);
    write_text(state, fmt::format("{}\n", r.iteration));
    auto meta = o.metadata;
    meta["iterations"] = std::to_string(r.iteration);
    export_model(ema, o.run_dir / "latest.safetensors", meta);
  };
  double loss_sum = 0;
  int loss_count = 0;
  auto t0 = std::chrono::steady_clock::now();
  const long end = stop_after > 0 ? std::min(o.iterations, r.iteration + stop_after) : o.iterations;
  net->train();
  while (r.iteration < end) {
    const double progress = static_cast<double>(r.iteration) / static_cast<double>(o.iterations);
    const double lr = o.min_learning_rate + 0.5 * (o.learning_rate - o.min_learning_rate) *
                                                (1.0 + std::cos(std::numbers::pi * progress));
    for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamOptions&>(g.options()).lr(lr);
    auto [lr_cpu, hr_cpu] = data.batch(o.batch, o.lr_patch, o.net.upscale, recipe, rng);
    const torch::Tensor lr_batch = lr_cpu.to(device);
    const torch::Tensor hr_batch = hr_cpu.to(device);
    opt.zero_grad();
    const torch::Tensor loss = torch::l1_loss(net->forward(lr_batch), hr_batch);
    loss.backward();
    opt.step();
    {
      // Warm-up: the average starts short and lengthens to 1 / (1 - ema_decay) steps.
      const double d = std::min(o.ema_decay, (1.0 + static_cast<double>(r.iteration)) /
                                                 (10.0 + static_cast<double>(r.iteration)));
      torch::NoGradGuard no_grad;
      for (std::size_t i = 0; i < net_params.size(); ++i) {
        ema_params[i].mul_(d).add_(net_params[i].detach(), 1.0 - d);
      }
    }
    const double l = loss.item<double>();
    r.losses.push_back(l);
    loss_sum += l;
    ++loss_count;
    ++r.iteration;
    if (o.log_every > 0 && r.iteration % o.log_every == 0) {
      const auto t1 = std::chrono::steady_clock::now();
      log(fmt::format("iter {} loss {:.5f} lr {:.2e} {:.3f} s/iter", r.iteration,
                      loss_sum / loss_count, lr,
                      std::chrono::duration<double>(t1 - t0).count() / loss_count));
      loss_sum = 0;
      loss_count = 0;
      t0 = t1;
    }
    if (o.checkpoint_every > 0 && r.iteration % o.checkpoint_every == 0) checkpoint();
  }
  checkpoint();
  return r;
}

}  // namespace hires::train
