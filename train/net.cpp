#include "net.hpp"

namespace hires::train {

SrvggImpl::SrvggImpl(const SrvggOptions& o) : options_(o) {
  body_ = register_module("body", torch::nn::ModuleList());
  auto conv = [&](int in, int out) {
    torch::nn::Conv2d c(torch::nn::Conv2dOptions(in, out, 3).padding(1));
    body_->push_back(c);
    convs_.push_back(c);
  };
  auto act = [&] {
    torch::nn::PReLU p(torch::nn::PReLUOptions().num_parameters(o.num_feat));
    body_->push_back(p);
    acts_.push_back(p);
  };
  conv(o.num_in_ch, o.num_feat);
  act();
  for (int i = 0; i < o.num_conv; ++i) {
    conv(o.num_feat, o.num_feat);
    act();
  }
  conv(o.num_feat, o.num_out_ch * o.upscale * o.upscale);
  // Start close to the nearest-neighbour skip: a small last layer.
  torch::NoGradGuard no_grad;
  convs_.back()->weight.mul_(0.1);
  convs_.back()->bias.zero_();
}

torch::Tensor SrvggImpl::forward(const torch::Tensor& x) {
  torch::Tensor out = x;
  for (std::size_t i = 0; i < acts_.size(); ++i) out = acts_[i]->forward(convs_[i]->forward(out));
  out = convs_.back()->forward(out);
  out = torch::pixel_shuffle(out, options_.upscale);
  const auto base = torch::upsample_nearest2d(
      x, std::vector<std::int64_t>{x.size(2) * options_.upscale, x.size(3) * options_.upscale});
  return out + base;
}

}  // namespace hires::train
