#include "models/formats/safetensors.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <tuple>
#include <utility>

#include "hires/error.hpp"
#include "io/atomic_file.hpp"

namespace hires::models {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A header this large is not a tensor index: refuse it before allocating.
constexpr std::uint64_t kMaxHeaderBytes = 100ULL * 1024 * 1024;
// Far more tensors than any image model holds (large ones have a few thousand).
constexpr std::size_t kMaxTensors = 100'000;

// I64 and I32 hold integer buffers (e.g. a Swin block's relative_position_index in files
// converted from PyTorch); they are read as floats like the weights.
enum class DType { f32, f16, bf16, i64, i32 };

const char* dtype_name(DType d) {
  switch (d) {
    case DType::f32:
      return "F32";
    case DType::f16:
      return "F16";
    case DType::bf16:
      return "BF16";
    case DType::i64:
      return "I64";
    case DType::i32:
      return "I32";
  }
  return "?";
}

std::uint64_t dtype_size(DType d) {
  switch (d) {
    case DType::i64:
      return 8;
    case DType::f32:
    case DType::i32:
      return 4;
    default:
      return 2;
  }
}

struct Entry {
  std::string name;
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape;
  std::uint64_t count = 0;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

std::string shape_text(const std::vector<std::int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

[[noreturn]] void fail(const std::string& file, const std::string& problem,
                       const std::string& hint = {}) {
  throw Error(ErrorKind::input, file, problem, hint);
}

std::uint64_t read_u64_le(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void put_u64_le(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFFU));
}

// Builds the header's JSON document through nlohmann's SAX interface, refusing a key repeated
// within one object (nlohmann would keep the last) and more than kMaxTensors top-level entries.
// Linear in the header's size: nlohmann's callback parser rescans the enclosing object at the end
// of every object, so a header of 300,000 entries took over ten minutes.
class HeaderBuilder {
 public:
  explicit HeaderBuilder(const std::string& file, std::size_t text_size)
      : file_(file), text_size_(text_size) {}

  json take() { return std::move(root_); }

  bool null() { return put(json(nullptr)); }
  bool boolean(bool v) { return put(json(v)); }
  bool number_integer(json::number_integer_t v) { return put(json(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return put(json(v)); }
  bool number_float(json::number_float_t v, const json::string_t& /*text*/) { return put(json(v)); }
  bool string(json::string_t& v) { return put(json(std::move(v))); }
  bool binary(json::binary_t& v) { return put(json::binary(std::move(v))); }
  bool start_object(std::size_t /*size*/) { return open(json::object()); }
  bool start_array(std::size_t /*size*/) { return open(json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(json::string_t& k) {
    auto& object = stack_.back()->get_ref<json::object_t&>();
    if (stack_.size() == 1 && object.size() == kMaxTensors) {
      fail(file_, fmt::format("the header lists more than {} tensors", kMaxTensors),
           "no upscaling model has that many; the file is corrupt or not a model");
    }
    const auto [it, inserted] = object.try_emplace(k);
    if (!inserted) {
      if (stack_.size() == 1) fail(file_, fmt::format("the header lists '{}' twice", k));
      fail(file_, fmt::format("the header repeats the key '{}' within one entry", k));
    }
    slot_ = &it->second;
    return true;
  }

  bool parse_error(std::size_t position, const std::string& /*token*/,
                   const nlohmann::detail::exception& /*error*/) {
    fail(file_,
         fmt::format("the header is not valid JSON (error at byte {} of {})", position, text_size_),
         "the file is corrupt or not a safetensors file");
  }

 private:
  // Places a value: the document itself, the next element of an array or the value of the key
  // just read. Returns where it went.
  json* place(json&& v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    json& parent = *stack_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(v));
      return &parent.back();
    }
    *slot_ = std::move(v);
    return slot_;
  }
  bool put(json&& v) {
    place(std::move(v));
    return true;
  }
  // A container's address stays valid while it is filled: its parent gains nothing meanwhile.
  bool open(json&& v) {
    stack_.push_back(place(std::move(v)));
    return true;
  }
  bool close() {
    stack_.pop_back();
    return true;
  }

  const std::string& file_;
  std::size_t text_size_;
  json root_;
  std::vector<json*> stack_;
  json* slot_ = nullptr;
};

json parse_header(const std::string& file, const std::string& text) {
  HeaderBuilder builder(file, text.size());
  json::sax_parse(text, &builder);
  return builder.take();
}

std::optional<DType> parse_dtype(const std::string& s) {
  if (s == "F32") return DType::f32;
  if (s == "F16") return DType::f16;
  if (s == "BF16") return DType::bf16;
  if (s == "I64") return DType::i64;
  if (s == "I32") return DType::i32;
  return std::nullopt;
}

Entry parse_entry(const std::string& file, const std::string& name, const json& v,
                  std::uint64_t data_size) {
  const std::string who = fmt::format("tensor '{}'", name);
  if (!v.is_object()) fail(file, who + ": its header entry is not a JSON object");
  Entry e;
  e.name = name;

  const auto dt = v.find("dtype");
  if (dt == v.end() || !dt->is_string()) fail(file, who + ": \"dtype\" is missing or not a string");
  const auto dtype = parse_dtype(dt->get<std::string>());
  if (!dtype) {
    fail(file, fmt::format("{} has unsupported dtype {}", who, dt->get<std::string>()),
         "hires reads F32, F16, BF16, I64 and I32 tensors");
  }
  e.dtype = *dtype;

  const auto sh = v.find("shape");
  if (sh == v.end() || !sh->is_array()) fail(file, who + ": \"shape\" is missing or not a list");
  for (const auto& d : *sh) {
    if (!d.is_number_integer() || d.get<std::int64_t>() < 0) {
      fail(file, who + ": \"shape\" must hold non-negative integers");
    }
    e.shape.push_back(d.get<std::int64_t>());
  }
  const std::int64_t count = element_count(e.shape);
  const std::uint64_t width = dtype_size(e.dtype);
  if (count < 0 ||
      static_cast<std::uint64_t>(count) > std::numeric_limits<std::uint64_t>::max() / width) {
    fail(file, fmt::format("{}: shape {} is too large", who, shape_text(e.shape)));
  }
  e.count = static_cast<std::uint64_t>(count);

  const auto off = v.find("data_offsets");
  if (off == v.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
      !(*off)[1].is_number_unsigned() ||
      (*off)[0].get<std::uint64_t>() > (*off)[1].get<std::uint64_t>()) {
    fail(file, who + ": \"data_offsets\" must be [begin, end] with 0 <= begin <= end");
  }
  e.begin = (*off)[0].get<std::uint64_t>();
  e.end = (*off)[1].get<std::uint64_t>();
  if (e.end > data_size) {
    fail(file,
         fmt::format("{}: data_offsets [{}, {}] go beyond the {} bytes of data", who, e.begin,
                     e.end, data_size),
         "the file is truncated or corrupt");
  }
  const std::uint64_t needed = e.count * width;
  if (e.end - e.begin != needed) {
    fail(file, fmt::format("{}: data_offsets [{}, {}] span {} bytes, but shape {} of {} needs {}",
                           who, e.begin, e.end, e.end - e.begin, shape_text(e.shape),
                           dtype_name(e.dtype), needed));
  }
  return e;
}

void convert(const Entry& e, const std::vector<unsigned char>& raw, std::vector<float>& out) {
  out.resize(e.count);
  const unsigned char* p = raw.data();
  switch (e.dtype) {
    case DType::f32:
      for (std::uint64_t i = 0; i < e.count; ++i, p += 4) {
        const std::uint32_t bits =
            static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
            (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
        out[i] = std::bit_cast<float>(bits);
      }
      break;
    case DType::f16:
    case DType::bf16: {
      const bool half = e.dtype == DType::f16;
      for (std::uint64_t i = 0; i < e.count; ++i, p += 2) {
        const auto bits = static_cast<std::uint16_t>(p[0] | (p[1] << 8));
        out[i] = half ? half_to_float(bits) : bf16_to_float(bits);
      }
      break;
    }
    case DType::i64:
    case DType::i32: {
      const int width = e.dtype == DType::i64 ? 8 : 4;
      for (std::uint64_t i = 0; i < e.count; ++i, p += width) {
        std::uint64_t bits = 0;
        for (int b = width - 1; b >= 0; --b) bits = (bits << 8) | p[b];
        if (width == 4)
          bits = static_cast<std::uint64_t>(
              static_cast<std::int64_t>(static_cast<std::int32_t>(bits)));
        out[i] = static_cast<float>(static_cast<std::int64_t>(bits));
      }
      break;
    }
  }
}

}  // namespace

std::int64_t element_count(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (const std::int64_t d : shape) {
    if (d < 0) return -1;
    if (d != 0 && n > std::numeric_limits<std::int64_t>::max() / d) return -1;
    n *= d;
  }
  return n;
}

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000U) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1FU;
  const std::uint32_t mantissa = h & 0x3FFU;
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24, exact in fp32.
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign != 0 ? -magnitude : magnitude;
  }
  if (exponent == 0x1F) {
    if (mantissa == 0) return std::bit_cast<float>(sign | 0x7F800000U);
    return std::bit_cast<float>(sign | 0x7FC00000U | (mantissa << 13));
  }
  return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

std::uint16_t float_to_half(float f) {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
  const auto sign = static_cast<std::uint16_t>((x >> 16) & 0x8000U);
  const std::uint32_t a = x & 0x7FFFFFFFU;
  if (a > 0x7F800000U) {
    // NaN: quiet, keeping the top of the payload.
    return static_cast<std::uint16_t>(sign | 0x7E00U | ((a >> 13) & 0x3FFU));
  }
  // 65520 (half-way between 65504, the largest half, and 65536) and above round to infinity.
  if (a >= 0x477FF000U) return static_cast<std::uint16_t>(sign | 0x7C00U);
  if (a >= 0x38800000U) {
    // Normal half: rebias the exponent, round the 13 dropped bits to nearest even. A carry out
    // of the mantissa correctly bumps the exponent.
    const std::uint32_t odd = (a >> 13) & 1U;
    const std::uint32_t r = a + 0xFFFU + odd - (112U << 23);
    return static_cast<std::uint16_t>(sign | (r >> 13));
  }
  // Subnormal half (or zero): value = m * 2^-24.
  if (a <= 0x33000000U) return sign;  // <= 2^-25 rounds to zero (the tie goes to even 0)
  const std::uint32_t exponent = a >> 23;
  const std::uint32_t mantissa = (a & 0x7FFFFFU) | 0x800000U;
  const std::uint32_t shift = 126 - exponent;  // 14..24
  std::uint32_t m = mantissa >> shift;
  const std::uint32_t rest = mantissa & ((1U << shift) - 1);
  const std::uint32_t halfway = 1U << (shift - 1);
  if (rest > halfway || (rest == halfway && (m & 1U) != 0)) ++m;  // may reach 0x400: min normal
  return static_cast<std::uint16_t>(sign | m);
}

float bf16_to_float(std::uint16_t b) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
}

const TensorData& SafeTensors::get(const std::string& name) const {
  const auto it = tensors.find(name);
  if (it == tensors.end()) {
    throw Error(ErrorKind::input, path.empty() ? std::string("safetensors") : path.string(),
                fmt::format("has no tensor '{}'", name));
  }
  return it->second;
}

namespace {

// Reads a whole safetensors file of `file_size` bytes from `in`; `file` names it in messages.
// Without `with_values` the tensors keep only their shapes and no data is read.
SafeTensors read_safetensors(std::istream& in, std::uint64_t file_size, const std::string& file,
                             bool with_values) {
  if (file_size < 8) {
    fail(file,
         fmt::format("is truncated: {} bytes, too few for the 8-byte header length", file_size),
         "the file is incomplete or not a safetensors file");
  }
  std::array<unsigned char, 8> len_bytes{};
  in.read(reinterpret_cast<char*>(len_bytes.data()), 8);
  if (!in) fail(file, "cannot read the header length");
  const std::uint64_t header_len = read_u64_le(len_bytes.data());
  if (header_len > file_size - 8) {
    fail(file,
         fmt::format("header length {} is beyond the end of the file ({} bytes)", header_len,
                     file_size),
         "the file is truncated or not a safetensors file");
  }
  if (header_len > kMaxHeaderBytes) {
    fail(file, fmt::format("header length {} is over the limit of {} bytes", header_len,
                           kMaxHeaderBytes));
  }
  std::string header(header_len, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_len));
  if (!in) fail(file, "cannot read the header");
  const std::uint64_t data_start = 8 + header_len;
  const std::uint64_t data_size = file_size - data_start;

  const json doc = parse_header(file, header);
  if (!doc.is_object()) fail(file, "the header is not a JSON object");

  SafeTensors st;
  std::vector<Entry> entries;
  for (const auto& [key, value] : doc.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) fail(file, "\"__metadata__\" is not a JSON object");
      for (const auto& [mkey, mvalue] : value.items()) {
        if (!mvalue.is_string()) {
          fail(file, fmt::format("\"__metadata__\" value '{}' is not a string", mkey));
        }
        st.metadata[mkey] = mvalue.get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(file, key, value, data_size));
  }

  // Order by position; any two non-empty ranges must not share a byte.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  const Entry* previous = nullptr;
  for (const Entry& e : entries) {
    if (e.begin == e.end) continue;
    if (previous != nullptr && previous->end > e.begin) {
      fail(file, fmt::format("tensors '{}' and '{}' overlap in the data", previous->name, e.name));
    }
    previous = &e;
  }

  std::vector<unsigned char> raw;
  for (const Entry& e : entries) {
    if (!with_values) {
      st.tensors[e.name].shape = e.shape;
      continue;
    }
    raw.resize(e.end - e.begin);
    if (!raw.empty()) {
      in.seekg(static_cast<std::streamoff>(data_start + e.begin));
      in.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(raw.size()));
      if (!in) fail(file, fmt::format("cannot read the data of tensor '{}'", e.name));
    }
    TensorData& t = st.tensors[e.name];
    t.shape = e.shape;
    convert(e, raw, t.values);
  }
  return st;
}

}  // namespace

namespace {

SafeTensors open_safetensors(const fs::path& path, bool with_values) {
  const std::string file = path.string();
  std::error_code ec;
  if (!fs::exists(path, ec)) fail(file, "no such file");
  if (fs::is_directory(path, ec)) fail(file, "is a folder, not a safetensors file");
  const std::uint64_t file_size = fs::file_size(path, ec);
  if (ec) fail(file, "cannot read the file: " + ec.message());
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(file, "cannot open the file");
  SafeTensors st = read_safetensors(in, file_size, file, with_values);
  st.path = path;
  return st;
}

}  // namespace

SafeTensors load_safetensors(const fs::path& path) {
  return open_safetensors(path, /*with_values=*/true);
}

SafeTensors read_safetensors_header(const fs::path& path) {
  return open_safetensors(path, /*with_values=*/false);
}

SafeTensors parse_safetensors(std::string_view bytes, const std::string& name) {
  std::istringstream in{std::string(bytes)};
  SafeTensors st = read_safetensors(in, bytes.size(), name, /*with_values=*/true);
  st.path = name;
  return st;
}

void save_safetensors(const fs::path& path, const SafeTensors& st, bool fp16) {
  const std::string file = path.string();
  io::check_output_target(path);  // before the work: a device or folder is never replaced
  const DType dtype = fp16 ? DType::f16 : DType::f32;
  const std::uint64_t width = dtype_size(dtype);

  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!st.metadata.empty()) {
    auto& meta = header["__metadata__"];
    meta = nlohmann::ordered_json::object();
    for (const auto& [k, v] : st.metadata) meta[k] = v;
  }
  std::uint64_t offset = 0;
  for (const auto& [name, t] : st.tensors) {
    if (name == "__metadata__" || name.empty()) {
      throw Error(ErrorKind::internal, file, fmt::format("invalid tensor name '{}'", name));
    }
    const std::int64_t count = element_count(t.shape);
    if (count < 0 || static_cast<std::uint64_t>(count) != t.values.size()) {
      throw Error(ErrorKind::internal, file,
                  fmt::format("tensor '{}' has {} values, but shape {} needs {}", name,
                              t.values.size(), shape_text(t.shape), count));
    }
    const std::uint64_t bytes = t.values.size() * width;
    header[name] = {{"dtype", dtype_name(dtype)},
                    {"shape", t.shape},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
  text.append((8 - text.size() % 8) % 8, ' ');

  std::string prefix;
  put_u64_le(prefix, text.size());
  prefix += text;

  io::TempFile tmp(path);  // removed unless published, and on SIGINT/SIGTERM
  std::ofstream out(tmp.path(), std::ios::binary | std::ios::trunc);
  if (!out) throw Error(ErrorKind::output, file, "cannot create the file");
  out.write(prefix.data(), static_cast<std::streamsize>(prefix.size()));
  std::vector<unsigned char> bytes;
  for (const auto& [name, t] : st.tensors) {
    bytes.resize(t.values.size() * width);
    unsigned char* p = bytes.data();
    for (const float v : t.values) {
      if (fp16) {
        const std::uint16_t h = float_to_half(v);
        *p++ = static_cast<unsigned char>(h & 0xFFU);
        *p++ = static_cast<unsigned char>(h >> 8);
      } else {
        const auto bits = std::bit_cast<std::uint32_t>(v);
        for (int i = 0; i < 4; ++i) *p++ = static_cast<unsigned char>((bits >> (8 * i)) & 0xFFU);
      }
    }
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
  }
  out.close();
  if (!out) throw Error(ErrorKind::output, file, "cannot write the file");
  tmp.publish(/*replace=*/true);
}

}  // namespace hires::models
