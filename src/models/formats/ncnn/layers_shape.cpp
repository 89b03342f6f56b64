// Translators of the layers that move, resize or combine blobs without weights: Input, Split,
// PixelShuffle, Reorg, Interp, Concat, Crop, Padding and Pooling (global average).
#include "models/formats/ncnn/layers.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "models/formats/ncnn/context.hpp"

namespace hires::models::ncnn {
namespace {

using engine::Node;
using engine::OpType;

void emit_crop(Context& c, Blob b, int top, int bottom_, int left, int right) {
  const auto bad = [](int v) { return v < 0 || v > kMaxBorder; };
  if (bad(top) || bad(bottom_) || bad(left) || bad(right)) {
    c.layer_error(fmt::format("crop out of range (top {}, bottom {}, left {}, right {})", top,
                              bottom_, left, right));
  }
  if (top + bottom_ + left + right > 0) {
    Node n = c.node(OpType::crop, {b.value});
    n.top = top;
    n.bottom = bottom_;
    n.left = left;
    n.right = right;
    b.value = c.emit(std::move(n));
    b.off_h -= top + bottom_;
    b.off_w -= left + right;
  }
  c.set_top(0, b);
}

}  // namespace

void input(Context& c) {
  c.expect_counts(0, 1);
  if (c.seen_input) c.layer_error("a model may have only one Input layer");
  c.seen_input = true;
  c.declared_channels = c.get_int(2, 0);
  c.set_top(0, Blob{});  // value 0, size N, C channels
}

void split(Context& c) {
  if (c.layer().bottoms.size() != 1 || c.layer().tops.empty()) {
    c.layer_error(fmt::format("expects 1 input and at least 1 output, has {} and {}",
                              c.layer().bottoms.size(), c.layer().tops.size()));
  }
  const Blob b = c.bottom(0);
  for (std::size_t i = 0; i < c.layer().tops.size(); ++i) c.set_top(i, b);
}

void pixel_shuffle(Context& c) {
  c.expect_counts(1, 1);
  const int r = c.get_int(0, 1);
  if (r < 1 || r > kMaxFactor) {
    c.layer_error(fmt::format("upscale_factor 0={} is out of range", r));
  }
  if (c.get_int(1, 0) != 0) {
    c.layer_error("mode 1 (TensorFlow depth_to_space channel order) is not supported");
  }
  Blob b = c.bottom(0);
  c.require_not_pooled(b);
  const auto ch = c.channels(b);
  if (ch && *ch % (std::int64_t{r} * r) != 0) {
    c.layer_error(fmt::format("{} channels are not divisible by {}", *ch, r * r));
  }
  Node n = c.node(OpType::pixel_shuffle, {b.value});
  n.factor = r;
  b.value = c.emit(std::move(n));
  b.scale = b.scale * Ratio{r, 1};
  c.note_scale(b.scale);
  b.off_h *= r;
  b.off_w *= r;
  b.ch_coef = b.ch_coef * Ratio{1, std::int64_t{r} * r};
  b.ch_extra = b.ch_extra * Ratio{1, std::int64_t{r} * r};
  c.set_top(0, b);
}

void reorg(Context& c) {
  c.expect_counts(1, 1);
  const int r = c.get_int(0, 0);
  if (r < 1 || r > kMaxFactor) c.layer_error(fmt::format("stride 0={} is out of range", r));
  // ncnn's Reorg (mode 0) writes input channel c, row phase i, column phase j to output channel
  // c*r*r + i*r + j: the same order as PyTorch's pixel_unshuffle. Mode 1 puts the phase first
  // ((i*r + j)*C + c, TensorFlow's space_to_depth), which our op does not do.
  if (c.get_int(1, 0) != 0) {
    c.layer_error("mode 1 (TensorFlow space_to_depth channel order) is not supported");
  }
  Blob b = c.bottom(0);
  c.require_not_pooled(b);
  Node n = c.node(OpType::pixel_unshuffle, {b.value});
  n.factor = r;
  b.value = c.emit(std::move(n));
  b.scale = b.scale * Ratio{1, r};
  b.off_h = floor_div(b.off_h, r);
  b.off_w = floor_div(b.off_w, r);
  b.ch_coef = b.ch_coef * Ratio{std::int64_t{r} * r, 1};
  b.ch_extra = b.ch_extra * Ratio{std::int64_t{r} * r, 1};
  c.note_scale(b.scale);
  c.set_top(0, b);
}

void interp(Context& c) {
  c.expect_counts(1, 1);
  const int type = c.get_int(0, 0);
  const float hs = c.get_float(1, 1.0F);
  const float ws = c.get_float(2, 1.0F);
  if (type != 1 && type != 2) {
    c.layer_error(
        fmt::format("resize_type 0={} is not supported (1 nearest, 2 bilinear are)", type));
  }
  if (c.get_int(3, 0) != 0 || c.get_int(4, 0) != 0) {
    c.layer_error("resizing to a fixed output size (3=, 4=) is not supported");
  }
  if (c.get_int(5, 0) != 0) c.layer_error("dynamic target size (5=1) is not supported");
  if (type == 2 && c.get_int(6, 0) != 0) {
    c.layer_error("bilinear resize with align_corner (6=1) is not supported");
  }
  if (hs != ws || hs < 1.0F || hs != std::floor(hs) || hs > static_cast<float>(kMaxFactor)) {
    c.layer_error(fmt::format("scales {}x{} are not supported (equal whole numbers only)", hs, ws));
  }
  const int f = static_cast<int>(hs);
  Blob b = c.bottom(0);
  c.require_not_pooled(b);
  if (f > 1) {
    Node n = c.node(type == 1 ? OpType::upsample_nearest : OpType::upsample_bilinear, {b.value});
    n.factor = f;
    b.value = c.emit(std::move(n));
    b.scale = b.scale * Ratio{f, 1};
    c.note_scale(b.scale);
    b.off_h *= f;
    b.off_w *= f;
  }
  c.set_top(0, b);
}

void concat(Context& c) {
  if (c.layer().bottoms.empty() || c.layer().tops.size() != 1) {
    c.layer_error(fmt::format("expects at least 1 input and 1 output, has {} and {}",
                              c.layer().bottoms.size(), c.layer().tops.size()));
  }
  const int axis = c.get_int(0, 0);
  if (axis != 0 && axis != -3) {
    c.layer_error(fmt::format("axis 0={} is not supported (channels, 0, only)", axis));
  }
  Blob top = c.bottom(0);
  std::vector<int> inputs{top.value};
  for (std::size_t i = 1; i < c.layer().bottoms.size(); ++i) {
    const Blob& b = c.bottom(i);
    if (!same_size(top, b)) {
      c.layer_error(fmt::format("inputs differ in size ({} and {})", size_text(top), size_text(b)));
    }
    top.ch_coef = top.ch_coef + b.ch_coef;
    top.ch_extra = top.ch_extra + b.ch_extra;
    inputs.push_back(b.value);
  }
  if (inputs.size() > 1) top.value = c.emit(c.node(OpType::concat, std::move(inputs)));
  c.set_top(0, top);
}

void crop(Context& c) {
  const std::vector<double> starts = c.get_array(9);
  const std::vector<double> ends = c.get_array(10);
  if (!starts.empty() && !ends.empty()) {  // numpy-style slice along axes (0 c, 1 h, 2 w)
    c.expect_counts(1, 1);
    std::vector<double> axes = c.get_array(11);
    if (axes.empty()) axes = {0, 1, 2};
    if (starts.size() != axes.size() || ends.size() != axes.size()) {
      c.layer_error("starts, ends and axes (9=, 10=, 11=) differ in length");
    }
    const Blob& b = c.bottom(0);
    c.require_not_pooled(b);
    int cut[3][2] = {{0, 0}, {0, 0}, {0, 0}};  // [axis][start, end]
    for (std::size_t i = 0; i < axes.size(); ++i) {
      int axis = static_cast<int>(axes[i]);
      if (axis < 0) axis += 3;
      if (axis < 0 || axis > 2) c.layer_error(fmt::format("axis {} is out of range", axes[i]));
      const double start = starts[i] == kAuto ? 0 : starts[i];
      const double end = ends[i] == kAuto || ends[i] >= kHugeEnd ? 0 : ends[i];
      if (start < 0 || end > 0) {
        c.layer_error(fmt::format("slice {}:{} needs the blob's size, which is not fixed",
                                  starts[i], ends[i]));
      }
      cut[axis][0] = static_cast<int>(start);
      cut[axis][1] = static_cast<int>(-end);
    }
    if (cut[0][0] != 0 || cut[0][1] != 0) c.layer_error("cropping channels is not supported");
    return emit_crop(c, b, cut[1][0], cut[1][1], cut[2][0], cut[2][1]);
  }

  const int woff = c.get_int(0, 0);
  const int hoff = c.get_int(1, 0);
  const int coff = c.get_int(2, 0);
  if (woff == kAuto || hoff == kAuto || coff == kAuto) {
    c.layer_error("crop offsets of -233 (dynamic or axis-shifted crops) are not supported");
  }
  if (c.layer().bottoms.size() == 2) {  // crop to the size of a reference blob
    c.expect_counts(2, 1);
    const Blob& b = c.bottom(0);
    const Blob& ref = c.bottom(1);
    c.require_not_pooled(b);
    c.require_not_pooled(ref);
    if (coff != 0) c.layer_error("cropping channels is not supported");
    const auto cb = c.channels(b);
    const auto cr = c.channels(ref);
    if (cb && cr && *cb != *cr) {
      c.layer_error(fmt::format("cropping {} channels to {} is not supported", *cb, *cr));
    }
    if (!(b.scale == ref.scale)) {
      c.layer_error(fmt::format("cannot crop a {} blob to a {} one", size_text(b), size_text(ref)));
    }
    return emit_crop(c, b, hoff, static_cast<int>(b.off_h - ref.off_h - hoff), woff,
                     static_cast<int>(b.off_w - ref.off_w - woff));
  }
  c.expect_counts(1, 1);
  const int outw = c.get_int(3, 0);
  const int outh = c.get_int(4, 0);
  const int outc = c.get_int(5, 0);
  if (outw == 0 && outh == 0 && outc == 0) {
    c.layer_error("has no output size and no reference blob");
  }
  if (outw != kAuto || outh != kAuto) {
    c.layer_error(
        fmt::format("cropping to a fixed size (3={}, 4={}) is not supported", outw, outh));
  }
  if (outc != kAuto || coff != 0 || c.get_int(8, 0) != 0) {
    c.layer_error("cropping channels is not supported");
  }
  const Blob& b = c.bottom(0);
  c.require_not_pooled(b);
  emit_crop(c, b, hoff, c.get_int(7, 0), woff, c.get_int(6, 0));
}

void padding(Context& c) {
  c.expect_counts(1, 1);
  const int top = c.get_int(0, 0);
  const int bot = c.get_int(1, 0);
  const int left = c.get_int(2, 0);
  const int right = c.get_int(3, 0);
  const int type = c.get_int(4, 0);
  const auto bad = [](int v) { return v < 0 || v > kMaxBorder; };
  if (bad(top) || bad(bot) || bad(left) || bad(right)) {
    c.layer_error(fmt::format("padding out of range (top {}, bottom {}, left {}, right {})", top,
                              bot, left, right));
  }
  if (c.get_int(6, 0) != 0) c.layer_error("per-channel pad values (6=) are not supported");
  if (c.get_int(7, 0) != 0 || c.get_int(8, 0) != 0) {
    c.layer_error("padding channels (7=, 8=) is not supported");
  }
  engine::PadMode mode = engine::PadMode::zero;
  if (type == 0) {
    if (c.get_float(5, 0.0F) != 0.0F) {
      c.layer_error(fmt::format("constant padding with value {} is not supported (only 0)",
                                c.get_float(5, 0.0F)));
    }
  } else if (type == 1) {
    mode = engine::PadMode::replicate;
  } else if (type == 2) {
    mode = engine::PadMode::reflect;
  } else {
    c.layer_error(fmt::format("padding type 4={} is not supported", type));
  }
  Blob b = c.bottom(0);
  c.require_not_pooled(b);
  if (top + bot + left + right > 0) {
    Node n = c.node(OpType::pad, {b.value});
    n.top = top;
    n.bottom = bot;
    n.left = left;
    n.right = right;
    n.pad_mode = mode;
    b.value = c.emit(std::move(n));
    b.off_h += top + bot;
    b.off_w += left + right;
  }
  c.set_top(0, b);
}

void pooling(Context& c) {
  c.expect_counts(1, 1);
  const int type = c.get_int(0, 0);
  const bool global = c.get_int(4, 0) != 0;
  const int out_w = c.get_int(8, 0);
  const bool adaptive_1x1 = c.get_int(7, 0) != 0 && out_w == 1 && c.get_int(18, out_w) == 1;
  if (type != 1 || !(global || adaptive_1x1)) {
    c.layer_error("only global average pooling (0=1 4=1) is supported");
  }
  Blob b = c.bottom(0);
  c.require_not_pooled(b);
  b.value = c.emit(c.node(OpType::global_avg_pool, {b.value}));
  b.pooled = true;
  c.set_top(0, b);
}

}  // namespace hires::models::ncnn
