// SRVGGNetCompact in libtorch, mirroring Real-ESRGAN's basicsr/archs/srvgg_arch.py (Wang et al.,
// "Real-ESRGAN", 2021) and src/models/srvgg.cpp: parameters are named as in PyTorch
// ("body.0.weight", "body.1.weight" for PReLU slopes, ...), so exported weights load in the
// engine without renaming.
#pragma once

#include <torch/torch.h>

namespace hires::train {

struct SrvggOptions {
  int num_in_ch = 3;
  int num_out_ch = 3;
  int num_feat = 32;
  int num_conv = 8;
  int upscale = 4;
};

class SrvggImpl : public torch::nn::Module {
 public:
  explicit SrvggImpl(const SrvggOptions& options);
  // x: [N, 3, H, W] in 0..1 -> [N, 3, H * s, W * s].
  torch::Tensor forward(const torch::Tensor& x);
  const SrvggOptions& options() const { return options_; }

 private:
  SrvggOptions options_;
  torch::nn::ModuleList body_;
  std::vector<torch::nn::Conv2d> convs_;
  std::vector<torch::nn::PReLU> acts_;
};
TORCH_MODULE(Srvgg);

}  // namespace hires::train
