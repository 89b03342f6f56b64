// The vulkan backend's transformer ops (SwinIR, HAT, DAT, SRFormer, DRCT, RGT, OmniSR): layer
// norm, the attention cores (window, overlapping, permuted, token), channel attention and its
// statistics, and the layout ops around them (pad to a multiple, crop back, grid <-> windows,
// max pool, bilinear resize to another value's size), and DySample's offset sampling. Shapes are
// checked as the reference loops check them (engine/ops_reference*.cpp); the shaders are
// shaders/<op>.comp.
#include <fmt/format.h>

#include "engine/ops_reference.hpp"
#include "engine/vulkan/kernel_util.hpp"

namespace hires::engine::vk {
namespace {

constexpr int kChunk = 32;  // CHUNK of shaders/attention.glsl: output channels per invocation

void require_table(const Node& n, std::size_t rows) {
  if (n.weight.size() != rows * static_cast<std::size_t>(n.heads)) {
    shape_error(n, fmt::format("a bias table of {} values, expected {} rows x {} heads",
                               n.weight.size(), rows, n.heads));
  }
}

void require_multiple(const Node& n, const Shape& x, int wh, int ww) {
  if (x.h % wh != 0 || x.w % ww != 0) {
    shape_error(n, fmt::format("{}x{} is not a multiple of the window {}x{}", x.w, x.h, ww, wh));
  }
}

void require_qkv(const Node& n, const Shape& x) {
  if (n.heads < 1 || x.c % (3 * n.heads) != 0) shape_error(n, "bad attention shape");
}

// The attention shaders' invocations: a pixel, a head and a chunk of its output channels each.
void attention_groups(Dispatch& d, const Shape& y, int heads, const DeviceFacts& facts) {
  const int hd = y.c / heads;
  const std::size_t chunks = static_cast<std::size_t>((hd + kChunk - 1) / kChunk);
  groups_1d(d, static_cast<std::size_t>(y.h) * y.w * heads * chunks, facts);
}

// channel_gram's and channel_attention's groups of pixels: gh x gw.
Shape gram_groups(const Node& n, const Shape& x) {
  if (n.window == 0) return {0, 1, 1};
  require_multiple(n, x, n.window, n.window);
  return n.grid ? Shape{0, n.window, n.window} : Shape{0, x.h / n.window, x.w / n.window};
}

int power(int k, int times) {
  int side = 1;
  for (int t = 0; t < times; ++t) side *= k;
  return side;
}

}  // namespace

bool transformer_supports(OpType t) {
  switch (t) {
    case OpType::layer_norm:
    case OpType::window_attention:
    case OpType::overlap_attention:
    case OpType::permuted_attention:
    case OpType::recursive_reduction:
    case OpType::token_attention:
    case OpType::pad_to_multiple:
    case OpType::crop_like:
    case OpType::channel_gram:
    case OpType::channel_attention:
    case OpType::grid_to_windows:
    case OpType::windows_to_grid:
    case OpType::max_pool:
    case OpType::resize_bilinear_like:
    case OpType::offset_sample:
      return true;
    default:
      return false;
  }
}

bool transformer_output_shape(const Node& n, const std::vector<Shape>& in, Shape& y) {
  const Shape& x = in.at(0);
  switch (n.type) {
    case OpType::layer_norm:
      if (n.weight.size() != static_cast<std::size_t>(x.c) ||
          n.bias.size() != static_cast<std::size_t>(x.c)) {
        shape_error(n, fmt::format("{} weights for {} channels", n.weight.size(), x.c));
      }
      y = x;
      return true;
    case OpType::window_attention: {
      const int wh = n.window;
      const int ww = window_width(n);
      if (wh < 1 || ww < 1) shape_error(n, "bad attention shape");
      require_qkv(n, x);
      require_multiple(n, x, wh, ww);
      require_table(n, static_cast<std::size_t>(2 * wh - 1) * (2 * ww - 1));
      y = {x.c / 3, x.h, x.w};
      return true;
    }
    case OpType::overlap_attention:
      if (n.window < 1 || n.overlap < n.window) shape_error(n, "bad attention shape");
      require_qkv(n, x);
      require_multiple(n, x, n.window, n.window);
      require_table(
          n, static_cast<std::size_t>(n.window + n.overlap - 1) * (n.window + n.overlap - 1));
      y = {x.c / 3, x.h, x.w};
      return true;
    case OpType::permuted_attention: {
      const int channels = 2 * x.c / 3;
      if (n.window < 2 || n.window % 2 != 0 || n.heads < 1 || x.c % 3 != 0 || channels % 4 != 0 ||
          channels % n.heads != 0) {
        shape_error(n, "bad attention shape");
      }
      require_multiple(n, x, n.window, n.window);
      require_table(n, static_cast<std::size_t>(n.window - 1) * (n.window - 1));
      y = {channels, x.h, x.w};
      return true;
    }
    case OpType::recursive_reduction: {
      const int k = n.kernel;
      const int side = power(k, ref::reduction_times(x.h, x.w, k, n.count));
      if (k < 1 || x.h < side || x.w < side) {
        shape_error(n, fmt::format("{}x{} is too small to reduce to blocks of {}", x.w, x.h, side));
      }
      if (n.weight.size() != static_cast<std::size_t>(x.c) * k * k ||
          n.bias.size() != static_cast<std::size_t>(x.c)) {
        shape_error(n, fmt::format("weights for {} channels expected", x.c));
      }
      y = {x.c, x.h / side, x.w / side};
      return true;
    }
    case OpType::token_attention: {
      const int cq = x.c;
      const int cv = in.at(1).c - cq;
      if (n.heads < 1 || cq % n.heads != 0 || cv < 1 || cv % n.heads != 0) {
        shape_error(n, "bad attention shape");
      }
      y = {cv, x.h, x.w};
      return true;
    }
    case OpType::pad_to_multiple: {
      const auto side = [&](int len) {
        const int want = std::max(len, n.count);
        return want + (n.factor - want % n.factor) % n.factor;
      };
      y = {x.c, n.top + side(x.h) + n.bottom, n.left + side(x.w) + n.right};
      return true;
    }
    case OpType::crop_like:
      y = {x.c, in.at(1).h * n.factor, in.at(1).w * n.factor};
      if (y.h > x.h || y.w > x.w) {
        shape_error(n, fmt::format("{}x{} is smaller than {}x{}", x.w, x.h, y.w, y.h));
      }
      return true;
    case OpType::channel_gram: {
      require_qkv(n, x);
      const int channels = x.c / 3;
      const int d = channels / n.heads;
      const Shape g = gram_groups(n, x);
      y = {n.heads * d * d + 2 * channels, g.h, g.w};
      return true;
    }
    case OpType::channel_attention: {
      require_qkv(n, x);
      const int channels = x.c / 3;
      const int d = channels / n.heads;
      const Shape g = gram_groups(n, x);
      const Shape& s = in.at(1);
      if (s.c != n.heads * d * d + 2 * channels || s.h != g.h || s.w != g.w) {
        shape_error(
            n, fmt::format("statistics [{}, {}, {}] for {} channels", s.c, s.h, s.w, channels));
      }
      if (n.weight.size() != static_cast<std::size_t>(n.heads)) {
        shape_error(n, fmt::format("{} temperatures for {} heads", n.weight.size(), n.heads));
      }
      y = {channels, x.h, x.w};
      return true;
    }
    case OpType::grid_to_windows:
    case OpType::windows_to_grid:
      if (n.factor < 1 || x.h % n.factor != 0 || x.w % n.factor != 0) {
        shape_error(n, fmt::format("{}x{} is not a multiple of {}", x.w, x.h, n.factor));
      }
      y = x;
      return true;
    case OpType::max_pool:
      if (n.kernel < 1 || n.stride < 1 || x.h < n.kernel || x.w < n.kernel) {
        shape_error(
            n, fmt::format("{}x{} is smaller than the {}x{} window", x.w, x.h, n.kernel, n.kernel));
      }
      y = {x.c, (x.h - n.kernel) / n.stride + 1, (x.w - n.kernel) / n.stride + 1};
      return true;
    case OpType::resize_bilinear_like:
      y = {x.c, in.at(1).h, in.at(1).w};
      return true;
    case OpType::offset_sample: {
      const Shape& o = in.at(1);
      if (n.groups < 1 || x.c % n.groups != 0 || o.c != 2 * n.groups * n.factor * n.factor ||
          o.h != x.h || o.w != x.w) {
        shape_error(n, fmt::format("offsets [{}, {}, {}] for [{}, {}, {}] at factor {}", o.c, o.h,
                                   o.w, x.c, x.h, x.w, n.factor));
      }
      y = {x.c, x.h * n.factor, x.w * n.factor};
      return true;
    }
    default:
      return false;
  }
}

void transformer_prepare(Context& ctx, const Node& n, NodeParams& p) {
  switch (n.type) {
    case OpType::layer_norm:
    case OpType::recursive_reduction: {
      std::vector<float> wb = n.weight;
      wb.insert(wb.end(), n.bias.begin(), n.bias.end());
      p.buffers.push_back(upload(ctx, wb));
      break;
    }
    case OpType::window_attention:
    case OpType::overlap_attention:
    case OpType::permuted_attention:
    case OpType::channel_attention:  // the temperatures
      p.buffers.push_back(upload(ctx, n.weight));
      break;
    default:
      break;
  }
}

void transformer_dispatches(const Node& n, const std::vector<Shape>& in, const Shape& y, int out,
                            const DeviceFacts& facts, std::vector<Dispatch>& ds) {
  const Shape& x = in.at(0);
  const int a = n.inputs.at(0);
  switch (n.type) {
    case OpType::layer_norm: {
      Dispatch d = make("layer_norm", out, {value(a), param(0)});
      Push(d).i(x.c).i(x.h * x.w).f(n.eps);
      groups_1d(d, static_cast<std::size_t>(x.h) * x.w, facts);
      ds.push_back(d);
      break;
    }
    case OpType::window_attention: {
      Dispatch d = make("window_attention", out, {value(a), param(0)});
      Push(d)
          .i(y.c)
          .i(y.h)
          .i(y.w)
          .i(n.heads)
          .i(n.window)
          .i(window_width(n))
          .i(n.window_shift)
          .i(window_shift_x(n))
          .f(n.scale);
      attention_groups(d, y, n.heads, facts);
      ds.push_back(d);
      break;
    }
    case OpType::overlap_attention: {
      Dispatch d = make("overlap_attention", out, {value(a), param(0)});
      Push(d).i(y.c).i(y.h).i(y.w).i(n.heads).i(n.window).i(n.overlap).f(n.scale);
      attention_groups(d, y, n.heads, facts);
      ds.push_back(d);
      break;
    }
    case OpType::permuted_attention: {
      Dispatch d = make("permuted_attention", out, {value(a), param(0)});
      Push(d).i(y.c).i(y.h).i(y.w).i(n.heads).i(n.window).i(n.window_shift).f(n.scale);
      attention_groups(d, y, n.heads, facts);
      ds.push_back(d);
      break;
    }
    case OpType::token_attention: {
      const Shape& kv = in.at(1);
      Dispatch d = make("token_attention", out, {value(a), value(n.inputs.at(1))});
      Push(d).i(x.c).i(y.c).i(x.h * x.w).i(kv.h * kv.w).i(n.heads).f(n.scale);
      attention_groups(d, y, n.heads, facts);
      ds.push_back(d);
      break;
    }
    case OpType::recursive_reduction: {
      Dispatch d = make("recursive_reduction", out, {value(a), param(0)});
      Push(d).i(x.c).i(x.h).i(x.w).i(y.h).i(y.w).i(n.kernel).i(
          ref::reduction_times(x.h, x.w, n.kernel, n.count));
      groups_1d(d, y.size(), facts);
      ds.push_back(d);
      break;
    }
    case OpType::pad_to_multiple:
    case OpType::crop_like: {
      const bool pad = n.type == OpType::pad_to_multiple;
      Dispatch d = make("pad_crop", out, {value(a)});
      Push(d)
          .i(x.c)
          .i(x.h)
          .i(x.w)
          .i(y.h)
          .i(y.w)
          .i(pad ? n.top : 0)
          .i(pad ? n.left : 0)
          .i(pad ? static_cast<int>(n.pad_mode) : 3);
      groups_1d(d, y.size(), facts);
      ds.push_back(d);
      break;
    }
    case OpType::channel_gram:
    case OpType::channel_attention: {
      const bool gram = n.type == OpType::channel_gram;
      const Shape g = gram_groups(n, x);
      Dispatch d =
          gram ? make("channel_gram", out, {value(a)})
               : make("channel_attention", out, {value(a), value(n.inputs.at(1)), param(0)});
      Push(d).i(x.c / 3).i(x.h).i(x.w).i(n.heads).i(n.window).i(n.grid ? 1 : 0).i(g.h).i(g.w);
      groups_1d(d, y.size(), facts);
      ds.push_back(d);
      break;
    }
    case OpType::grid_to_windows:
    case OpType::windows_to_grid: {
      Dispatch d = make("grid_windows", out, {value(a)});
      Push(d).i(x.c).i(x.h).i(x.w).i(n.factor).i(n.type == OpType::windows_to_grid ? 1 : 0);
      groups_1d(d, y.size(), facts);
      ds.push_back(d);
      break;
    }
    case OpType::max_pool: {
      Dispatch d = make("max_pool", out, {value(a)});
      Push(d).i(x.c).i(x.h).i(x.w).i(y.h).i(y.w).i(n.kernel).i(n.stride);
      groups_1d(d, y.size(), facts);
      ds.push_back(d);
      break;
    }
    case OpType::offset_sample: {
      Dispatch d = make("offset_sample", out, {value(a), value(n.inputs.at(1))});
      Push(d).i(x.c).i(x.h).i(x.w).i(n.factor).i(n.groups);
      groups_1d(d, y.size(), facts);
      ds.push_back(d);
      break;
    }
    case OpType::resize_bilinear_like: {
      Dispatch d = make("upsample", out, {value(a)});
      Push(d).i(x.c).i(x.h).i(x.w).i(y.h).i(y.w).i(1);
      groups_1d(d, y.size(), facts);
      ds.push_back(d);
      break;
    }
    default:
      break;
  }
}

}  // namespace hires::engine::vk
