// The trainer (built only with libtorch): the loss falls on tiny generated data, checkpoints
// resume, and the exported model loads and runs in the engine with the same output as libtorch.
#include <gtest/gtest.h>
#include <cmath>
#include <numeric>
#include <random>

#include "engine/backend.hpp"
#include "hires/models.hpp"
#include "models/model.hpp"
#include "support/test_support.hpp"
#include "trainer.hpp"

namespace hires {
namespace {

using test::TempDir;

// Smooth random images: a few blurred colour blobs, so that there is something to learn.
std::vector<RgbImage> smooth_images(int count, int side, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<RgbImage> out;
  for (int i = 0; i < count; ++i) {
    RgbImage im{side, side, std::vector<std::uint8_t>(static_cast<std::size_t>(side) * side * 3)};
    double fx[3], fy[3], ph[3];
    for (int c = 0; c < 3; ++c) {
      fx[c] = 0.05 + 0.3 * u(rng);
      fy[c] = 0.05 + 0.3 * u(rng);
      ph[c] = 6.3 * u(rng);
    }
    for (int y = 0; y < side; ++y) {
      for (int x = 0; x < side; ++x) {
        for (int c = 0; c < 3; ++c) {
          const double v = 0.5 + 0.4 * std::sin(fx[c] * x + ph[c]) * std::cos(fy[c] * y);
          im.pixels[(static_cast<std::size_t>(y) * side + x) * 3 + c] =
              static_cast<std::uint8_t>(std::lround(v * 255));
        }
      }
    }
    out.push_back(std::move(im));
  }
  return out;
}

double mean(const std::vector<double>& v, std::size_t from, std::size_t to) {
  return std::accumulate(v.begin() + static_cast<long>(from), v.begin() + static_cast<long>(to),
                         0.0) /
         static_cast<double>(to - from);
}

train::TrainOptions tiny_options(const TempDir& dir) {
  train::TrainOptions o;
  o.net.num_feat = 8;
  o.net.num_conv = 2;
  o.net.upscale = 2;
  o.degrade = "bicubic";  // the plain protocol: a tiny net learns it in 60 steps
  o.lr_patch = 12;
  o.batch = 4;
  o.iterations = 60;
  o.learning_rate = 2e-3;
  o.checkpoint_every = 0;
  o.log_every = 0;
  o.run_dir = dir / "run";
  o.metadata = {{"name", "tiny-test"}, {"license", "test"}};
  return o;
}

TEST(Train, LossFallsAndTheExportRunsInTheEngine) {
  torch::set_num_threads(1);
  TempDir dir;
  const train::Dataset data(smooth_images(4, 40, 1));
  const train::TrainOptions o = tiny_options(dir);
  const auto r = train::train(data, o, false, 0, {});
  ASSERT_EQ(r.losses.size(), 60U);
  EXPECT_LT(mean(r.losses, 50, 60), 0.8 * mean(r.losses, 0, 10));

  // The export, read by the engine, computes what libtorch computes.
  const auto model = load_model((o.run_dir / "latest.safetensors").string(), {});
  EXPECT_EQ(model_info(*model).name, "tiny-test");
  EXPECT_EQ(model_info(*model).scale, 2);
  train::Srvgg net(o.net);
  torch::load(net, (o.run_dir / "ema.pt").string());  // the export holds the averaged weights
  net->eval();
  const torch::Tensor x = torch::rand({1, 3, 9, 11});
  const torch::Tensor want = net->forward(x).detach();
  engine::Tensor in(3, 9, 11);
  std::copy(x.data_ptr<float>(), x.data_ptr<float>() + x.numel(), in.data.begin());
  const engine::Tensor got = model->run(hires::BackendKind::reference, in, 1);
  ASSERT_EQ(got.h, 18);
  ASSERT_EQ(got.w, 22);
  double worst = 0;
  const float* w = want.data_ptr<float>();
  for (std::size_t i = 0; i < got.size(); ++i)
    worst = std::max(worst, std::abs(double(got.data[i]) - w[i]));
  EXPECT_LT(worst, 1e-4);
}

TEST(Train, ResumeGoesOnFromTheCheckpoint) {
  torch::set_num_threads(1);
  TempDir dir;
  const train::Dataset data(smooth_images(2, 32, 2));
  train::TrainOptions o = tiny_options(dir);
  o.iterations = 10;
  EXPECT_EQ(train::train(data, o, false, 4, {}).iteration, 4);
  std::vector<std::string> lines;
  const auto r = train::train(data, o, true, 0, [&](const std::string& l) { lines.push_back(l); });
  EXPECT_EQ(r.iteration, 10);
  EXPECT_EQ(r.losses.size(), 6U);
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines.front().find("iteration 4"), std::string::npos);
}

TEST(Train, InitStartsFromGivenWeights) {
  torch::set_num_threads(1);
  TempDir dir;
  const train::Dataset data(smooth_images(2, 32, 2));
  train::TrainOptions o = tiny_options(dir);
  o.iterations = 3;
  train::train(data, o, false, 0, {});
  // A second run from the first's weights, with no step at all, exports exactly those weights.
  train::TrainOptions fine = tiny_options(dir);
  fine.run_dir = dir / "fine";
  fine.iterations = 0;
  fine.init = o.run_dir / "checkpoint.pt";
  train::train(data, fine, false, 0, {});
  train::Srvgg a(o.net), b(o.net);
  torch::load(a, (o.run_dir / "checkpoint.pt").string());
  torch::load(b, (fine.run_dir / "ema.pt").string());
  const auto pa = a->parameters(), pb = b->parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (std::size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i]));
}

}  // namespace
}  // namespace hires
