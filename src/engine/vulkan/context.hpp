// Vulkan plumbing for the vulkan backend: RAII owners of every handle, the device choice, buffers
// and compute pipelines. Every Vulkan failure becomes a hires::Error naming the call.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "hires/devices.hpp"

namespace hires::engine::vk {

// Throws Error(internal) ("vkCreateDevice failed: VK_ERROR_...") unless r is VK_SUCCESS; out of
// memory becomes Error(limit) with a hint to use smaller tiles.
void check(VkResult r, const char* call);
const char* result_name(VkResult r);

// Owns one Vulkan handle; `destroy` releases it (capturing the device or instance it needs).
template <class H>
class Unique {
 public:
  Unique() = default;
  Unique(H handle, std::function<void(H)> destroy) : h_(handle), destroy_(std::move(destroy)) {}
  ~Unique() { reset(); }
  Unique(Unique&& o) noexcept : h_(std::exchange(o.h_, H{})), destroy_(std::move(o.destroy_)) {}
  Unique& operator=(Unique&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, H{});
      destroy_ = std::move(o.destroy_);
    }
    return *this;
  }
  Unique(const Unique&) = delete;
  Unique& operator=(const Unique&) = delete;
  H get() const { return h_; }
  explicit operator bool() const { return h_ != H{}; }
  void reset() {
    if (h_ != H{} && destroy_) destroy_(h_);
    h_ = H{};
  }

 private:
  H h_{};
  std::function<void(H)> destroy_;
};

// A storage buffer and its memory; mapped when host-visible.
struct Buffer {
  Unique<VkBuffer> buffer;
  Unique<VkDeviceMemory> memory;
  void* mapped = nullptr;
  VkDeviceSize bytes = 0;
};

// What the backend needs to know of the chosen device.
struct DeviceFacts {
  GpuDevice info;
  VkDeviceSize max_storage_range = 0;  // largest buffer a shader may bind
  std::uint32_t max_group_count[3] = {65535, 65535, 65535};
};

// The physical devices, in Vulkan's order (what --gpu N indexes). Throws when Vulkan itself
// fails to start (no loader or driver): list_gpus() turns that into a note.
std::vector<GpuDevice> enumerate_devices();
// The device used when none is named: real GPUs before virtual ones before software drivers.
int best_device(const std::vector<GpuDevice>& devices);
// The index `auto` would use: the first discrete GPU, else the first integrated one; -1 = none.
int auto_device(const std::vector<GpuDevice>& devices);

// One logical device with one compute queue, and the pipelines made on it.
class Context {
 public:
  // gpu: an index from enumerate_devices(), or -1 for the best (discrete, integrated, virtual,
  // then a CPU driver such as lavapipe).
  explicit Context(int gpu);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const DeviceFacts& facts() const { return facts_; }
  VkDevice device() const { return device_.get(); }

  // A storage buffer of `bytes` (at least 4); host_visible: mapped for reads and writes from the
  // CPU, else device-local where the device has such memory.
  Buffer make_buffer(VkDeviceSize bytes, bool host_visible);
  // A device-local buffer holding `data` (weights), through a staging copy when needed.
  Buffer upload(const void* data, VkDeviceSize bytes);

  // The compute pipeline of shaders/<name>.comp (made on first use).
  VkPipeline pipeline(const std::string& name);
  VkPipelineLayout pipeline_layout() const { return pipeline_layout_.get(); }
  VkDescriptorSetLayout set_layout() const { return set_layout_.get(); }
  VkCommandPool command_pool() const { return command_pool_.get(); }

  // Submits a recorded command buffer and waits for it.
  void submit_and_wait(VkCommandBuffer cmd);

 private:
  std::uint32_t memory_type(std::uint32_t allowed, VkMemoryPropertyFlags want,
                            VkMemoryPropertyFlags avoid = 0) const;

  Unique<VkInstance> instance_;
  Unique<VkDevice> device_;
  DeviceFacts facts_;
  VkPhysicalDevice physical_ = VK_NULL_HANDLE;
  VkPhysicalDeviceMemoryProperties memory_{};
  VkQueue queue_ = VK_NULL_HANDLE;
  std::uint32_t queue_family_ = 0;
  Unique<VkCommandPool> command_pool_;
  Unique<VkFence> fence_;
  Unique<VkDescriptorSetLayout> set_layout_;
  Unique<VkPipelineLayout> pipeline_layout_;
  std::map<std::string, Unique<VkShaderModule>> modules_;
  std::map<std::string, Unique<VkPipeline>> pipelines_;
};

// Bindings every shader shares: 0 = output, 1..3 = inputs (unused ones get a dummy buffer).
constexpr std::uint32_t kBindings = 4;
constexpr std::uint32_t kPushConstantBytes = 128;  // the minimum every device supports

}  // namespace hires::engine::vk
