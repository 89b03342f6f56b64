#include "models/formats/ncnn/weights.hpp"

#include <fmt/format.h>

#include <bit>
#include <cmath>
#include <fstream>
#include <iterator>
#include <utility>

#include "hires/error.hpp"

namespace hires::models::ncnn {
namespace {

namespace fs = std::filesystem;

constexpr std::uint32_t kTagFp16 = 0x01306B47;
constexpr std::uint32_t kTagInt8 = 0x000D4B38;
constexpr std::uint32_t kTagFp32Scaled = 0x0002C056;  // plain fp32 data (int8 scales elsewhere)

// IEEE binary16 -> binary32; exact for every input (subnormals, signed zeros, inf, NaN).
float fp16_to_fp32(std::uint16_t h) {
  const bool negative = (h & 0x8000U) != 0;
  const std::uint32_t exponent = (h >> 10) & 0x1FU;
  const std::uint32_t mantissa = h & 0x3FFU;
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24, exactly representable in fp32
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return negative ? -magnitude : magnitude;
  }
  const std::uint32_t sign = negative ? 0x80000000U : 0U;
  const std::uint32_t bits = exponent == 0x1F
                                 ? sign | 0x7F800000U | (mantissa << 13)  // inf, NaN (payload kept)
                                 : sign | ((exponent + 112U) << 23) | (mantissa << 13);
  return std::bit_cast<float>(bits);
}

void check_readable_file(const fs::path& p) {
  std::error_code ec;
  const auto st = fs::status(p, ec);
  if (!fs::exists(st)) throw Error(ErrorKind::input, p.string(), "file not found");
  if (fs::is_directory(st)) throw Error(ErrorKind::input, p.string(), "is a folder, not a file");
  // Reading a FIFO could wait forever, a device such as /dev/zero never end.
  if (!fs::is_regular_file(st)) {
    throw Error(ErrorKind::input, p.string(), "is not a regular file (a FIFO, device or socket)",
                "an ncnn model is a .param and a .bin file");
  }
}

}  // namespace

std::string read_text(const fs::path& p) {
  check_readable_file(p);
  std::ifstream in(p, std::ios::binary);
  if (!in) throw Error(ErrorKind::input, p.string(), "cannot be opened for reading");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(ErrorKind::input, p.string(), "read error");
  return text;
}

WeightReader::WeightReader(fs::path bin, std::string param_name, bool with_data)
    : path_(std::move(bin)), param_name_(std::move(param_name)), with_data_(with_data) {
  if (!with_data_) {
    check_readable_file(path_);
    std::error_code ec;
    file_size_ = fs::file_size(path_, ec);
    if (ec) throw Error(ErrorKind::input, path_.string(), "cannot be opened for reading");
    return;
  }
  const std::string text = read_text(path_);
  bin_.assign(text.begin(), text.end());
}

std::string WeightReader::mismatch_hint() const {
  return "is this the .bin that belongs to " + param_name_ + "?";
}

void WeightReader::truncated(const std::string& layer, std::size_t missing, bool at_least) const {
  throw Error(ErrorKind::input, path_.string(),
              fmt::format("truncated: layer {} needs {}{} more bytes", layer,
                          at_least ? "at least " : "", missing),
              mismatch_hint());
}

std::uint32_t WeightReader::u32_at(std::size_t p) const {
  return static_cast<std::uint32_t>(bin_[p]) | (static_cast<std::uint32_t>(bin_[p + 1]) << 8) |
         (static_cast<std::uint32_t>(bin_[p + 2]) << 16) |
         (static_cast<std::uint32_t>(bin_[p + 3]) << 24);
}

std::vector<float> WeightReader::read_fp32(std::size_t count) {
  std::vector<float> out(count);
  for (std::size_t i = 0; i < count; ++i) out[i] = std::bit_cast<float>(u32_at(pos_ + 4 * i));
  pos_ += 4 * count;
  return out;
}

std::vector<float> WeightReader::read_tagged(std::size_t count, std::size_t trailing,
                                             const std::string& layer) {
  values_read_ += count;
  const std::size_t fp16_bytes = (count * 2 + 3) / 4 * 4;
  if (!with_data_) {  // fp16 at least, fp32 at most
    min_bytes_ += 4 + fp16_bytes;
    max_bytes_ += 4 + 4 * static_cast<std::uint64_t>(count);
    return {};
  }
  if (remaining() < 4) truncated(layer, 4 + fp16_bytes + trailing - remaining(), true);
  const std::uint32_t tag = u32_at(pos_);
  std::size_t bytes = 0;
  if (tag == kTagFp16) {
    bytes = fp16_bytes;
  } else if (tag == 0 || tag == kTagFp32Scaled) {
    bytes = count * 4;
  } else if (tag == kTagInt8) {
    throw Error(ErrorKind::input, path_.string(),
                fmt::format("layer {}: int8-quantized weights (tag 0x{:08X}) are not supported",
                            layer, tag),
                "use the model's fp16 or fp32 version");
  } else {
    throw Error(ErrorKind::input, path_.string(),
                fmt::format("layer {}: unsupported weight storage tag 0x{:08X} at byte {} "
                            "(only fp32 (0) and fp16 (0x{:08X}) are supported)",
                            layer, tag, pos_, kTagFp16),
                "quantized ncnn models are not supported");
  }
  if (remaining() < 4 + bytes + trailing) truncated(layer, 4 + bytes + trailing - remaining());
  pos_ += 4;
  if (tag != kTagFp16) return read_fp32(count);
  std::vector<float> out(count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto h = static_cast<std::uint16_t>(bin_[pos_ + 2 * i] | (bin_[pos_ + 2 * i + 1] << 8));
    out[i] = fp16_to_fp32(h);
  }
  pos_ += bytes;
  return out;
}

std::vector<float> WeightReader::read_raw(std::size_t count, const std::string& layer) {
  values_read_ += count;
  if (!with_data_) {
    min_bytes_ += 4 * static_cast<std::uint64_t>(count);
    max_bytes_ += 4 * static_cast<std::uint64_t>(count);
    return {};
  }
  if (remaining() < 4 * count) truncated(layer, 4 * count - remaining());
  return read_fp32(count);
}

void WeightReader::check_size() const {
  if (with_data_) {
    if (remaining() != 0) {
      throw Error(ErrorKind::input, path_.string(),
                  fmt::format("{} bytes left over after the last layer's weights", remaining()),
                  mismatch_hint());
    }
  } else if (file_size_ < min_bytes_ || file_size_ > max_bytes_) {
    throw Error(ErrorKind::input, path_.string(),
                fmt::format("has {} bytes, but the layers' weights take {} to {}", file_size_,
                            min_bytes_, max_bytes_),
                mismatch_hint());
  }
}

}  // namespace hires::models::ncnn
