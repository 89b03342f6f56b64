// Reading and writing .safetensors files: an 8-byte little-endian header length N, N bytes of
// JSON describing each tensor (dtype, shape, byte range) plus optional "__metadata__" strings,
// then the raw little-endian tensor data. Tensors are always fp32 in memory; F16 and BF16 are
// widened on load, and fp32 can be narrowed to F16 on save.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace hires::models {

struct TensorData {
  std::vector<std::int64_t> shape;
  std::vector<float> values;  // row-major, always fp32 after loading
};

struct SafeTensors {
  std::map<std::string, TensorData> tensors;
  std::map<std::string, std::string> metadata;  // "__metadata__" (string -> string)
  std::filesystem::path path;                   // the file it was loaded from, for messages

  // The tensor called `name`; throws hires::Error(input) naming the file and the tensor.
  const TensorData& get(const std::string& name) const;
};

// Loads and validates a whole file. Throws hires::Error(input) whose subject is the file and
// whose problem says what is wrong (truncated, bad header, bad offsets, unsupported dtype...).
SafeTensors load_safetensors(const std::filesystem::path& path);
// The header only: metadata and every tensor's shape (values left empty), checked as
// load_safetensors checks them (data offsets within the file included), without reading the data.
SafeTensors read_safetensors_header(const std::filesystem::path& path);
// The same from bytes in memory (e.g. weights built into the binary); `name` stands for the file
// in messages and in `path`.
SafeTensors parse_safetensors(std::string_view bytes, const std::string& name);

// Writes `st` (tensors in name order, "__metadata__" first when non-empty), as F32 or, with
// `fp16`, as F16 rounded to nearest even (values beyond the F16 range become infinities).
// Writes an io::TempFile beside `path` and publishes it over `path`. Throws hires::Error(output)
// when the file cannot be written or `path` exists and is not a regular file (a folder, a device),
// hires::Error(internal) when a tensor's values do not match
// its shape.
void save_safetensors(const std::filesystem::path& path, const SafeTensors& st, bool fp16 = false);

// Number of elements for `shape` (1 for a scalar); -1 when a dimension is negative or the
// product overflows.
std::int64_t element_count(const std::vector<std::int64_t>& shape);

// IEEE binary16 / bfloat16 <-> binary32 conversions (exact widening; narrowing rounds to
// nearest even, keeps infinities, maps NaN to a quiet NaN keeping the sign).
float half_to_float(std::uint16_t h);
std::uint16_t float_to_half(float f);
float bf16_to_float(std::uint16_t b);

}  // namespace hires::models
