# The Vulkan backend's compute shaders: each shaders/*.comp compiled to SPIR-V by glslc (Vulkan
# 1.1 target) and embedded into hires_lib (generated vulkan_shaders.cpp), so the binary needs no
# shader files. Included from the top CMakeLists.txt when Vulkan and glslc are found.
file(GLOB HIRES_VK_SHADERS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/shaders/*.comp)
list(SORT HIRES_VK_SHADERS)
file(GLOB HIRES_VK_SHADER_INCLUDES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/shaders/*.glsl)
set(_hires_spv_dir ${CMAKE_BINARY_DIR}/generated/spirv)
file(MAKE_DIRECTORY ${_hires_spv_dir})
set(_hires_spv_files "")
# Each shader twice: <name> with fp32 values, <name>_f16 with fp16 storage (shaders/value.glsl).
foreach(src IN LISTS HIRES_VK_SHADERS)
  get_filename_component(name "${src}" NAME_WE)
  foreach(variant IN ITEMS "" "_f16")
    set(spv ${_hires_spv_dir}/${name}${variant}.spv)
    set(defines "")
    if(variant STREQUAL "_f16")
      set(defines -DVALUE_FP16)
    endif()
    add_custom_command(
      OUTPUT ${spv}
      COMMAND ${HIRES_GLSLC} --target-env=vulkan1.1 -O -Werror ${defines} -o ${spv} ${src}
      DEPENDS ${src} ${HIRES_VK_SHADER_INCLUDES}
      COMMENT "Compiling shader ${name}${variant}.comp"
      VERBATIM)
    list(APPEND _hires_spv_files ${spv})
  endforeach()
endforeach()
string(REPLACE ";" "|" _hires_spv_arg "${_hires_spv_files}")
set(_hires_spv_out ${CMAKE_BINARY_DIR}/generated/vulkan_shaders.cpp)
add_custom_command(
  OUTPUT ${_hires_spv_out}
  COMMAND ${CMAKE_COMMAND} -DOUT=${_hires_spv_out} -DFILES=${_hires_spv_arg}
          -P ${PROJECT_SOURCE_DIR}/cmake/embed_spirv.cmake
  DEPENDS ${_hires_spv_files} ${PROJECT_SOURCE_DIR}/cmake/embed_spirv.cmake
  COMMENT "Embedding the Vulkan shaders"
  VERBATIM)
target_sources(hires_lib PRIVATE ${_hires_spv_out})
