#include "engine/vulkan/context.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <cstring>

#include "engine/vulkan/shaders.hpp"
#include "hires/error.hpp"

namespace hires::engine::vk {

const char* result_name(VkResult r) {
  switch (r) {
    case VK_SUCCESS:
      return "VK_SUCCESS";
    case VK_ERROR_OUT_OF_HOST_MEMORY:
      return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY:
      return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED:
      return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST:
      return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_INCOMPATIBLE_DRIVER:
      return "VK_ERROR_INCOMPATIBLE_DRIVER (no Vulkan driver)";
    case VK_ERROR_EXTENSION_NOT_PRESENT:
      return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT:
      return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_TOO_MANY_OBJECTS:
      return "VK_ERROR_TOO_MANY_OBJECTS";
    case VK_TIMEOUT:
      return "VK_TIMEOUT";
    default:
      return "VkResult error";
  }
}

void check(VkResult r, const char* call) {
  if (r == VK_SUCCESS) return;
  if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY) {
    throw Error(ErrorKind::limit, "vulkan", fmt::format("{} failed: {}", call, result_name(r)),
                "the GPU ran out of memory: use a smaller `tile`");
  }
  throw Error(ErrorKind::internal, "vulkan",
              fmt::format("{} failed: {} ({})", call, result_name(r), static_cast<int>(r)));
}

namespace {

Unique<VkInstance> make_instance() {
  VkApplicationInfo app{};
  app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
  app.pApplicationName = "hires";
  app.pEngineName = "hires";
  app.apiVersion = VK_API_VERSION_1_1;
  VkInstanceCreateInfo ci{};
  ci.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
  ci.pApplicationInfo = &app;
  VkInstance inst = VK_NULL_HANDLE;
  check(vkCreateInstance(&ci, nullptr, &inst), "vkCreateInstance");
  return {inst, [](VkInstance i) { vkDestroyInstance(i, nullptr); }};
}

std::vector<VkPhysicalDevice> physical_devices(VkInstance inst) {
  std::uint32_t n = 0;
  check(vkEnumeratePhysicalDevices(inst, &n, nullptr), "vkEnumeratePhysicalDevices");
  std::vector<VkPhysicalDevice> out(n);
  check(vkEnumeratePhysicalDevices(inst, &n, out.data()), "vkEnumeratePhysicalDevices");
  out.resize(n);
  return out;
}

const char* type_name(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
      return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
      return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
      return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU:
      return "cpu";
    default:
      return "other";
  }
}

// Lower is better when no device is named: real GPUs before software drivers.
int type_rank(const std::string& type) {
  if (type == "discrete") return 0;
  if (type == "integrated") return 1;
  if (type == "virtual") return 2;
  if (type == "cpu") return 3;
  return 4;
}

bool has_compute_queue(VkPhysicalDevice pd, std::uint32_t* family) {
  std::uint32_t n = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, nullptr);
  std::vector<VkQueueFamilyProperties> fams(n);
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, fams.data());
  for (std::uint32_t i = 0; i < n; ++i) {
    if ((fams[i].queueFlags & VK_QUEUE_COMPUTE_BIT) != 0) {
      if (family != nullptr) *family = i;
      return true;
    }
  }
  return false;
}

GpuDevice describe(VkPhysicalDevice pd, int index) {
  VkPhysicalDeviceProperties p{};
  vkGetPhysicalDeviceProperties(pd, &p);
  VkPhysicalDeviceMemoryProperties m{};
  vkGetPhysicalDeviceMemoryProperties(pd, &m);
  GpuDevice d;
  d.index = index;
  d.name = p.deviceName;
  d.type = type_name(p.deviceType);
  for (std::uint32_t h = 0; h < m.memoryHeapCount; ++h) {
    if ((m.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0) {
      d.memory_bytes = std::max<std::uint64_t>(d.memory_bytes, m.memoryHeaps[h].size);
    }
  }
  d.max_buffer_bytes = p.limits.maxStorageBufferRange;
  d.api_version =
      fmt::format("{}.{}.{}", VK_API_VERSION_MAJOR(p.apiVersion),
                  VK_API_VERSION_MINOR(p.apiVersion), VK_API_VERSION_PATCH(p.apiVersion));
  d.chosen_by_auto = (d.type == "discrete" || d.type == "integrated") &&
                     p.apiVersion >= VK_API_VERSION_1_1 && has_compute_queue(pd, nullptr);
  if (p.apiVersion >= VK_API_VERSION_1_1) {
    VkPhysicalDevice16BitStorageFeatures s16{};
    s16.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES;
    VkPhysicalDeviceFeatures2 f2{};
    f2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2;
    f2.pNext = &s16;
    vkGetPhysicalDeviceFeatures2(pd, &f2);
    d.fp16_storage = s16.storageBuffer16BitAccess == VK_TRUE;
  }
  return d;
}

}  // namespace

std::vector<GpuDevice> enumerate_devices() {
  const Unique<VkInstance> inst = make_instance();
  std::vector<GpuDevice> out;
  int index = 0;
  for (VkPhysicalDevice pd : physical_devices(inst.get())) out.push_back(describe(pd, index++));
  return out;
}

int best_device(const std::vector<GpuDevice>& devices) {
  int best = -1;
  for (const GpuDevice& d : devices) {
    if (best < 0 || type_rank(d.type) < type_rank(devices[best].type)) best = d.index;
  }
  return best;
}

int auto_device(const std::vector<GpuDevice>& devices) {
  int best = -1;
  for (const GpuDevice& d : devices) {
    if (!d.chosen_by_auto) continue;
    if (best < 0 || type_rank(d.type) < type_rank(devices[best].type)) best = d.index;
  }
  return best;
}

Context::Context(int gpu) : instance_(make_instance()) {
  const std::vector<VkPhysicalDevice> pds = physical_devices(instance_.get());
  if (pds.empty()) {
    throw Error(ErrorKind::usage, "backend", "no Vulkan device found",
                "install a GPU driver (or Mesa's lavapipe, mesa-vulkan-drivers), or use `backend` "
                "cpu");
  }
  int chosen = gpu;
  if (gpu < 0) {
    std::vector<GpuDevice> all;
    all.reserve(pds.size());
    for (int i = 0; i < static_cast<int>(pds.size()); ++i) all.push_back(describe(pds[i], i));
    chosen = best_device(all);
  } else if (gpu >= static_cast<int>(pds.size())) {
    throw Error(ErrorKind::usage, "gpu",
                fmt::format("device {} does not exist ({} Vulkan device{})", gpu, pds.size(),
                            pds.size() == 1 ? "" : "s"),
                "'hires devices' lists them");
  }
  if (chosen < 0 || !has_compute_queue(pds[chosen], &queue_family_)) {
    throw Error(ErrorKind::usage, "gpu", "the Vulkan device has no compute queue",
                "'hires devices' lists the devices");
  }
  physical_ = pds[chosen];
  facts_.info = describe(physical_, chosen);
  VkPhysicalDeviceProperties props{};
  vkGetPhysicalDeviceProperties(physical_, &props);
  if (props.apiVersion < VK_API_VERSION_1_1) {
    throw Error(ErrorKind::usage, "gpu",
                fmt::format("'{}' supports Vulkan {} only, 1.1 is needed", facts_.info.name,
                            facts_.info.api_version));
  }
  facts_.max_storage_range = props.limits.maxStorageBufferRange;
  for (int i = 0; i < 3; ++i) facts_.max_group_count[i] = props.limits.maxComputeWorkGroupCount[i];
  vkGetPhysicalDeviceMemoryProperties(physical_, &memory_);

  const float priority = 1.0F;
  VkDeviceQueueCreateInfo qci{};
  qci.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
  qci.queueFamilyIndex = queue_family_;
  qci.queueCount = 1;
  qci.pQueuePriorities = &priority;
  // 16-bit storage, where the device has it, for the fp16 shader variants (shaders/value.glsl).
  VkPhysicalDevice16BitStorageFeatures s16{};
  s16.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES;
  s16.storageBuffer16BitAccess = facts_.info.fp16_storage ? VK_TRUE : VK_FALSE;
  VkDeviceCreateInfo dci{};
  dci.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
  dci.pNext = &s16;
  dci.queueCreateInfoCount = 1;
  dci.pQueueCreateInfos = &qci;
  VkDevice dev = VK_NULL_HANDLE;
  check(vkCreateDevice(physical_, &dci, nullptr, &dev), "vkCreateDevice");
  device_ = Unique<VkDevice>(dev, [](VkDevice d) { vkDestroyDevice(d, nullptr); });
  vkGetDeviceQueue(dev, queue_family_, 0, &queue_);

  VkCommandPoolCreateInfo pci{};
  pci.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
  pci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pci.queueFamilyIndex = queue_family_;
  VkCommandPool pool = VK_NULL_HANDLE;
  check(vkCreateCommandPool(dev, &pci, nullptr, &pool), "vkCreateCommandPool");
  command_pool_ = {pool, [dev](VkCommandPool p) { vkDestroyCommandPool(dev, p, nullptr); }};

  VkFenceCreateInfo fci{};
  fci.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
  VkFence fence = VK_NULL_HANDLE;
  check(vkCreateFence(dev, &fci, nullptr, &fence), "vkCreateFence");
  fence_ = {fence, [dev](VkFence f) { vkDestroyFence(dev, f, nullptr); }};

  VkDescriptorSetLayoutBinding bindings[kBindings]{};
  for (std::uint32_t i = 0; i < kBindings; ++i) {
    bindings[i].binding = i;
    bindings[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    bindings[i].descriptorCount = 1;
    bindings[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  }
  VkDescriptorSetLayoutCreateInfo lci{};
  lci.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO;
  lci.bindingCount = kBindings;
  lci.pBindings = bindings;
  VkDescriptorSetLayout sl = VK_NULL_HANDLE;
  check(vkCreateDescriptorSetLayout(dev, &lci, nullptr, &sl), "vkCreateDescriptorSetLayout");
  set_layout_ = {sl,
                 [dev](VkDescriptorSetLayout l) { vkDestroyDescriptorSetLayout(dev, l, nullptr); }};

  VkPushConstantRange range{};
  range.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  range.size = kPushConstantBytes;
  VkPipelineLayoutCreateInfo plci{};
  plci.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO;
  plci.setLayoutCount = 1;
  plci.pSetLayouts = &sl;
  plci.pushConstantRangeCount = 1;
  plci.pPushConstantRanges = &range;
  VkPipelineLayout pl = VK_NULL_HANDLE;
  check(vkCreatePipelineLayout(dev, &plci, nullptr, &pl), "vkCreatePipelineLayout");
  pipeline_layout_ = {pl, [dev](VkPipelineLayout l) { vkDestroyPipelineLayout(dev, l, nullptr); }};
}

Context::~Context() {
  if (device_) vkDeviceWaitIdle(device_.get());
}

std::uint32_t Context::memory_type(std::uint32_t allowed, VkMemoryPropertyFlags want,
                                   VkMemoryPropertyFlags avoid) const {
  for (std::uint32_t i = 0; i < memory_.memoryTypeCount; ++i) {
    const VkMemoryPropertyFlags f = memory_.memoryTypes[i].propertyFlags;
    if ((allowed & (1U << i)) != 0 && (f & want) == want && (f & avoid) == 0) return i;
  }
  return UINT32_MAX;
}

Buffer Context::make_buffer(VkDeviceSize bytes, bool host_visible) {
  const VkDevice dev = device_.get();
  Buffer b;
  b.bytes = std::max<VkDeviceSize>(bytes, 4);
  VkBufferCreateInfo bci{};
  bci.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
  bci.size = b.bytes;
  bci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
              VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  VkBuffer buf = VK_NULL_HANDLE;
  check(vkCreateBuffer(dev, &bci, nullptr, &buf), "vkCreateBuffer");
  b.buffer = {buf, [dev](VkBuffer x) { vkDestroyBuffer(dev, x, nullptr); }};
  VkMemoryRequirements req{};
  vkGetBufferMemoryRequirements(dev, buf, &req);
  const VkMemoryPropertyFlags host =
      VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  std::uint32_t type =
      host_visible ? memory_type(req.memoryTypeBits, host | VK_MEMORY_PROPERTY_HOST_CACHED_BIT)
                   : memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
  if (type == UINT32_MAX) type = memory_type(req.memoryTypeBits, host_visible ? host : 0);
  if (type == UINT32_MAX) {
    throw Error(ErrorKind::internal, "vulkan", "no memory type fits a storage buffer");
  }
  VkMemoryAllocateInfo ai{};
  ai.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
  ai.allocationSize = req.size;
  ai.memoryTypeIndex = type;
  VkDeviceMemory mem = VK_NULL_HANDLE;
  check(vkAllocateMemory(dev, &ai, nullptr, &mem), "vkAllocateMemory");
  b.memory = {mem, [dev](VkDeviceMemory m) { vkFreeMemory(dev, m, nullptr); }};
  check(vkBindBufferMemory(dev, buf, mem, 0), "vkBindBufferMemory");
  if ((memory_.memoryTypes[type].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) != 0 &&
      (memory_.memoryTypes[type].propertyFlags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) != 0) {
    check(vkMapMemory(dev, mem, 0, VK_WHOLE_SIZE, 0, &b.mapped), "vkMapMemory");
  }
  return b;
}

Buffer Context::upload(const void* data, VkDeviceSize bytes) {
  Buffer b = make_buffer(bytes, false);
  if (bytes == 0) return b;
  if (b.mapped != nullptr) {  // device-local and host-visible (integrated GPUs, lavapipe)
    std::memcpy(b.mapped, data, bytes);
    return b;
  }
  Buffer staging = make_buffer(bytes, true);
  std::memcpy(staging.mapped, data, bytes);
  VkCommandBufferAllocateInfo ai{};
  ai.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
  ai.commandPool = command_pool_.get();
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  const VkDevice dev = device_.get();
  const VkCommandPool pool = command_pool_.get();
  check(vkAllocateCommandBuffers(dev, &ai, &cmd), "vkAllocateCommandBuffers");
  const Unique<VkCommandBuffer> owner(
      cmd, [dev, pool](VkCommandBuffer c) { vkFreeCommandBuffers(dev, pool, 1, &c); });
  VkCommandBufferBeginInfo bi{};
  bi.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  check(vkBeginCommandBuffer(cmd, &bi), "vkBeginCommandBuffer");
  VkBufferCopy region{0, 0, bytes};
  vkCmdCopyBuffer(cmd, staging.buffer.get(), b.buffer.get(), 1, &region);
  check(vkEndCommandBuffer(cmd), "vkEndCommandBuffer");
  submit_and_wait(cmd);
  return b;
}

VkPipeline Context::pipeline(const std::string& name) {
  if (auto it = pipelines_.find(name); it != pipelines_.end()) return it->second.get();
  const auto code = shader_code(name);
  if (code.empty()) {
    throw Error(ErrorKind::internal, "vulkan", fmt::format("no shader '{}' in this build", name));
  }
  const VkDevice dev = device_.get();
  VkShaderModuleCreateInfo mci{};
  mci.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO;
  mci.codeSize = code.size() * sizeof(std::uint32_t);
  mci.pCode = code.data();
  VkShaderModule mod = VK_NULL_HANDLE;
  check(vkCreateShaderModule(dev, &mci, nullptr, &mod), "vkCreateShaderModule");
  modules_[name] = {mod, [dev](VkShaderModule m) { vkDestroyShaderModule(dev, m, nullptr); }};
  VkComputePipelineCreateInfo ci{};
  ci.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO;
  ci.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
  ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  ci.stage.module = mod;
  ci.stage.pName = "main";
  ci.layout = pipeline_layout_.get();
  VkPipeline p = VK_NULL_HANDLE;
  check(vkCreateComputePipelines(dev, VK_NULL_HANDLE, 1, &ci, nullptr, &p),
        "vkCreateComputePipelines");
  pipelines_[name] = {p, [dev](VkPipeline x) { vkDestroyPipeline(dev, x, nullptr); }};
  return p;
}

void Context::submit_and_wait(VkCommandBuffer cmd) {
  VkSubmitInfo si{};
  si.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cmd;
  const VkFence fence = fence_.get();
  check(vkResetFences(device_.get(), 1, &fence), "vkResetFences");
  check(vkQueueSubmit(queue_, 1, &si, fence), "vkQueueSubmit");
  check(vkWaitForFences(device_.get(), 1, &fence, VK_TRUE, UINT64_MAX), "vkWaitForFences");
}

}  // namespace hires::engine::vk

namespace hires {

GpuList list_gpus() {
  // Asked once per process: starting Vulkan loads every driver (lavapipe brings LLVM, ~0.1 s),
  // and `auto` asks on every image. The devices of a machine do not change while hires runs.
  static const GpuList gpus = [] {
    GpuList out;
    out.vulkan_built = true;
    try {
      out.devices = engine::vk::enumerate_devices();
      if (out.devices.empty()) out.note = "the Vulkan driver reports no device";
    } catch (const Error& e) {
      out.note = e.what();
    }
    return out;
  }();
  return gpus;
}

}  // namespace hires
