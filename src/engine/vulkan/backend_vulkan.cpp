// The vulkan backend: every op as a compute shader (shaders/*.comp, SPIR-V embedded at build
// time), fp32 storage and arithmetic, planar CHW buffers like engine::Tensor. Convolutions fuse
// their bias and a following ReLU/LeakyReLU/PReLU/sigmoid. Per tile shape, the values get
// buffers (reused once a value is dead), and one command buffer with every dispatch is recorded
// once and resubmitted for each tile of that shape; weights are uploaded once.
#include <fmt/format.h>
#include <algorithm>
#include <cstring>
#include <list>
#include <map>
#include <memory>
#include <numeric>
#include <set>
#include <tuple>

#include "engine/backend.hpp"
#include "engine/tiler.hpp"
#include "engine/vulkan/context.hpp"
#include "engine/vulkan/half.hpp"
#include "engine/vulkan/kernels.hpp"
#include "hires/error.hpp"

namespace hires::engine {
namespace {

using vk::Buffer;
using vk::check;
using vk::Shape;
using vk::Unique;

// Buffers and the recorded commands for one input shape (and one set of fixed SE means).
struct Plan {
  std::vector<Shape> shapes;  // per value
  std::vector<int> slot;      // per value: index into buffers, -1 = none
  std::vector<Buffer> buffers;
  Unique<VkDescriptorPool> pool;
  Unique<VkCommandBuffer> cmd;
};

struct PlanKey {
  int h = 0, w = 0;
  std::vector<int> fixed_means;  // global statistics given by set_global_means
  bool operator<(const PlanKey& o) const {
    return std::tie(h, w, fixed_means) < std::tie(o.h, o.w, o.fixed_means);
  }
  bool operator==(const PlanKey& o) const {
    return h == o.h && w == o.w && fixed_means == o.fixed_means;
  }
};

class VulkanBackend final : public Backend {
 public:
  VulkanBackend(const Graph& g, const BackendOptions& o)
      : g_(g), ctx_(o.gpu), frees_(last_uses(g)) {
    fp16_ = vulkan_fp16_values(ctx_.facts().info, o.storage);
    for (const Node& n : g.nodes) {
      const std::string what = vk::unsupported(n);
      if (!what.empty()) {
        throw Error(ErrorKind::usage, "backend",
                    fmt::format("model '{}' has {} ('{}'), which the vulkan backend does not run "
                                "yet",
                                g.name, what, n.name),
                    "use `backend` cpu");
      }
    }
    std::vector<int> readers(static_cast<std::size_t>(g.num_values), 0);
    for (const Node& n : g.nodes)
      for (int v : n.inputs) ++readers[v];
    fused_.assign(g.nodes.size(), false);
    params_.resize(g.nodes.size());
    for (std::size_t i = 0; i < g.nodes.size(); ++i) {
      if (fused_[i]) continue;
      const Node& a = g.nodes[i];
      const Node* act = nullptr;
      if ((a.type == OpType::conv2d || a.type == OpType::deconv2d) && i + 1 < g.nodes.size()) {
        const Node& b = g.nodes[i + 1];
        if (vk::fusable_activation(b.type) && b.inputs.size() == 1 && b.inputs[0] == a.output &&
            readers[a.output] == 1 && a.output != g.output) {
          act = &b;
          fused_[i + 1] = true;
        }
      }
      params_[i] = vk::prepare(ctx_, a, act);
    }
    dummy_ = ctx_.make_buffer(16, false);
  }

  std::string_view name() const override { return "vulkan"; }
  std::string describe() const override {
    const GpuDevice& d = ctx_.facts().info;
    std::string s = fmt::format("vulkan: {} ({}, Vulkan {}), {} values, fp32 arithmetic", d.name,
                                d.type, d.api_version, fp16_ ? "fp16" : "fp32");
    if (splits_ > 0) s += fmt::format(", {} tiles run as halves (device memory)", splits_);
    return s;
  }

  Tensor run(const Tensor& input) override {
    if (input.c != g_.in_channels) {
      throw Error(ErrorKind::internal, "vulkan",
                  fmt::format("input has {} channels, expected {}", input.c, g_.in_channels));
    }
    const std::pair<int, int> shape{input.h, input.w};
    if (!too_big_.contains(shape)) {
      try {
        return run_whole(input);
      } catch (const Error& e) {
        // Out of device memory, or a value over the device's buffer limit: the tile is run as
        // two halves with their context instead (the same output, as for the tiler's tiles).
        if (e.kind() != ErrorKind::limit || !split_possible(input)) throw;
        too_big_.insert(shape);
      }
    }
    ++splits_;
    return split(input);
  }

 private:
  // The input in two halves along its longer side, each with the graph's receptive radius of
  // context, run and stitched (split_possible: not too small, no global pooling).
  struct Cut {
    bool rows = true;  // split along the height
    int len = 0, at = 0, context = 0;
  };
  Cut cut_of(const Tensor& input) const {
    // Cuts and context on the window grid too: each half's windows are the whole input's.
    const int m = std::lcm(std::max(1, g_.size_multiple), std::max(1, g_.tile_align));
    Cut c;
    c.rows = input.h >= input.w;
    c.len = c.rows ? input.h : input.w;
    c.at = c.len / 2 / m * m;
    c.context = (g_.receptive_radius + m - 1) / m * m;
    return c;
  }
  bool split_possible(const Tensor& input) const {
    const Cut c = cut_of(input);
    return !has_global_context(g_) && g_.scale >= 1 && c.at - c.context > 0 &&
           c.at + c.context < c.len;
  }
  Tensor split(const Tensor& input) {
    const Cut k = cut_of(input);
    const bool rows = k.rows;
    const int len = k.len;
    const int cut = k.at;
    const int r = k.context;
    const int sc = g_.scale;
    Tensor out(g_.out_channels, input.h * sc, input.w * sc);
    for (int half = 0; half < 2; ++half) {
      const int a = half == 0 ? 0 : cut - r;
      const int b = half == 0 ? cut + r : len;
      Tensor part(input.c, rows ? b - a : input.h, rows ? input.w : b - a);
      for (int c = 0; c < input.c; ++c)
        for (int y = 0; y < part.h; ++y)
          for (int x = 0; x < part.w; ++x)
            part.at(c, y, x) = input.at(c, rows ? y + a : y, rows ? x : x + a);
      const Tensor got = run(part);
      // Keep [0, cut) of the first half and [cut, len) of the second, in output pixels.
      const int keep0 = (half == 0 ? 0 : cut) * sc;
      const int keep1 = (half == 0 ? cut : len) * sc;
      for (int c = 0; c < out.c; ++c)
        for (int y = rows ? keep0 : 0; y < (rows ? keep1 : out.h); ++y)
          for (int x = rows ? 0 : keep0; x < (rows ? out.w : keep1); ++x)
            out.at(c, y, x) = got.at(c, rows ? y - a * sc : y, rows ? x : x - a * sc);
    }
    return out;
  }

  Tensor run_whole(const Tensor& input) {
    PlanKey key{input.h, input.w, {}};
    for (const auto& [id, t] : global_means_) key.fixed_means.push_back(id);
    Plan& plan = plan_for(key, input);
    copy_in(plan, g_.input, input.data.data(), input.size());
    for (const auto& [id, t] : global_means_) {
      if (static_cast<std::size_t>(id) < plan.slot.size() && plan.slot[id] >= 0) {
        copy_in(plan, id, t.data.data(), std::min(t.size(), plan.shapes[id].size()));
      }
    }
    ctx_.submit_and_wait(plan.cmd.get());
    last_means_.clear();
    for (const Node& n : g_.nodes) {
      if (is_global_statistic(n)) last_means_[n.output] = copy_out(plan, n.output);
    }
    return copy_out(plan, g_.output);
  }

  void copy_in(Plan& plan, int v, const float* data, std::size_t n) {
    void* mapped = plan.buffers[plan.slot[v]].mapped;
    if (!fp16_) {
      std::memcpy(mapped, data, n * sizeof(float));
      return;
    }
    auto* h = static_cast<std::uint16_t*>(mapped);
    for (std::size_t i = 0; i < n; ++i) h[i] = vk::float_to_half(data[i]);
  }
  Tensor copy_out(Plan& plan, int v) {
    const Shape& s = plan.shapes[v];
    Tensor t(s.c, s.h, s.w);
    const void* mapped = plan.buffers[plan.slot[v]].mapped;
    if (!fp16_) {
      std::memcpy(t.data.data(), mapped, t.size() * sizeof(float));
      return t;
    }
    const auto* h = static_cast<const std::uint16_t*>(mapped);
    for (std::size_t i = 0; i < t.size(); ++i) t.data[i] = vk::half_to_float(h[i]);
    return t;
  }

  // The value a step writes: the node's output, or its fused activation's.
  int step_output(std::size_t i) const {
    return i + 1 < g_.nodes.size() && fused_[i + 1] ? g_.nodes[i + 1].output : g_.nodes[i].output;
  }

  Plan& plan_for(const PlanKey& key, const Tensor& input) {
    constexpr std::size_t kShapes = 6;  // tiles come in at most four shapes (edges, corner)
    order_.remove(key);
    order_.push_front(key);
    while (order_.size() > kShapes) {
      plans_.erase(order_.back());
      order_.pop_back();
    }
    auto it = plans_.find(key);
    if (it == plans_.end()) {
      it = plans_.emplace(key, build(key, input)).first;
    }
    return *it->second;
  }

  std::unique_ptr<Plan> build(const PlanKey& key, const Tensor& input) {
    auto plan = std::make_unique<Plan>();
    const auto nv = static_cast<std::size_t>(g_.num_values);
    plan->shapes.assign(nv, Shape{});
    plan->slot.assign(nv, -1);
    plan->shapes[g_.input] = {input.c, input.h, input.w};

    // Values the host reads or writes get buffers of their own, mapped.
    std::set<int> host{g_.input, g_.output};
    for (const Node& n : g_.nodes) {
      if (is_global_statistic(n)) host.insert(n.output);
    }
    struct Slot {
      VkDeviceSize bytes = 0;
      bool host = false;
      bool free = false;
    };
    std::vector<Slot> slots;
    auto assign = [&](int v) {
      // fp16 values: 2 bytes each, the buffer rounded up to whole 32-bit words.
      const VkDeviceSize bytes = (plan->shapes[v].size() * (fp16_ ? 2 : 4) + 3) / 4 * 4;
      if (bytes > ctx_.facts().max_storage_range) {
        throw Error(ErrorKind::limit, "vulkan",
                    fmt::format("a {}x{} tile needs a {} MiB buffer, over the device's limit of "
                                "{} MiB per buffer",
                                key.w, key.h, bytes >> 20, ctx_.facts().max_storage_range >> 20),
                    "use a smaller `tile`");
      }
      if (!host.contains(v)) {
        // The smallest free buffer that fits, else the largest free one, grown.
        int best = -1;
        for (std::size_t s = 0; s < slots.size(); ++s) {
          if (!slots[s].free || slots[s].host) continue;
          const bool fits = slots[s].bytes >= bytes;
          const bool better =
              best < 0 ||
              (fits ? (slots[best].bytes < bytes || slots[s].bytes < slots[best].bytes)
                    : (slots[best].bytes < bytes && slots[s].bytes > slots[best].bytes));
          if (better) best = static_cast<int>(s);
        }
        if (best >= 0) {
          slots[best].free = false;
          slots[best].bytes = std::max(slots[best].bytes, bytes);
          plan->slot[v] = best;
          return;
        }
      }
      slots.push_back({bytes, host.contains(v), false});
      plan->slot[v] = static_cast<int>(slots.size() - 1);
    };
    auto release = [&](int v) {
      if (plan->slot[v] >= 0 && !host.contains(v)) slots[plan->slot[v]].free = true;
    };
    assign(g_.input);

    struct Step {
      std::size_t node;
      std::vector<vk::Dispatch> dispatches;
    };
    std::vector<Step> steps;
    for (std::size_t i = 0; i < g_.nodes.size(); ++i) {
      if (fused_[i]) continue;
      const Node& n = g_.nodes[i];
      std::vector<Shape> ins;
      for (int v : n.inputs) ins.push_back(plan->shapes[v]);
      const Shape out_shape = vk::output_shape(n, ins);
      const int out = step_output(i);
      plan->shapes[n.output] = out_shape;
      plan->shapes[out] = out_shape;
      assign(out);
      for (int v : frees_[i]) release(v);
      if (out != n.output) {
        for (int v : frees_[i + 1]) release(v);
      }
      const bool fixed = is_global_statistic(n) &&
                         std::find(key.fixed_means.begin(), key.fixed_means.end(), n.output) !=
                             key.fixed_means.end();
      if (fixed) continue;  // the host writes this value before each run
      steps.push_back({i, vk::dispatches(n, params_[i], ins, out_shape, out, ctx_.facts())});
    }
    for (const Slot& s : slots) plan->buffers.push_back(ctx_.make_buffer(s.bytes, s.host));
    record(*plan, steps);
    return plan;
  }

  template <class Steps>
  void record(Plan& plan, const Steps& steps) {
    const VkDevice dev = ctx_.device();
    std::uint32_t count = 0;
    for (const auto& s : steps) count += static_cast<std::uint32_t>(s.dispatches.size());
    VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                              std::max<std::uint32_t>(1, count * vk::kBindings)};
    VkDescriptorPoolCreateInfo pci{};
    pci.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO;
    pci.maxSets = std::max<std::uint32_t>(1, count);
    pci.poolSizeCount = 1;
    pci.pPoolSizes = &size;
    VkDescriptorPool pool = VK_NULL_HANDLE;
    check(vkCreateDescriptorPool(dev, &pci, nullptr, &pool), "vkCreateDescriptorPool");
    plan.pool = {pool, [dev](VkDescriptorPool p) { vkDestroyDescriptorPool(dev, p, nullptr); }};

    VkCommandBufferAllocateInfo ai{};
    ai.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
    ai.commandPool = ctx_.command_pool();
    ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ai.commandBufferCount = 1;
    VkCommandBuffer cmd = VK_NULL_HANDLE;
    check(vkAllocateCommandBuffers(dev, &ai, &cmd), "vkAllocateCommandBuffers");
    const VkCommandPool cpool = ctx_.command_pool();
    plan.cmd = {cmd, [dev, cpool](VkCommandBuffer c) { vkFreeCommandBuffers(dev, cpool, 1, &c); }};
    VkCommandBufferBeginInfo bi{};
    bi.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
    check(vkBeginCommandBuffer(cmd, &bi), "vkBeginCommandBuffer");

    const VkDescriptorSetLayout layout = ctx_.set_layout();
    for (const auto& step : steps) {
      for (const vk::Dispatch& d : step.dispatches) {
        VkDescriptorSetAllocateInfo dai{};
        dai.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO;
        dai.descriptorPool = pool;
        dai.descriptorSetCount = 1;
        dai.pSetLayouts = &layout;
        VkDescriptorSet set = VK_NULL_HANDLE;
        check(vkAllocateDescriptorSets(dev, &dai, &set), "vkAllocateDescriptorSets");
        VkDescriptorBufferInfo infos[vk::kBindings]{};
        VkWriteDescriptorSet writes[vk::kBindings]{};
        for (std::uint32_t b = 0; b < vk::kBindings; ++b) {
          const Buffer* buf = &dummy_;
          if (d.bind[b].kind == vk::Ref::Kind::value) {
            buf = &plan.buffers[plan.slot[d.bind[b].id]];
          } else if (d.bind[b].kind == vk::Ref::Kind::param) {
            buf = &params_[step.node].buffers[d.bind[b].id];
          }
          infos[b] = {buf->buffer.get(), 0, VK_WHOLE_SIZE};
          writes[b].sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
          writes[b].dstSet = set;
          writes[b].dstBinding = b;
          writes[b].descriptorCount = 1;
          writes[b].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
          writes[b].pBufferInfo = &infos[b];
        }
        vkUpdateDescriptorSets(dev, vk::kBindings, writes, 0, nullptr);
        vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE,
                          ctx_.pipeline(fp16_ ? d.shader + "_f16" : d.shader));
        vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, ctx_.pipeline_layout(), 0, 1,
                                &set, 0, nullptr);
        vkCmdPushConstants(cmd, ctx_.pipeline_layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0,
                           vk::kPushConstantBytes, d.push.data());
        vkCmdDispatch(cmd, d.groups[0], d.groups[1], d.groups[2]);
      }
      // Each step reads what the ones before wrote, and may reuse a buffer they read.
      VkMemoryBarrier mb{};
      mb.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
      mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT;
      mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
      vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                           VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &mb, 0, nullptr, 0, nullptr);
    }
    VkMemoryBarrier host{};
    host.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
    host.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
    host.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0,
                         1, &host, 0, nullptr, 0, nullptr);
    check(vkEndCommandBuffer(cmd), "vkEndCommandBuffer");
  }

  const Graph& g_;
  vk::Context ctx_;
  std::vector<std::vector<int>> frees_;
  std::vector<bool> fused_;             // per node: run inside the convolution before it
  std::vector<vk::NodeParams> params_;  // per node: weights on the device
  Buffer dummy_;                        // bound where a shader has no use for a binding
  std::map<PlanKey, std::unique_ptr<Plan>> plans_;
  std::list<PlanKey> order_;               // most recently used first
  bool fp16_ = false;                      // values stored as fp16 (the _f16 shaders)
  int splits_ = 0;                         // tiles run as halves
  std::set<std::pair<int, int>> too_big_;  // tile shapes (h, w) that did not fit the device
};

}  // namespace

bool vulkan_built() {
  return true;
}

bool vulkan_supports(const Graph& graph) {
  return std::all_of(graph.nodes.begin(), graph.nodes.end(),
                     [](const Node& n) { return vk::unsupported(n).empty(); });
}

int vulkan_auto_device() {
  return vk::auto_device(list_gpus().devices);
}

bool vulkan_any_device() {
  return !list_gpus().devices.empty();
}

std::uint64_t vulkan_memory_budget(const Graph& graph, int gpu, std::uint64_t budget) {
  const std::vector<GpuDevice>& devices = list_gpus().devices;
  const int index = gpu >= 0 ? gpu : vk::best_device(devices);
  if (index < 0 || index >= static_cast<int>(devices.size())) return budget;
  const GpuDevice& d = devices[index];
  // The largest value per input pixel, from the shapes at a nominal 64x64 input.
  const int side = 64 * std::max(1, graph.size_multiple);
  std::vector<Shape> shapes(static_cast<std::size_t>(graph.num_values));
  shapes[graph.input] = {graph.in_channels, side, side};
  double largest = static_cast<double>(graph.in_channels);
  for (const Node& n : graph.nodes) {
    std::vector<Shape> ins;
    for (int v : n.inputs) ins.push_back(shapes[v]);
    try {
      shapes[n.output] = vk::output_shape(n, ins);
    } catch (const Error&) {
      return budget;  // a shape the backend refuses: it will say so when it runs
    }
    largest = std::max(largest, static_cast<double>(shapes[n.output].size()) / (side * side));
  }
  // plan_tiles keeps peak_floats_per_pixel * 4 bytes per pixel within half the budget: with
  // this budget, a tile's largest value takes at most the device's buffer limit (fp16 values,
  // the default where the device has them, take half the bytes: twice the pixels fit).
  const double value_bytes = vulkan_fp16_values(d, ValueStorage::automatic) ? 2.0 : 4.0;
  const double per_buffer = 2.0 * (4.0 / value_bytes) * static_cast<double>(d.max_buffer_bytes) *
                            peak_floats_per_pixel(graph) / largest;
  double capped = static_cast<double>(budget);
  if (d.max_buffer_bytes > 0) capped = std::min(capped, per_buffer);
  if (d.memory_bytes > 0) capped = std::min(capped, static_cast<double>(d.memory_bytes));
  return static_cast<std::uint64_t>(capped);
}

std::unique_ptr<Backend> make_vulkan_backend(const Graph& graph, const BackendOptions& options) {
  return std::make_unique<VulkanBackend>(graph, options);
}

}  // namespace hires::engine
