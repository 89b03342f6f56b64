#include "models/formats/ncnn/context.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

#include "core/checked.hpp"
#include "hires/error.hpp"

namespace hires::models::ncnn {

namespace fs = std::filesystem;
using engine::Node;
using engine::OpType;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

namespace {

std::int64_t ok(std::optional<std::int64_t> v) {
  if (!v || *v > kMaxRatioPart || *v < -kMaxRatioPart) throw RatioOverflow{};
  return *v;
}

}  // namespace

Ratio make_ratio(std::int64_t num, std::int64_t den) {
  if (den == 0) throw RatioOverflow{};
  const std::int64_t g = std::gcd(num, den);
  if (g == 0) return {0, 1};
  return {num / g, den / g};
}
Ratio operator*(Ratio a, Ratio b) {
  return make_ratio(ok(core::checked_mul(a.num, b.num)), ok(core::checked_mul(a.den, b.den)));
}
Ratio operator+(Ratio a, Ratio b) {
  const std::int64_t x = ok(core::checked_mul(a.num, b.den));
  const std::int64_t y = ok(core::checked_mul(b.num, a.den));
  return make_ratio(ok(core::checked_add(x, y)), ok(core::checked_mul(a.den, b.den)));
}
bool operator==(Ratio a, Ratio b) {
  return a.num == b.num && a.den == b.den;
}

std::string ratio_text(Ratio r) {
  return r.den == 1 ? std::to_string(r.num) : fmt::format("{}/{}", r.num, r.den);
}

bool same_size(const Blob& a, const Blob& b) {
  return a.pooled == b.pooled &&
         (a.pooled || (a.scale == b.scale && a.off_h == b.off_h && a.off_w == b.off_w));
}

std::string size_text(const Blob& b) {
  if (b.pooled) return "1x1 (pooled)";
  const auto side = [&](std::int64_t off) {
    std::string s = b.scale == Ratio{1, 1} ? "N" : fmt::format("{}*N", ratio_text(b.scale));
    if (off != 0) s += fmt::format("{:+}", off);
    return s;
  };
  return b.off_h == b.off_w ? side(b.off_h) : fmt::format("{} x {}", side(b.off_h), side(b.off_w));
}

Context::Context(fs::path param, WeightReader& weights)
    : param_path_(std::move(param)), weights_(weights) {
  graph.name = param_path_.stem().string();
  graph.num_values = 1;
  graph.input = 0;
}

// ---- errors -----------------------------------------------------------------------------------

void Context::layer_error(const std::string& problem, const std::string& hint) const {
  param_error(param_path_, layer_->line,
              fmt::format("{} layer {}: {}", layer_->type, layer_->name, problem), hint);
}

void Context::model_error(const std::string& problem) const {
  throw Error(ErrorKind::input, param_path_.string(), problem);
}

// ---- parameters of the current layer ---------------------------------------------------------

bool Context::has(int id) const {
  return layer_->params.count(id) != 0;
}

double Context::scalar(int id, double def) const {
  const auto it = layer_->params.find(id);
  if (it == layer_->params.end()) return def;
  if (it->second.is_array) layer_error(fmt::format("parameter {} should be a number", id));
  return it->second.values[0];
}

int Context::get_int(int id, int def) const {
  const double v = scalar(id, def);
  if (v != std::floor(v) || std::abs(v) > std::numeric_limits<int>::max()) {
    layer_error(fmt::format("parameter {}={} should be a whole number", id, v));
  }
  return static_cast<int>(v);
}

float Context::get_float(int id, float def) const {
  return static_cast<float>(scalar(id, def));
}

std::vector<double> Context::get_array(int id) const {
  const auto it = layer_->params.find(id);
  if (it == layer_->params.end()) return {};
  if (!it->second.is_array) {
    layer_error(fmt::format("parameter {} should be an array (key {})", id, kArrayKeyBase - id));
  }
  return it->second.values;
}

// ---- blobs ------------------------------------------------------------------------------------

void Context::expect_counts(std::size_t bottoms, std::size_t tops) const {
  if (layer_->bottoms.size() != bottoms || layer_->tops.size() != tops) {
    layer_error(fmt::format("expects {} input(s) and {} output(s), has {} and {}", bottoms, tops,
                            layer_->bottoms.size(), layer_->tops.size()));
  }
}

const Blob& Context::bottom(std::size_t i) const {
  const std::string& name = layer_->bottoms[i];
  const auto it = blobs.find(name);
  if (it == blobs.end()) {
    layer_error(fmt::format("reads blob '{}', which no earlier layer produces", name));
  }
  return it->second;
}

void Context::set_top(std::size_t i, const Blob& b) {
  blobs[layer_->tops[i]] = b;
}

int Context::emit(Node n) {
  n.output = graph.add_value();
  const int v = n.output;
  graph.nodes.push_back(std::move(n));
  return v;
}

Node Context::node(OpType t, std::vector<int> inputs, const std::string& suffix) const {
  Node n;
  n.type = t;
  n.name = layer_->name + suffix;
  n.inputs = std::move(inputs);
  return n;
}

std::optional<std::int64_t> Context::channels(const Blob& b) const {
  Ratio r = b.ch_extra;
  if (b.ch_coef.num != 0) {
    if (!in_channels) return std::nullopt;
    r = r + b.ch_coef * Ratio{*in_channels, 1};
  }
  if (r.den != 1) {
    layer_error(fmt::format("blob has a fractional channel count ({})", ratio_text(r)));
  }
  return r.num;
}

void Context::require_not_pooled(const Blob& b) const {
  if (b.pooled) {
    layer_error("cannot follow global pooling (its output is a 1-D blob in ncnn)");
  }
}

void Context::match_channels(const Blob& b, std::int64_t in) {
  if (b.ch_coef.num != 0 && !in_channels) {
    // in = coef * C + extra  =>  C = (in - extra) / coef
    const Ratio diff = make_ratio(in * b.ch_extra.den - b.ch_extra.num, b.ch_extra.den);
    if (diff.num > 0) {
      const Ratio c = make_ratio(diff.num * b.ch_coef.den, diff.den * b.ch_coef.num);
      if (c.den == 1 && c.num > 0) {
        in_channels = c.num;
        return;
      }
    }
    layer_error(fmt::format("{} input channels do not fit the model input", in));
  }
  const auto have = channels(b);
  if (have && *have != in) {
    layer_error(fmt::format("expects {} input channels but its input has {}", in, *have));
  }
}

void Context::note_scale(Ratio s) {
  if (s.num > kMaxScale || s.den > kMaxScale) {
    layer_error(fmt::format("changes the resolution too much (scale {})", ratio_text(s)));
  }
  size_multiple = std::lcm(size_multiple, static_cast<int>(s.den));
}

std::vector<float> Context::read_tagged(std::size_t count, std::size_t trailing) {
  return weights_.read_tagged(count, trailing, layer_->name);
}

std::vector<float> Context::read_raw(std::size_t count) {
  return weights_.read_raw(count, layer_->name);
}

}  // namespace hires::models::ncnn
