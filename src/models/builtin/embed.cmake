# Embeds src/models/builtin/*.safetensors into hires_lib as byte arrays (generated
# builtin_weights.cpp, rebuilt when a weight file changes). Included from the top CMakeLists.txt.
file(GLOB HIRES_BUILTIN_WEIGHTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.safetensors)
list(SORT HIRES_BUILTIN_WEIGHTS)
string(REPLACE ";" "|" _hires_builtin_files "${HIRES_BUILTIN_WEIGHTS}")
set(_hires_builtin_out ${CMAKE_BINARY_DIR}/generated/builtin_weights.cpp)
add_custom_command(
  OUTPUT ${_hires_builtin_out}
  COMMAND ${CMAKE_COMMAND} -DOUT=${_hires_builtin_out} -DFILES=${_hires_builtin_files}
          -P ${CMAKE_CURRENT_LIST_DIR}/embed_files.cmake
  DEPENDS ${HIRES_BUILTIN_WEIGHTS} ${CMAKE_CURRENT_LIST_DIR}/embed_files.cmake
  COMMENT "Embedding built-in model weights"
  VERBATIM)
target_sources(hires_lib PRIVATE ${_hires_builtin_out})
