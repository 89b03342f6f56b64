// The vulkan backend's ops: for each node, its output shape, its weights packed for its shader
// (uploaded once), and the dispatches (shader, bindings, push constants, group counts) that
// compute it. The shaders are shaders/<op>.comp; the backend (backend_vulkan.cpp) records them.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/graph.hpp"
#include "engine/vulkan/context.hpp"

namespace hires::engine::vk {

struct Shape {
  int c = 0, h = 0, w = 0;
  std::size_t size() const { return static_cast<std::size_t>(c) * h * w; }
};

// Whether this backend has a shader for the op (a graph with any other op is refused by name).
bool supports(OpType t);
// What of node n this backend cannot run ("a foo layer", "a 31x31 convolution"); empty = none.
std::string unsupported(const Node& n);
// Whether `act` can be fused into the convolution before it (bias + activation in one pass).
bool fusable_activation(OpType t);

// The output shape of n from its inputs' shapes; Error(internal) naming the node on a mismatch.
Shape output_shape(const Node& n, const std::vector<Shape>& inputs);

// What a binding of a dispatch refers to: a value of the graph, or a buffer of the node's own.
struct Ref {
  enum class Kind { none, value, param } kind = Kind::none;
  int id = -1;  // value id, or index into NodeParams::buffers
};

struct Dispatch {
  std::string shader;
  std::array<Ref, kBindings> bind{};  // bind[0] is written, the rest read
  std::array<std::uint32_t, kPushConstantBytes / 4> push{};
  std::uint32_t groups[3] = {1, 1, 1};
};

// A node's weights in its shader's layout, on the device; `act` is the activation fused into a
// (de)convolution (or nullptr).
struct NodeParams {
  std::vector<Buffer> buffers;
  const Node* act = nullptr;
};
NodeParams prepare(Context& ctx, const Node& n, const Node* act);

// The dispatches that compute node n into value `out` (n.output, or the fused activation's).
std::vector<Dispatch> dispatches(const Node& n, const NodeParams& params,
                                 const std::vector<Shape>& in_shapes, const Shape& out_shape,
                                 int out, const DeviceFacts& facts);

}  // namespace hires::engine::vk
