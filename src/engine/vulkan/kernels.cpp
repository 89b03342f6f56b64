#include "engine/vulkan/kernels.hpp"

#include <fmt/format.h>
#include <algorithm>

#include "engine/vulkan/kernel_util.hpp"
#include "hires/error.hpp"

namespace hires::engine::vk {
namespace {

// Activation codes of shaders/common.glsl and conv2d.comp.
constexpr int kActNone = 0;
constexpr int kActRelu = 1;
constexpr int kActLeaky = 2;
constexpr int kActPrelu = 3;
constexpr int kActSigmoid = 4;
constexpr int kScaleShift = 5;  // activation.comp only
constexpr int kActSilu = 6;     // activation.comp only (not fused into convolutions)
constexpr int kActGelu = 7;
constexpr int kActMish = 8;
constexpr int kMaxConvKernel = 27;  // SHARED_WEIGHTS of conv2d.comp: 768 >= 27 * 27

int act_code(const Node* act) {
  if (act == nullptr) return kActNone;
  switch (act->type) {
    case OpType::relu:
      return kActRelu;
    case OpType::leaky_relu:
      return kActLeaky;
    case OpType::prelu:
      return kActPrelu;
    case OpType::sigmoid:
      return kActSigmoid;
    case OpType::silu:
      return kActSilu;
    case OpType::gelu:
      return kActGelu;
    case OpType::mish:
      return kActMish;
    default:
      return kActNone;
  }
}

// Bias (zeros without one) then, for a fused PReLU, one slope per output channel.
std::vector<float> bias_and_slopes(const Node& n, const Node* act) {
  std::vector<float> p(static_cast<std::size_t>(n.out_channels), 0.0F);
  if (!n.bias.empty()) std::copy(n.bias.begin(), n.bias.end(), p.begin());
  if (act != nullptr && act->type == OpType::prelu) {
    for (int c = 0; c < n.out_channels; ++c) {
      p.push_back(act->slopes.size() == 1 ? act->slopes[0] : act->slopes[c]);
    }
  }
  return p;
}

// conv2d.comp's weight layout: [group][block of 4 outputs][in/groups][k][k][4], zero-padded.
std::vector<float> pack_conv_weights(const Node& n) {
  const int icg = n.in_channels / n.groups;
  const int ocg = n.out_channels / n.groups;
  const int blocks = (ocg + 3) / 4;
  const std::size_t kk = static_cast<std::size_t>(n.kernel) * n.kernel;
  std::vector<float> w(static_cast<std::size_t>(n.groups) * blocks * icg * kk * 4, 0.0F);
  for (int g = 0; g < n.groups; ++g) {
    for (int b = 0; b < blocks; ++b) {
      for (int lane = 0; lane < 4; ++lane) {
        const int local = b * 4 + lane;
        if (local >= ocg) continue;
        const int oc = g * ocg + local;
        for (int ic = 0; ic < icg; ++ic) {
          for (std::size_t t = 0; t < kk; ++t) {
            const std::size_t dst =
                (((static_cast<std::size_t>(g) * blocks + b) * icg + ic) * kk + t) * 4 + lane;
            w[dst] = n.weight[(static_cast<std::size_t>(oc) * icg + ic) * kk + t];
          }
        }
      }
    }
  }
  return w;
}

}  // namespace

std::string unsupported(const Node& n) {
  if (!supports(n.type)) return fmt::format("a {} layer", op_name(n.type));
  if (n.type == OpType::conv2d && n.kernel > kMaxConvKernel) {
    // conv2d.comp keeps one input channel's k x k weights in its 12 KiB of shared memory.
    return fmt::format("a {}x{} convolution (up to {}x{} runs)", n.kernel, n.kernel, kMaxConvKernel,
                       kMaxConvKernel);
  }
  return {};
}

bool supports(OpType t) {
  switch (t) {
    case OpType::conv2d:
    case OpType::deconv2d:
    case OpType::relu:
    case OpType::leaky_relu:
    case OpType::prelu:
    case OpType::sigmoid:
    case OpType::add:
    case OpType::mul:
    case OpType::concat:
    case OpType::pixel_shuffle:
    case OpType::pixel_unshuffle:
    case OpType::upsample_nearest:
    case OpType::upsample_bilinear:
    case OpType::pad:
    case OpType::crop:
    case OpType::global_avg_pool:
    case OpType::scale_shift:
    case OpType::silu:
    case OpType::gelu:
    case OpType::mish:
    case OpType::slice_channels:
    case OpType::group_norm:
      return true;
    default:  // an op added to the graph without a shader yet: refused by name
      return transformer_supports(t);
  }
}

bool fusable_activation(OpType t) {
  return t == OpType::relu || t == OpType::leaky_relu || t == OpType::prelu || t == OpType::sigmoid;
}

Shape output_shape(const Node& n, const std::vector<Shape>& in) {
  const Shape& x = in.at(0);
  switch (n.type) {
    case OpType::conv2d: {
      if (x.c != n.in_channels) {
        shape_error(n, fmt::format("input has {} channels, expected {}", x.c, n.in_channels));
      }
      const Shape y{n.out_channels, (x.h + 2 * n.padding - n.kernel) / n.stride + 1,
                    (x.w + 2 * n.padding - n.kernel) / n.stride + 1};
      if (y.h < 1 || y.w < 1) shape_error(n, fmt::format("input {}x{} is too small", x.w, x.h));
      return y;
    }
    case OpType::deconv2d: {
      if (x.c != n.in_channels) {
        shape_error(n, fmt::format("input has {} channels, expected {}", x.c, n.in_channels));
      }
      const Shape y{n.out_channels, (x.h - 1) * n.stride - 2 * n.padding + n.kernel,
                    (x.w - 1) * n.stride - 2 * n.padding + n.kernel};
      if (y.h < 1 || y.w < 1) shape_error(n, fmt::format("input {}x{} is too small", x.w, x.h));
      return y;
    }
    case OpType::add:
      require_same(n, x, in.at(1));
      return x;
    case OpType::mul: {
      const Shape& b = in.at(1);
      if (!(b.h == 1 && b.w == 1 && b.c == x.c)) require_same(n, x, b);
      return x;
    }
    case OpType::concat: {
      Shape y{0, x.h, x.w};
      for (const Shape& s : in) {
        if (s.h != x.h || s.w != x.w) shape_error(n, "inputs differ in size");
        y.c += s.c;
      }
      return y;
    }
    case OpType::pixel_shuffle:
      if (x.c % (n.factor * n.factor) != 0) shape_error(n, "channels not divisible by factor^2");
      return {x.c / (n.factor * n.factor), x.h * n.factor, x.w * n.factor};
    case OpType::pixel_unshuffle:
      if (x.h % n.factor != 0 || x.w % n.factor != 0) shape_error(n, "size not divisible");
      return {x.c * n.factor * n.factor, x.h / n.factor, x.w / n.factor};
    case OpType::upsample_nearest:
    case OpType::upsample_bilinear:
      return {x.c, x.h * n.factor, x.w * n.factor};
    case OpType::pad:
      return {x.c, x.h + n.top + n.bottom, x.w + n.left + n.right};
    case OpType::crop: {
      const Shape y{x.c, x.h - n.top - n.bottom, x.w - n.left - n.right};
      if (y.h <= 0 || y.w <= 0) shape_error(n, "crop removes the whole tensor");
      return y;
    }
    case OpType::global_avg_pool:
      return {x.c, 1, 1};
    case OpType::slice_channels:
      if (n.begin < 0 || n.count < 1 || n.begin + n.count > x.c) {
        shape_error(n, fmt::format("channels {} to {} of {}", n.begin, n.begin + n.count, x.c));
      }
      return {n.count, x.h, x.w};
    case OpType::group_norm:
      if (n.groups < 1 || x.c % n.groups != 0 || n.weight.size() != static_cast<std::size_t>(x.c) ||
          n.bias.size() != static_cast<std::size_t>(x.c)) {
        shape_error(n, fmt::format("{} groups for {} channels", n.groups, x.c));
      }
      return x;
    default: {
      Shape y;
      return transformer_output_shape(n, in, y) ? y : x;
    }
  }
}

NodeParams prepare(Context& ctx, const Node& n, const Node* act) {
  NodeParams p;
  p.act = act;
  switch (n.type) {
    case OpType::conv2d:
      p.buffers.push_back(upload(ctx, pack_conv_weights(n)));
      p.buffers.push_back(upload(ctx, bias_and_slopes(n, act)));
      break;
    case OpType::deconv2d:
      p.buffers.push_back(upload(ctx, n.weight));
      p.buffers.push_back(upload(ctx, bias_and_slopes(n, act)));
      break;
    case OpType::prelu:
      p.buffers.push_back(upload(ctx, n.slopes));
      break;
    case OpType::group_norm: {
      std::vector<float> wb = n.weight;
      wb.insert(wb.end(), n.bias.begin(), n.bias.end());
      p.buffers.push_back(upload(ctx, wb));
      break;
    }
    default:
      transformer_prepare(ctx, n, p);
      break;
  }
  return p;
}

std::vector<Dispatch> dispatches(const Node& n, const NodeParams& params,
                                 const std::vector<Shape>& in, const Shape& y, int out,
                                 const DeviceFacts& facts) {
  const Shape& x = in.at(0);
  const int a = n.inputs.empty() ? -1 : n.inputs[0];
  std::vector<Dispatch> ds;
  switch (n.type) {
    case OpType::conv2d: {
      const int icg = n.in_channels / n.groups;
      const int ocg = n.out_channels / n.groups;
      const int ocg_pad = (ocg + 3) / 4 * 4;
      Dispatch d = make("conv2d", out, {value(a), param(0), param(1)});
      Push(d)
          .i(x.c)
          .i(x.h)
          .i(x.w)
          .i(y.c)
          .i(y.h)
          .i(y.w)
          .i(n.kernel)
          .i(n.stride)
          .i(n.padding)
          .i(icg)
          .i(ocg)
          .i(ocg_pad)
          .i(act_code(params.act))
          .f(params.act != nullptr ? params.act->alpha : 0.0F);
      d.groups[0] = static_cast<std::uint32_t>((y.w + 31) / 32);  // 8 invocations x 4 pixels
      d.groups[1] = static_cast<std::uint32_t>((y.h + 7) / 8);
      d.groups[2] = static_cast<std::uint32_t>(n.groups * ocg_pad / 4);
      ds.push_back(d);
      break;
    }
    case OpType::deconv2d: {
      Dispatch d = make("deconv2d", out, {value(a), param(0), param(1)});
      Push(d)
          .i(x.c)
          .i(x.h)
          .i(x.w)
          .i(y.c)
          .i(y.h)
          .i(y.w)
          .i(n.kernel)
          .i(n.stride)
          .i(n.padding)
          .i(act_code(params.act))
          .f(params.act != nullptr ? params.act->alpha : 0.0F);
      groups_1d(d, y.size(), facts);
      ds.push_back(d);
      break;
    }
    case OpType::relu:
    case OpType::leaky_relu:
    case OpType::prelu:
    case OpType::sigmoid:
    case OpType::silu:
    case OpType::gelu:
    case OpType::mish:
    case OpType::scale_shift: {
      const bool prelu = n.type == OpType::prelu;
      Dispatch d = make("activation", out, {value(a), Ref{}, prelu ? param(0) : Ref{}});
      const int code = n.type == OpType::scale_shift ? kScaleShift : act_code(&n);
      Push(d)
          .i(static_cast<int>(x.size()))
          .i(x.h * x.w)
          .i(code)
          .i(static_cast<int>(n.slopes.size()))
          .f(n.alpha)
          .f(n.scale)
          .f(n.shift);
      groups_1d(d, x.size(), facts);
      ds.push_back(d);
      break;
    }
    case OpType::add:
    case OpType::mul: {
      const Shape& b = in.at(1);
      const int mode =
          n.type == OpType::add ? 0 : (b.h == 1 && b.w == 1 && (x.h != 1 || x.w != 1) ? 2 : 1);
      Dispatch d = make("binary", out, {value(a), value(n.inputs[1])});
      Push(d).i(static_cast<int>(x.size())).i(x.h * x.w).i(mode);
      groups_1d(d, x.size(), facts);
      ds.push_back(d);
      break;
    }
    case OpType::concat: {
      std::size_t offset = 0;
      for (std::size_t i = 0; i < n.inputs.size(); ++i) {
        Dispatch d = make("concat", out, {value(n.inputs[i])});
        Push(d).i(static_cast<int>(in[i].size())).i(static_cast<int>(offset)).i(0);
        groups_1d(d, in[i].size(), facts);
        ds.push_back(d);
        offset += in[i].size();
      }
      break;
    }
    case OpType::slice_channels: {
      Dispatch d = make("concat", out, {value(a)});
      Push(d).i(static_cast<int>(y.size())).i(0).i(n.begin * x.h * x.w);
      groups_1d(d, y.size(), facts);
      ds.push_back(d);
      break;
    }
    case OpType::group_norm: {
      Dispatch d = make("group_norm", out, {value(a), param(0)});
      Push(d).i(x.c).i(x.h * x.w).i(n.groups).f(n.eps);
      d.groups[0] = static_cast<std::uint32_t>(n.groups);
      ds.push_back(d);
      break;
    }
    case OpType::pixel_shuffle:
    case OpType::pixel_unshuffle: {
      Dispatch d = make("pixel_shuffle", out, {value(a)});
      Push(d).i(y.c).i(y.h).i(y.w).i(n.factor).i(n.type == OpType::pixel_shuffle ? 0 : 1);
      groups_1d(d, y.size(), facts);
      ds.push_back(d);
      break;
    }
    case OpType::upsample_nearest:
    case OpType::upsample_bilinear: {
      Dispatch d = make("upsample", out, {value(a)});
      Push(d).i(x.c).i(x.h).i(x.w).i(y.h).i(y.w).i(n.type == OpType::upsample_nearest ? 0 : 1);
      groups_1d(d, y.size(), facts);
      ds.push_back(d);
      break;
    }
    case OpType::pad:
    case OpType::crop: {
      const bool pad = n.type == OpType::pad;
      const int mode = pad ? static_cast<int>(n.pad_mode) : 3;
      Dispatch d = make("pad_crop", out, {value(a)});
      Push(d)
          .i(x.c)
          .i(x.h)
          .i(x.w)
          .i(y.h)
          .i(y.w)
          .i(pad ? n.top : -n.top)
          .i(pad ? n.left : -n.left)
          .i(mode);
      groups_1d(d, y.size(), facts);
      ds.push_back(d);
      break;
    }
    case OpType::global_avg_pool: {
      Dispatch d = make("global_avg_pool", out, {value(a)});
      Push(d).i(x.c).i(x.h * x.w);
      const std::uint32_t gx =
          std::min<std::uint32_t>(static_cast<std::uint32_t>(x.c), facts.max_group_count[0]);
      d.groups[0] = gx;
      d.groups[1] = (static_cast<std::uint32_t>(x.c) + gx - 1) / gx;
      ds.push_back(d);
      break;
    }
    default:
      transformer_dispatches(n, in, y, out, facts, ds);
      break;
  }
  if (ds.empty()) {
    throw Error(ErrorKind::internal, "vulkan", fmt::format("no kernel for {}", op_name(n.type)));
  }
  return ds;
}

}  // namespace hires::engine::vk
