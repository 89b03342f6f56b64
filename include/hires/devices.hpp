// The GPUs this build can run models on (the Vulkan backend), as `hires devices` lists them.
//
//   const hires::GpuList gpus = hires::list_gpus();
//   for (const hires::GpuDevice& d : gpus.devices) use(d.index, d.name, d.memory_bytes);
//   if (gpus.devices.empty()) show(gpus.note);  // why: no Vulkan in this build, no driver, ...
//   opt.backend = hires::BackendKind::vulkan; opt.gpu = 0;  // run on device 0
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hires {

struct GpuDevice {
  int index = 0;                   // what --gpu takes (Vulkan's physical-device order)
  std::string name;                // "NVIDIA GeForce RTX 3060", "llvmpipe (LLVM 15.0.6, 256 bits)"
  std::string type;                // discrete, integrated, virtual, cpu (a software driver), other
  std::uint64_t memory_bytes = 0;  // the largest device-local memory heap
  std::uint64_t max_buffer_bytes = 0;  // the largest buffer a shader may use (tiles fit it)
  std::string api_version;             // "1.3.230"
  std::string driver;                  // driver name and version info, when the device says
  bool chosen_by_auto = false;  // a real GPU (discrete or integrated): --backend auto uses it
  bool fp16_storage = false;    // 16-bit storage buffers: the backend keeps values in fp16
};

struct GpuList {
  bool vulkan_built = false;  // this build has the Vulkan backend
  std::vector<GpuDevice> devices;
  std::string note;  // why the list is empty (no Vulkan in this build, no driver), else empty
};

// Never throws: a machine without Vulkan has an empty list and a note. Asked once per process
// (starting Vulkan loads every driver); later calls return the same list.
GpuList list_gpus();

}  // namespace hires
