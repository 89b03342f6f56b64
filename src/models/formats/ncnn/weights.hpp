// ncnn's .bin weights: each layer's weights in layer order. A weight blob starts with a 4-byte tag
// saying fp32 (0, or 0x0002C056) or fp16 (0x01306B47, data padded to 4 bytes); biases and PReLU
// slopes are raw fp32. Int8-quantized weights are refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace hires::models::ncnn {

class WeightReader {
 public:
  // Reads the whole file `bin`; `param_name` (the .param file's name) goes into hints. Without
  // `with_data` the file is only checked to exist and every read returns no values (for reading a
  // net's structure without its weights).
  WeightReader(std::filesystem::path bin, std::string param_name, bool with_data = true);

  // A tagged weight blob of `count` values, checking that `trailing` more bytes of raw fp32 the
  // layer also needs follow (so a truncation is reported as the layer's whole shortfall).
  // `layer` names the layer in messages. Throws hires::Error(input) naming the .bin file.
  std::vector<float> read_tagged(std::size_t count, std::size_t trailing, const std::string& layer);
  // `count` raw fp32 values.
  std::vector<float> read_raw(std::size_t count, const std::string& layer);

  std::size_t remaining() const { return bin_.size() - pos_; }
  // The values asked for so far (the net's parameter count once every layer is read).
  std::uint64_t values_read() const { return values_read_; }
  // After the last layer: every byte was read; without the data, the file's size is within what
  // the weights asked for take (fp16 to fp32). Throws hires::Error(input) naming the .bin.
  void check_size() const;
  const std::filesystem::path& path() const { return path_; }
  // The hint for a .bin that does not fit its .param.
  std::string mismatch_hint() const;

 private:
  [[noreturn]] void truncated(const std::string& layer, std::size_t missing,
                              bool at_least = false) const;
  std::uint32_t u32_at(std::size_t p) const;
  std::vector<float> read_fp32(std::size_t count);

  std::filesystem::path path_;
  std::string param_name_;
  std::vector<unsigned char> bin_;
  std::size_t pos_ = 0;
  bool with_data_ = true;
  std::uint64_t values_read_ = 0;
  std::uint64_t file_size_ = 0;  // without the data: the file's size, and what the weights take
  std::uint64_t min_bytes_ = 0;
  std::uint64_t max_bytes_ = 0;
};

// Reads a whole file; throws hires::Error(input) naming it when it is missing, a folder or
// unreadable.
std::string read_text(const std::filesystem::path& p);

}  // namespace hires::models::ncnn
