// Built instead of the vulkan backend when CMake found no libvulkan-dev or glslc: every entry
// point says so (the rest of hires works the same).
#include "engine/backend.hpp"
#include "hires/devices.hpp"
#include "hires/error.hpp"

namespace hires {

GpuList list_gpus() {
  GpuList out;
  out.note = "this build has no Vulkan backend (built without libvulkan-dev and glslc)";
  return out;
}

namespace engine {

bool vulkan_built() {
  return false;
}
bool vulkan_supports(const Graph&) {
  return false;
}
bool vulkan_any_device() {
  return false;
}
int vulkan_auto_device() {
  return -1;
}
std::uint64_t vulkan_memory_budget(const Graph&, int, std::uint64_t budget) {
  return budget;
}

std::unique_ptr<Backend> make_vulkan_backend(const Graph&, const BackendOptions&) {
  throw Error(ErrorKind::usage, "backend", "this build has no Vulkan backend",
              "rebuild with libvulkan-dev and glslc installed (scripts/setup.sh), or use "
              "`backend` cpu");
}

}  // namespace engine
}  // namespace hires
