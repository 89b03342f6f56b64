// The compute shaders of src/engine/vulkan/shaders/, compiled to SPIR-V at build time and
// embedded (cmake/embed_spirv.cmake writes the definition).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace hires::engine::vk {

// The SPIR-V words of shaders/<name>.comp; empty when there is no such shader.
std::span<const std::uint32_t> shader_code(std::string_view name);

}  // namespace hires::engine::vk
