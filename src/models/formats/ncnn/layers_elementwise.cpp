// Translators of the element-wise layers: ReLU, PReLU, Sigmoid, BinaryOp, Eltwise and Scale (by a
// second blob).
#include "models/formats/ncnn/layers.hpp"

#include <fmt/format.h>

#include <cstddef>
#include <string>
#include <utility>

#include "models/formats/ncnn/context.hpp"

namespace hires::models::ncnn {
namespace {

using engine::Node;
using engine::OpType;

void unary(Context& c, OpType t) {
  c.expect_counts(1, 1);
  Blob b = c.bottom(0);
  b.value = c.emit(c.node(t, {b.value}));
  c.set_top(0, b);
}

// add/mul of two blobs; a pooled [C,1,1] operand of mul goes second (per-channel scale).
Blob elementwise(Context& c, OpType t, Blob a, Blob b, const std::string& suffix) {
  if (t == OpType::mul && a.pooled && !b.pooled) std::swap(a, b);
  const bool broadcast = t == OpType::mul && b.pooled && !a.pooled;
  if (!broadcast && !same_size(a, b)) {
    c.layer_error(fmt::format("inputs differ in size ({} and {})", size_text(a), size_text(b)));
  }
  const auto ca = c.channels(a);
  const auto cb = c.channels(b);
  if (ca && cb && *ca != *cb) {
    c.layer_error(fmt::format("inputs differ in channels ({} and {})", *ca, *cb));
  }
  Blob top = a;
  top.value = c.emit(c.node(t, {a.value, b.value}, suffix));
  return top;
}

}  // namespace

// Scale with a second blob of per-channel factors (0=-233): mul.
void scale(Context& c) {
  if (c.get_int(0, 0) != kAuto || c.layer().bottoms.size() != 2) {
    c.layer_error("only Scale by a second blob (2 inputs, 0=-233) is supported");
  }
  c.expect_counts(2, 1);
  if (c.get_int(1, 0) != 0) c.layer_error("Scale with a bias (1=1) is not supported");
  c.set_top(0, elementwise(c, OpType::mul, c.bottom(0), c.bottom(1), {}));
}

void relu(Context& c) {
  c.expect_counts(1, 1);
  const float slope = c.get_float(0, 0.0F);
  Blob b = c.bottom(0);
  Node n = c.node(slope == 0.0F ? OpType::relu : OpType::leaky_relu, {b.value});
  n.alpha = slope;
  b.value = c.emit(std::move(n));
  c.set_top(0, b);
}

void prelu(Context& c) {
  c.expect_counts(1, 1);
  const int count = c.get_int(0, 0);
  if (count < 1 || count > kMaxChannels) {
    c.layer_error(fmt::format("num_slope 0={} is out of range", count));
  }
  Blob b = c.bottom(0);
  const auto ch = c.channels(b);
  if (count != 1 && ch && *ch != count) {
    c.layer_error(fmt::format("has {} slopes but its input has {} channels", count, *ch));
  }
  Node n = c.node(OpType::prelu, {b.value});
  n.slopes = c.read_raw(static_cast<std::size_t>(count));
  b.value = c.emit(std::move(n));
  c.set_top(0, b);
}

void sigmoid(Context& c) {
  unary(c, OpType::sigmoid);
}

void binary_op(Context& c) {
  const int op = c.get_int(0, 0);
  const bool with_scalar = c.get_int(1, 0) != 0;
  static constexpr const char* kNames[] = {"add", "sub", "mul",  "div", "max",
                                           "min", "pow", "rsub", "rdiv"};
  const std::string op_name = op >= 0 && op <= 8 ? kNames[op] : fmt::format("op_type {}", op);
  if (with_scalar) {
    c.expect_counts(1, 1);
    const float s = c.get_float(2, 0.0F);
    Blob b = c.bottom(0);
    Node n = c.node(OpType::scale_shift, {b.value});
    switch (op) {
      case 0:
        n.shift = s;
        break;
      case 1:
        n.shift = -s;
        break;
      case 2:
        n.scale = s;
        break;
      case 3:
        if (s == 0.0F) c.layer_error("divides by zero");
        n.scale = 1.0F / s;
        break;
      case 7:
        n.scale = -1.0F;
        n.shift = s;
        break;
      default:
        c.layer_error(
            fmt::format("{} with a scalar is not supported (add, sub, mul, div, rsub "
                        "are)",
                        op_name));
    }
    b.value = c.emit(std::move(n));
    c.set_top(0, b);
    return;
  }
  c.expect_counts(2, 1);
  if (op != 0 && op != 2) {
    c.layer_error(fmt::format("{} of two blobs is not supported (add and mul are)", op_name));
  }
  c.set_top(0, elementwise(c, op == 0 ? OpType::add : OpType::mul, c.bottom(0), c.bottom(1), {}));
}

void eltwise(Context& c) {
  if (c.layer().bottoms.empty() || c.layer().tops.size() != 1) {
    c.layer_error(fmt::format("expects at least 1 input and 1 output, has {} and {}",
                              c.layer().bottoms.size(), c.layer().tops.size()));
  }
  const int op = c.get_int(0, 0);
  if (op != 0 && op != 1) {
    c.layer_error(fmt::format("op_type 0={} is not supported (0 product, 1 sum are)", op));
  }
  if (op == 1) {
    for (double coefficient : c.get_array(1)) {
      if (coefficient != 1.0) {
        c.layer_error(fmt::format("sum coefficient {} is not supported (only 1)", coefficient));
      }
    }
  }
  const OpType t = op == 0 ? OpType::mul : OpType::add;
  Blob acc = c.bottom(0);
  for (std::size_t i = 1; i < c.layer().bottoms.size(); ++i) {
    acc = elementwise(c, t, acc, c.bottom(i), i == 1 ? std::string() : fmt::format("/{}", i));
  }
  c.set_top(0, acc);
}

}  // namespace hires::models::ncnn
