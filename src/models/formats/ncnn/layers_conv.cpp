// Translators of the layers with weights: Convolution, ConvolutionDepthWise, Deconvolution and
// InnerProduct (on a pooled blob), each with its fused activation.
#include "models/formats/ncnn/layers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "models/formats/ncnn/context.hpp"

namespace hires::models::ncnn {
namespace {

using engine::Node;
using engine::OpType;

// The node for a fused activation (Convolution's 9=activation_type, 10=activation_params),
// or nothing for none; checked before the layer's weights are read.
std::optional<Node> activation(Context& c, int type, const std::vector<double>& params) {
  switch (type) {
    case 0:
      return std::nullopt;
    case 1:
      return c.node(OpType::relu, {}, "/relu");
    case 2: {
      const float alpha = params.empty() ? 0.0F : static_cast<float>(params[0]);
      if (alpha == 0.0F) return c.node(OpType::relu, {}, "/relu");
      Node n = c.node(OpType::leaky_relu, {}, "/leaky_relu");
      n.alpha = alpha;
      return n;
    }
    case 3: {
      const double lo = params.size() > 0 ? params[0] : 0.0;
      const double hi = params.size() > 1 ? params[1] : 0.0;
      if (lo == 0.0 && hi >= std::numeric_limits<float>::max()) {
        return c.node(OpType::relu, {}, "/relu");
      }
      c.layer_error(fmt::format("clip activation ({}, {}) is not supported", lo, hi));
    }
    case 4:
      return c.node(OpType::sigmoid, {}, "/sigmoid");
    case 5:
      c.layer_error("mish activation (9=5) is not supported");
    case 6:
      c.layer_error("hardswish activation (9=6) is not supported");
    default:
      c.layer_error(fmt::format("unknown activation type 9={}", type));
  }
}

// The parameters Convolution and Deconvolution share (0=num_output, 1/11=kernel, 2/12=dilation,
// 3/13=stride, 4/14/15/16=padding, 5=bias_term, 6=weight_data_size, 9/10=activation), read and
// checked once; padding is left to the caller (the two layers accept different forms of it).
struct ConvParams {
  int out = 0;
  int kernel = 0;
  int stride = 1;
  int pl = 0, pt = 0, pr = 0, pb = 0;  // padding left, top, right, bottom
  bool bias_term = false;
  int wsize = 0;
  int group = 1;
  std::optional<Node> act;
};

// Reads the shared parameters (and 7=group when `grouped`), then checks output channels,
// kernel, dilation and stride.
ConvParams conv_params(Context& c, bool grouped) {
  ConvParams p;
  p.out = c.get_int(0, 0);
  const int kw = c.get_int(1, 0);
  const int kh = c.get_int(11, kw);
  const int dw = c.get_int(2, 1);
  const int dh = c.get_int(12, dw);
  const int sw = c.get_int(3, 1);
  const int sh = c.get_int(13, sw);
  p.pl = c.get_int(4, 0);
  p.pt = c.get_int(14, p.pl);
  p.pr = c.get_int(15, p.pl);
  p.pb = c.get_int(16, p.pt);
  p.bias_term = c.get_int(5, 0) != 0;
  p.wsize = c.get_int(6, 0);
  if (grouped) p.group = c.get_int(7, 1);
  p.act = activation(c, c.get_int(9, 0), c.get_array(10));

  if (p.out < 1 || p.out > kMaxChannels) {
    c.layer_error(fmt::format("num_output 0={} is out of range", p.out));
  }
  if (kw < 1 || kh != kw || kw > kMaxFactor) {
    c.layer_error(fmt::format("kernel {}x{} is not supported (square, 1 to 64)", kw, kh));
  }
  if (dw != 1 || dh != 1) c.layer_error(fmt::format("dilation {}x{} is not supported", dw, dh));
  if (sw < 1 || sh != sw || sw > kMaxFactor) {
    c.layer_error(fmt::format("stride {}x{} is not supported (equal strides only)", sw, sh));
  }
  p.kernel = kw;
  p.stride = sw;
  return p;
}

bool symmetric_padding(const ConvParams& p) {
  return p.pl >= 0 && p.pl <= kMaxBorder && p.pt == p.pl && p.pr == p.pl && p.pb == p.pl;
}

[[noreturn]] void asymmetric_padding_error(const Context& c, const ConvParams& p) {
  c.layer_error(
      fmt::format("padding left={} top={} right={} bottom={} is not supported "
                  "(symmetric padding only)",
                  p.pl, p.pt, p.pr, p.pb));
}

// The input channels that 6=weight_data_size implies: a multiple of num_output*k*k per group.
std::int64_t conv_in_channels(Context& c, const ConvParams& p) {
  const std::int64_t per_in = static_cast<std::int64_t>(p.out) * p.kernel * p.kernel;
  if (p.wsize < 1 || p.wsize % per_in != 0) {
    c.layer_error(fmt::format("weight_data_size 6={} is not a multiple of num_output*k*k = {}",
                              p.wsize, per_in));
  }
  return p.wsize / per_in * p.group;
}

// A conv2d/deconv2d node on `b` with the shared parameters set; padding, groups and weights
// are the caller's.
Node conv_node(Context& c, OpType op, const Blob& b, const ConvParams& p, std::int64_t in) {
  Node n = c.node(op, {b.value});
  n.in_channels = static_cast<int>(in);
  n.out_channels = p.out;
  n.kernel = p.kernel;
  n.stride = p.stride;
  return n;
}

// The 6=weight_data_size weights (with their storage tag), then the bias follows.
std::vector<float> read_conv_weights(Context& c, const ConvParams& p) {
  return c.read_tagged(static_cast<std::size_t>(p.wsize),
                       p.bias_term ? 4 * static_cast<std::size_t>(p.out) : 0);
}

// Emits `n` (and the fused activation) as the layer's output, on `b`'s grid changed by
// `scale` and the new offsets.
void set_conv_top(Context& c, const Blob& b, Node n, ConvParams& p, Ratio scale, std::int64_t off_h,
                  std::int64_t off_w) {
  Blob top = b;
  top.value = c.emit(std::move(n));
  if (p.act) {
    p.act->inputs = {top.value};
    top.value = c.emit(std::move(*p.act));
  }
  top.scale = scale;
  top.off_h = off_h;
  top.off_w = off_w;
  top.ch_coef = {0, 1};
  top.ch_extra = {p.out, 1};
  c.note_scale(top.scale);
  c.set_top(0, top);
}

void convolution_layer(Context& c, bool depthwise) {
  c.expect_counts(1, 1);
  ConvParams p = conv_params(c, depthwise);
  const int k = p.kernel;
  const int s = p.stride;
  if (c.get_int(8, 0) != 0) c.layer_error("int8-quantized convolutions are not supported");
  if (c.get_int(19, 0) != 0) c.layer_error("dynamic weights (19=1) are not supported");
  int pad = p.pl;
  if (p.pl == kAuto || p.pl == kSameLower) {
    if (p.pt != p.pl || p.pr != p.pl || p.pb != p.pl || s != 1 || k % 2 == 0) {
      c.layer_error("'same' padding is supported only for odd kernels with stride 1");
    }
    pad = k / 2;
  } else if (!symmetric_padding(p)) {
    asymmetric_padding_error(c, p);
  }
  if (pad > 0 && c.get_float(18, 0.0F) != 0.0F) {
    c.layer_error(
        fmt::format("pad_value 18={} is not supported (zero padding only)", c.get_float(18, 0.0F)));
  }
  if (p.group < 1 || p.out % p.group != 0) {
    c.layer_error(fmt::format("group 7={} does not divide num_output {}", p.group, p.out));
  }
  const std::int64_t in = conv_in_channels(c, p);

  const Blob b = c.bottom(0);
  c.require_not_pooled(b);
  c.match_channels(b, in);

  Node n = conv_node(c, OpType::conv2d, b, p, in);
  n.padding = pad;
  n.groups = p.group;
  n.weight = read_conv_weights(c, p);
  if (p.bias_term) n.bias = c.read_raw(static_cast<std::size_t>(p.out));

  set_conv_top(c, b, std::move(n), p, b.scale * Ratio{1, s},
               floor_div(b.off_h + 2 * std::int64_t{pad} - k, s) + 1,
               floor_div(b.off_w + 2 * std::int64_t{pad} - k, s) + 1);
}

}  // namespace

void convolution(Context& c) {
  convolution_layer(c, false);
}

void convolution_depthwise(Context& c) {
  convolution_layer(c, true);
}

// ncnn's Deconvolution scatters: out[o, y*s + ky - p] += in[i, y] * w[o, i, ky, kx] (weights
// stored [out, in, k, k], the kernel not flipped; converters transpose PyTorch's
// ConvTranspose2d [in, out, k, k] into it). The engine keeps PyTorch's layout.
void deconvolution(Context& c) {
  c.expect_counts(1, 1);
  ConvParams p = conv_params(c, false);
  const int out = p.out;
  const int k = p.kernel;
  const int s = p.stride;
  if (!symmetric_padding(p)) asymmetric_padding_error(c, p);
  if (c.get_int(7, 1) != 1) c.layer_error("grouped deconvolution (7=) is not supported");
  if (c.get_int(18, 0) != 0 || c.get_int(19, 0) != 0 || c.get_int(20, 0) != 0 ||
      c.get_int(21, 0) != 0) {
    c.layer_error("output padding or a fixed output size (18= to 21=) is not supported");
  }
  if (c.get_int(28, 0) != 0) c.layer_error("dynamic weights (28=1) are not supported");
  const std::int64_t in = conv_in_channels(c, p);
  const Blob b = c.bottom(0);
  c.require_not_pooled(b);
  c.match_channels(b, in);

  Node n = conv_node(c, OpType::deconv2d, b, p, in);
  n.padding = p.pl;
  const std::vector<float> w = read_conv_weights(c, p);
  n.weight.resize(w.size());
  const std::size_t kk = static_cast<std::size_t>(k) * k;
  // (No weights when only the structure is read.)
  for (std::int64_t o = 0; o < out && !w.empty(); ++o) {
    for (std::int64_t i = 0; i < in; ++i) {
      std::copy_n(w.begin() + static_cast<std::ptrdiff_t>((o * in + i) * kk), kk,
                  n.weight.begin() + static_cast<std::ptrdiff_t>((i * out + o) * kk));
    }
  }
  if (p.bias_term) n.bias = c.read_raw(static_cast<std::size_t>(out));
  ++c.deconvolutions;

  set_conv_top(c, b, std::move(n), p, b.scale * Ratio{s, 1},
               (b.off_h - 1) * s + k - 2 * std::int64_t{p.pl},
               (b.off_w - 1) * s + k - 2 * std::int64_t{p.pl});
}

// A fully connected layer on a pooled [C,1,1] blob (squeeze-and-excitation): a 1x1 conv2d.
void inner_product(Context& c) {
  c.expect_counts(1, 1);
  const int out = c.get_int(0, 0);
  const bool bias_term = c.get_int(1, 0) != 0;
  const int wsize = c.get_int(2, 0);
  std::optional<Node> act = activation(c, c.get_int(9, 0), c.get_array(10));
  if (out < 1 || out > kMaxChannels) {
    c.layer_error(fmt::format("num_output 0={} is out of range", out));
  }
  if (c.get_int(8, 0) != 0) c.layer_error("int8-quantized inner products are not supported");
  if (wsize < 1 || wsize % out != 0) {
    c.layer_error(
        fmt::format("weight_data_size 2={} is not a multiple of num_output {}", wsize, out));
  }
  const Blob b = c.bottom(0);
  if (!b.pooled) {
    c.layer_error("only inner products on a pooled 1x1 blob (after global pooling) are supported");
  }
  const std::int64_t in = wsize / out;
  c.match_channels(b, in);
  Node n = c.node(OpType::conv2d, {b.value});
  n.in_channels = static_cast<int>(in);
  n.out_channels = out;
  n.weight = c.read_tagged(static_cast<std::size_t>(wsize),
                           bias_term ? 4 * static_cast<std::size_t>(out) : 0);
  if (bias_term) n.bias = c.read_raw(static_cast<std::size_t>(out));
  Blob top = b;
  top.value = c.emit(std::move(n));
  if (act) {
    act->inputs = {top.value};
    top.value = c.emit(std::move(*act));
  }
  top.ch_coef = {0, 1};
  top.ch_extra = {out, 1};
  c.set_top(0, top);
}

}  // namespace hires::models::ncnn
