// What the vulkan backend's op files (kernels.cpp, kernels_transformer.cpp) share to describe a
// dispatch: push constants, bindings, group counts, uploads and shape errors.
#pragma once

#include <fmt/format.h>
#include <algorithm>
#include <bit>
#include <initializer_list>
#include <string>
#include <vector>

#include "engine/vulkan/kernels.hpp"
#include "hires/error.hpp"

namespace hires::engine::vk {

constexpr std::uint32_t kLocal1d = 256;  // LOCAL_SIZE of common.glsl

[[noreturn]] inline void shape_error(const Node& n, const std::string& what) {
  throw Error(ErrorKind::internal, fmt::format("node '{}' ({})", n.name, op_name(n.type)), what);
}

inline void require_same(const Node& n, const Shape& a, const Shape& b) {
  if (a.c != b.c || a.h != b.h || a.w != b.w) {
    shape_error(
        n, fmt::format("shapes differ: [{},{},{}] vs [{},{},{}]", a.c, a.h, a.w, b.c, b.h, b.w));
  }
}

// Push constants, filled in the order the shader's block declares them.
class Push {
 public:
  explicit Push(Dispatch& d) : d_(d) {}
  Push& i(int v) { return word(static_cast<std::uint32_t>(v)); }
  Push& f(float v) { return word(std::bit_cast<std::uint32_t>(v)); }

 private:
  Push& word(std::uint32_t w) {
    if (n_ >= d_.push.size()) throw Error(ErrorKind::internal, "vulkan", "push constants overflow");
    d_.push[n_++] = w;
    return *this;
  }
  Dispatch& d_;
  std::size_t n_ = 0;
};

inline Ref value(int id) {
  return {Ref::Kind::value, id};
}
inline Ref param(int index) {
  return {Ref::Kind::param, index};
}

// Groups of 256 for `n` invocations, as a 2-D grid when one row of groups would be too many.
inline void groups_1d(Dispatch& d, std::size_t n, const DeviceFacts& facts) {
  const std::size_t groups = std::max<std::size_t>(1, (n + kLocal1d - 1) / kLocal1d);
  const std::size_t x = std::min<std::size_t>(groups, facts.max_group_count[0]);
  const std::size_t y = (groups + x - 1) / x;
  if (y > facts.max_group_count[1]) {
    throw Error(ErrorKind::limit, "vulkan",
                fmt::format("a tensor of {} values is too large for one dispatch", n),
                "use a smaller `tile`");
  }
  d.groups[0] = static_cast<std::uint32_t>(x);
  d.groups[1] = static_cast<std::uint32_t>(y);
}

// A dispatch of `shader` writing value `out` and reading `inputs` (bindings 1, 2, ...).
inline Dispatch make(const char* shader, int out, std::initializer_list<Ref> inputs) {
  Dispatch d;
  d.shader = shader;
  d.bind[0] = value(out);
  std::size_t b = 1;
  for (const Ref& r : inputs) d.bind[b++] = r;
  return d;
}

inline Buffer upload(Context& ctx, const std::vector<float>& v) {
  return ctx.upload(v.data(), v.size() * sizeof(float));
}

// The transformer ops (kernels_transformer.cpp): the same three steps as kernels.hpp's, for
// layer norm, the attention cores, channel attention and their layout and padding ops. `ds` is
// left empty / the shape unset for any other op.
bool transformer_supports(OpType t);
bool transformer_output_shape(const Node& n, const std::vector<Shape>& in, Shape& y);
void transformer_prepare(Context& ctx, const Node& n, NodeParams& p);
void transformer_dispatches(const Node& n, const std::vector<Shape>& in, const Shape& y, int out,
                            const DeviceFacts& facts, std::vector<Dispatch>& ds);

}  // namespace hires::engine::vk
