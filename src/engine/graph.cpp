#include "engine/graph.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/checked.hpp"
#include "hires/error.hpp"

namespace hires::engine {

const char* op_name(OpType t) {
  switch (t) {
    case OpType::conv2d:
      return "conv2d";
    case OpType::deconv2d:
      return "deconv2d";
    case OpType::relu:
      return "relu";
    case OpType::leaky_relu:
      return "leaky_relu";
    case OpType::prelu:
      return "prelu";
    case OpType::sigmoid:
      return "sigmoid";
    case OpType::add:
      return "add";
    case OpType::mul:
      return "mul";
    case OpType::concat:
      return "concat";
    case OpType::pixel_shuffle:
      return "pixel_shuffle";
    case OpType::pixel_unshuffle:
      return "pixel_unshuffle";
    case OpType::upsample_nearest:
      return "upsample_nearest";
    case OpType::upsample_bilinear:
      return "upsample_bilinear";
    case OpType::pad:
      return "pad";
    case OpType::crop:
      return "crop";
    case OpType::global_avg_pool:
      return "global_avg_pool";
    case OpType::scale_shift:
      return "scale_shift";
    case OpType::silu:
      return "silu";
    case OpType::gelu:
      return "gelu";
    case OpType::slice_channels:
      return "slice_channels";
    case OpType::mish:
      return "mish";
    case OpType::group_norm:
      return "group_norm";
    case OpType::layer_norm:
      return "layer_norm";
    case OpType::window_attention:
      return "window_attention";
    case OpType::overlap_attention:
      return "overlap_attention";
    case OpType::permuted_attention:
      return "permuted_attention";
    case OpType::recursive_reduction:
      return "recursive_reduction";
    case OpType::token_attention:
      return "token_attention";
    case OpType::pad_to_multiple:
      return "pad_to_multiple";
    case OpType::crop_like:
      return "crop_like";
    case OpType::channel_gram:
      return "channel_gram";
    case OpType::channel_attention:
      return "channel_attention";
    case OpType::grid_to_windows:
      return "grid_to_windows";
    case OpType::windows_to_grid:
      return "windows_to_grid";
    case OpType::max_pool:
      return "max_pool";
    case OpType::resize_bilinear_like:
      return "resize_bilinear_like";
    case OpType::offset_sample:
      return "offset_sample";
  }
  return "?";
}

namespace {
[[noreturn]] void fail(const Graph& g, const Node& n, const std::string& what) {
  throw Error(ErrorKind::internal, fmt::format("model '{}'", g.name),
              fmt::format("node '{}' ({}): {}", n.name, op_name(n.type), what));
}

constexpr std::int64_t kMaxGraphChannels = std::int64_t{1} << 20;
constexpr int kMaxFactor = 64;

std::size_t expected_inputs(OpType t) {
  switch (t) {
    case OpType::add:
    case OpType::mul:
    case OpType::crop_like:
    case OpType::channel_attention:
    case OpType::resize_bilinear_like:
    case OpType::token_attention:
    case OpType::offset_sample:
      return 2;
    case OpType::concat:
      return 0;  // any number >= 1
    default:
      return 1;
  }
}
// The channel count of n's output from its inputs', checking that each parameter (weights,
// slopes, factors) fits the channels the node sees: a PReLU with fewer slopes than channels would
// read past its slopes.
std::int64_t output_channels(const Graph& g, const Node& n,
                             const std::vector<std::int64_t>& channels) {
  const std::int64_t c = channels[n.inputs[0]];
  auto bad = [&](const std::string& what) {
    throw Error(ErrorKind::input, fmt::format("model '{}'", g.name),
                fmt::format("node '{}' ({}): {}", n.name, op_name(n.type), what),
                "the model file is inconsistent");
  };
  switch (n.type) {
    case OpType::conv2d:
    case OpType::deconv2d:
      if (c != n.in_channels) {
        bad(fmt::format("expects {} input channels but its input has {}", n.in_channels, c));
      }
      if (n.out_channels < 1) bad(fmt::format("has {} output channels", n.out_channels));
      return n.out_channels;
    case OpType::prelu:
      if (n.slopes.size() != 1 && n.slopes.size() != static_cast<std::size_t>(c)) {
        bad(fmt::format("has {} slopes but its input has {} channels", n.slopes.size(), c));
      }
      return c;
    case OpType::add:
    case OpType::mul:
      if (channels[n.inputs[1]] != c) {
        bad(fmt::format("inputs differ in channels ({} and {})", c, channels[n.inputs[1]]));
      }
      return c;
    case OpType::concat: {
      std::int64_t sum = 0;
      for (const int v : n.inputs) {
        const auto next = core::checked_add(sum, channels[v]);
        if (!next || *next > kMaxGraphChannels) bad("its channel count overflows");
        sum = *next;
      }
      return sum;
    }
    case OpType::pixel_shuffle:
    case OpType::pixel_unshuffle: {
      if (n.factor < 1 || n.factor > kMaxFactor) {
        bad(fmt::format("factor {} is out of range (1 to {})", n.factor, kMaxFactor));
      }
      const std::int64_t f2 = static_cast<std::int64_t>(n.factor) * n.factor;
      if (n.type == OpType::pixel_shuffle) {
        if (c % f2 != 0) bad(fmt::format("{} channels are not divisible by {}", c, f2));
        return c / f2;
      }
      if (c * f2 > kMaxGraphChannels) bad("its channel count overflows");
      return c * f2;
    }
    case OpType::slice_channels:
      if (n.begin < 0 || n.count < 1 || n.begin + static_cast<std::int64_t>(n.count) > c) {
        bad(fmt::format("channels {} to {} of {}", n.begin,
                        n.begin + static_cast<std::int64_t>(n.count), c));
      }
      return n.count;
    case OpType::group_norm:
      if (n.groups < 1 || c % n.groups != 0 || n.weight.size() != static_cast<std::size_t>(c) ||
          n.bias.size() != static_cast<std::size_t>(c)) {
        bad(fmt::format("{} groups, {} weights and {} biases for {} channels", n.groups,
                        n.weight.size(), n.bias.size(), c));
      }
      return c;
    case OpType::layer_norm:
      if (n.weight.size() != static_cast<std::size_t>(c) ||
          n.bias.size() != static_cast<std::size_t>(c)) {
        bad(fmt::format("{} weights and {} biases for {} channels", n.weight.size(), n.bias.size(),
                        c));
      }
      return c;
    case OpType::window_attention: {
      const std::int64_t wh = n.window;
      const std::int64_t ww = window_width(n);
      const int sx = window_shift_x(n);
      if (n.heads < 1 || wh < 1 || wh > 64 || ww < 1 || ww > 64 || n.window_shift < 0 ||
          n.window_shift >= wh || sx < 0 || sx >= ww ||
          c % (3 * static_cast<std::int64_t>(n.heads)) != 0) {
        bad(fmt::format("{} heads, window {}x{}, shift {},{} for {} qkv channels", n.heads, wh, ww,
                        n.window_shift, sx, c));
      }
      const std::size_t table =
          static_cast<std::size_t>((2 * wh - 1) * (2 * ww - 1)) * static_cast<std::size_t>(n.heads);
      if (n.weight.size() != table) {
        bad(fmt::format("position bias table has {} values, expected {}", n.weight.size(), table));
      }
      return c / 3;
    }
    case OpType::recursive_reduction: {
      const std::int64_t k = n.kernel;
      if (k < 2 || k > 8 || n.count < 0 || n.count > 8 ||
          n.weight.size() != static_cast<std::size_t>(c * k * k) ||
          n.bias.size() != static_cast<std::size_t>(c)) {
        bad(fmt::format("kernel {}, at least {} times, {} weights and {} biases for {} channels", k,
                        n.count, n.weight.size(), n.bias.size(), c));
      }
      return c;
    }
    case OpType::token_attention: {
      const std::int64_t tokens_c = channels[n.inputs[1]];
      if (n.heads < 1 || c % n.heads != 0 || tokens_c <= c || (tokens_c - c) % n.heads != 0) {
        bad(fmt::format("{} heads for {} query and {} key/value channels", n.heads, c, tokens_c));
      }
      return tokens_c - c;
    }
    case OpType::permuted_attention: {
      const std::int64_t ws = n.window;
      const std::int64_t model_ch = c % 3 == 0 ? 2 * c / 3 : 0;
      if (n.heads < 1 || ws < 4 || ws > 64 || ws % 2 != 0 || n.window_shift < 0 ||
          n.window_shift >= ws || model_ch == 0 || model_ch % 4 != 0 || model_ch % n.heads != 0) {
        bad(fmt::format("{} heads, window {}, shift {} for {} q and kv model_ch", n.heads, ws,
                        n.window_shift, c));
      }
      const std::size_t table =
          static_cast<std::size_t>((ws - 1) * (ws - 1)) * static_cast<std::size_t>(n.heads);
      if (n.weight.size() != table) {
        bad(fmt::format("position bias table has {} values, expected {}", n.weight.size(), table));
      }
      return model_ch;
    }
    case OpType::overlap_attention: {
      const std::int64_t window = n.window;
      const std::int64_t keys = n.overlap;
      if (n.heads < 1 || window < 1 || window > 64 || keys < window || keys > 128 ||
          (keys - window) % 2 != 0 || c % (3 * static_cast<std::int64_t>(n.heads)) != 0) {
        bad(fmt::format("{} heads, window {}, key window {} for {} qkv channels", n.heads, n.window,
                        n.overlap, c));
      }
      const std::size_t table =
          static_cast<std::size_t>((window + keys - 1) * (window + keys - 1)) *
          static_cast<std::size_t>(n.heads);
      if (n.weight.size() != table) {
        bad(fmt::format("position bias table has {} values, expected {}", n.weight.size(), table));
      }
      return c / 3;
    }
    case OpType::channel_gram:
    case OpType::channel_attention: {
      if (n.heads < 1 || c % (3 * static_cast<std::int64_t>(n.heads)) != 0 || n.window < 0 ||
          n.window > 64 || (n.grid && n.window == 0)) {
        bad(fmt::format("{} heads, window {} for {} qkv channels", n.heads, n.window, c));
      }
      const std::int64_t d = c / 3 / n.heads;
      const std::int64_t stats = n.heads * d * d + 2 * (c / 3);
      if (n.type == OpType::channel_gram) return stats;
      if (channels[n.inputs[1]] != stats) {
        bad(fmt::format("statistics have {} channels, expected {}", channels[n.inputs[1]], stats));
      }
      if (n.weight.size() != static_cast<std::size_t>(n.heads)) {
        bad(fmt::format("{} temperatures for {} heads", n.weight.size(), n.heads));
      }
      return c / 3;
    }
    case OpType::grid_to_windows:
    case OpType::windows_to_grid:
      if (n.factor < 1 || n.factor > kMaxFactor) {
        bad(fmt::format("factor {} is out of range (1 to {})", n.factor, kMaxFactor));
      }
      return c;
    case OpType::max_pool:
      if (n.kernel < 1 || n.kernel > kMaxFactor || n.stride < 1 || n.stride > kMaxFactor) {
        bad(fmt::format("kernel {} and stride {} are out of range (1 to {})", n.kernel, n.stride,
                        kMaxFactor));
      }
      return c;
    case OpType::offset_sample: {
      const std::int64_t f2 = static_cast<std::int64_t>(n.factor) * n.factor;
      if (n.factor < 1 || n.factor > kMaxFactor || n.groups < 1 || c % n.groups != 0 ||
          channels[n.inputs[1]] != 2 * f2 * n.groups) {
        bad(
            fmt::format("factor {} and {} groups for {} channels and {} offset channels "
                        "(expected 2 x groups x factor^2)",
                        n.factor, n.groups, c, channels[n.inputs[1]]));
      }
      return c;
    }
    case OpType::pad_to_multiple:
      if (n.factor < 1 || n.factor > kMaxFactor || n.count < 0 || n.count > 4096) {
        bad(fmt::format("factor {} or minimum side {} is out of range (1 to {}, 0 to 4096)",
                        n.factor, n.count, kMaxFactor));
      }
      if (std::min({n.top, n.bottom, n.left, n.right}) < 0 ||
          std::max({n.top, n.bottom, n.left, n.right}) > 256) {
        bad(fmt::format("margins {},{},{},{} are out of range (0 to 256)", n.top, n.bottom, n.left,
                        n.right));
      }
      return c;
    default:
      return c;
  }
}
}  // namespace

void validate(const Graph& g) {
  std::vector<bool> defined(static_cast<std::size_t>(g.num_values), false);
  if (g.input < 0 || g.input >= g.num_values) {
    throw Error(ErrorKind::internal, g.name, "graph input is not a value");
  }
  defined[g.input] = true;
  std::vector<std::int64_t> channels(static_cast<std::size_t>(g.num_values), 0);
  channels[g.input] = g.in_channels;
  for (const Node& n : g.nodes) {
    const std::size_t want = expected_inputs(n.type);
    if (want != 0 && n.inputs.size() != want) {
      fail(g, n, fmt::format("has {} inputs, expected {}", n.inputs.size(), want));
    }
    if (n.inputs.empty()) fail(g, n, "has no inputs");
    for (int v : n.inputs) {
      if (v < 0 || v >= g.num_values || !defined[v]) {
        fail(g, n, fmt::format("reads value {} before it is computed", v));
      }
    }
    if (n.output < 0 || n.output >= g.num_values) fail(g, n, "writes no valid value");
    defined[n.output] = true;
    channels[n.output] = output_channels(g, n, channels);
    if (n.type == OpType::conv2d) {
      if (n.kernel < 1 || n.stride < 1 || n.groups < 1 || n.in_channels % n.groups != 0 ||
          n.out_channels % n.groups != 0) {
        fail(g, n, "bad convolution parameters");
      }
      const std::size_t wsize = static_cast<std::size_t>(n.out_channels) *
                                (n.in_channels / n.groups) * n.kernel * n.kernel;
      if (n.weight.size() != wsize) {
        fail(g, n, fmt::format("weight has {} values, expected {}", n.weight.size(), wsize));
      }
      if (!n.bias.empty() && n.bias.size() != static_cast<std::size_t>(n.out_channels)) {
        fail(g, n, fmt::format("bias has {} values, expected {}", n.bias.size(), n.out_channels));
      }
    }
    if (n.type == OpType::deconv2d) {
      if (n.kernel < 1 || n.stride < 1 || n.padding < 0 || n.in_channels < 1 ||
          n.out_channels < 1 || n.groups != 1) {
        fail(g, n, "bad deconvolution parameters");
      }
      const std::size_t wsize =
          static_cast<std::size_t>(n.in_channels) * n.out_channels * n.kernel * n.kernel;
      if (n.weight.size() != wsize) {
        fail(g, n, fmt::format("weight has {} values, expected {}", n.weight.size(), wsize));
      }
      if (!n.bias.empty() && n.bias.size() != static_cast<std::size_t>(n.out_channels)) {
        fail(g, n, fmt::format("bias has {} values, expected {}", n.bias.size(), n.out_channels));
      }
    }
    if ((n.type == OpType::pixel_shuffle || n.type == OpType::pixel_unshuffle ||
         n.type == OpType::upsample_nearest || n.type == OpType::upsample_bilinear) &&
        n.factor < 1) {
      fail(g, n, "factor must be at least 1");
    }
  }
  if (g.output < 0 || g.output >= g.num_values || !defined[g.output]) {
    throw Error(ErrorKind::internal, g.name, "graph output is never computed");
  }
}

int estimate_receptive_radius(const Graph& g) {
  // Reach in the input grid: a value's reach is the max of its inputs' plus the op's own, scaled
  // by the value's resolution relative to the input (stride / shuffle change it).
  std::vector<double> reach(static_cast<std::size_t>(g.num_values), 0.0);
  std::vector<double> res(static_cast<std::size_t>(g.num_values), 1.0);  // pixels per input pixel
  for (const Node& n : g.nodes) {
    double r = 0;
    double s = res[n.inputs[0]];
    for (int v : n.inputs) r = std::max(r, reach[v]);
    switch (n.type) {
      case OpType::conv2d: {
        const int half = n.kernel / 2;  // pixels read on each side
        r += half / s;
        s /= n.stride;
        break;
      }
      case OpType::deconv2d: {
        // An output pixel reads about k / stride (rounded up) input pixels of its input grid.
        const int reads = (n.kernel + n.stride - 1) / n.stride;
        r += reads / s;
        s *= n.stride;
        break;
      }
      case OpType::pixel_shuffle:
      case OpType::upsample_nearest:
        s *= n.factor;
        break;
      case OpType::upsample_bilinear:
        r += 1.0 / s;
        s *= n.factor;
        break;
      case OpType::offset_sample:  // bilinear at learned offsets: taken as up to 2 pixels
        r = std::max(r, reach[n.inputs[1]]) + 3.0 / s;
        s *= n.factor;
        break;
      case OpType::pixel_unshuffle:
        r += (n.factor - 1) / s;
        s /= n.factor;
        break;
      case OpType::window_attention:  // a pixel sees its whole window
        r += (std::max(n.window, window_width(n)) - 1) / s;
        break;
      case OpType::permuted_attention:
        r += (n.window - 1) / s;
        break;
      case OpType::recursive_reduction:  // at least `count` times (global: has_global_context)
        s /= std::pow(n.kernel, std::max(1, n.count));
        break;
      case OpType::channel_gram:  // per window: a pixel's statistics are its window's
        if (!n.grid) r += std::max(0, n.window - 1) / s;
        break;
      case OpType::max_pool:
        r += (n.kernel - 1) / s;
        s /= n.stride;
        break;
      case OpType::resize_bilinear_like:  // back on its reference's grid (OmniSR's ESA: global)
        r = std::max(r, reach[n.inputs[1]]) + 1.0 / s;
        s = res[n.inputs[1]];
        break;
      case OpType::overlap_attention: {                 // and the key window's margin around it
        const int margin = (n.overlap - n.window) / 2;  // even: validate checks
        r += (n.window - 1 + margin) / s;
        break;
      }
      default:  // global_avg_pool depends on everything: has_global_context
        break;
    }
    reach[n.output] = r;
    res[n.output] = s;
  }
  return static_cast<int>(std::ceil(reach[g.output]));
}

bool has_global_context(const Graph& g) {
  for (const Node& n : g.nodes) {
    // The grid layout and ESA's resize back to the image depend on the whole extent too.
    if (is_global_statistic(n) || n.type == OpType::group_norm ||
        n.type == OpType::grid_to_windows || n.type == OpType::resize_bilinear_like ||
        n.type == OpType::recursive_reduction || n.type == OpType::token_attention) {
      return true;
    }
  }
  return false;
}

}  // namespace hires::engine
