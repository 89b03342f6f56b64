// Random tensors, weights, conv/deconv nodes and chained graphs for the op tests (ops x backends),
// written once for test_ops, test_vulkan, test_deconv and test_winograd.
#pragma once

#include <random>
#include <vector>

#include "engine/graph.hpp"
#include "engine/tensor.hpp"

namespace hires::engine::test {

// Uniform values in [lo, hi).
inline Tensor random_tensor(int c, int h, int w, unsigned seed, float lo = -1.0F, float hi = 1.0F) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  Tensor t(c, h, w);
  for (float& v : t.data) v = d(rng);
  return t;
}

// Normal values around 0 with standard deviation `scale`.
inline std::vector<float> random_vector(std::size_t n, unsigned seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0F, scale);
  std::vector<float> v(n);
  for (float& f : v) f = d(rng);
  return v;
}

inline Node conv_node(int in_c, int out_c, int k, int stride, int pad, int groups, bool bias,
                      unsigned seed) {
  Node n;
  n.type = OpType::conv2d;
  n.name = "conv";
  n.in_channels = in_c;
  n.out_channels = out_c;
  n.kernel = k;
  n.stride = stride;
  n.padding = pad;
  n.groups = groups;
  n.weight = random_vector(static_cast<std::size_t>(out_c) * (in_c / groups) * k * k, seed, 0.3F);
  if (bias) n.bias = random_vector(static_cast<std::size_t>(out_c), seed + 1, 0.1F);
  return n;
}

inline Node deconv_node(int in_c, int out_c, int k, int stride, int pad, bool bias, unsigned seed) {
  Node n;
  n.type = OpType::deconv2d;
  n.name = "deconv";
  n.in_channels = in_c;
  n.out_channels = out_c;
  n.kernel = k;
  n.stride = stride;
  n.padding = pad;
  n.weight = random_vector(static_cast<std::size_t>(in_c) * out_c * k * k, seed, 0.3F);
  if (bias) n.bias = random_vector(static_cast<std::size_t>(out_c), seed + 1, 0.1F);
  return n;
}

// input -> nodes, each reading the previous value unless its inputs are preset; validated.
inline Graph chain(std::vector<Node> nodes, int in_c) {
  Graph g;
  g.name = "test";
  g.in_channels = in_c;
  int x = g.input;
  for (Node& n : nodes) {
    if (n.inputs.empty()) n.inputs = {x};
    n.output = x = g.add_value();
    g.nodes.push_back(std::move(n));
  }
  g.output = x;
  validate(g);
  return g;
}

}  // namespace hires::engine::test
