// The safetensors reader and writer: round trips, fp16/bf16 conversion, the golden fixtures made
// by tools/make_golden.py, and every validation error with its exact message.
#include <gtest/gtest.h>
#include <bit>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hires/error.hpp"
#include "hires/models.hpp"
#include "models/formats/safetensors.hpp"
#include "models/model.hpp"
#include "support/test_support.hpp"

namespace hires::models {
namespace {

using test::read_file;
using test::TempDir;
namespace fs = std::filesystem;

const fs::path kGolden = fs::path(HIRES_SOURCE_DIR "/tests/golden");

// Writes a file of the given header length (default: the header's size), header and data.
void write_raw(const fs::path& p, const std::string& header, const std::string& data = {},
               std::uint64_t header_len = std::numeric_limits<std::uint64_t>::max()) {
  if (header_len == std::numeric_limits<std::uint64_t>::max()) header_len = header.size();
  std::string bytes;
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>((header_len >> (8 * i)) & 0xFF));
  bytes += header;
  bytes += data;
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string le16(const std::vector<std::uint16_t>& v) {
  std::string s;
  for (const auto x : v) {
    s.push_back(static_cast<char>(x & 0xFF));
    s.push_back(static_cast<char>(x >> 8));
  }
  return s;
}

std::string le32(const std::vector<float>& v) {
  std::string s;
  for (const float f : v) {
    const auto x = std::bit_cast<std::uint32_t>(f);
    for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((x >> (8 * i)) & 0xFF));
  }
  return s;
}

nlohmann::json header_of(const fs::path& p) {
  const std::string bytes = read_file(p);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  return nlohmann::json::parse(bytes.substr(8, n));
}

// The message load_safetensors throws for `p`, or "" when it loads.
std::string load_error(const fs::path& p) {
  try {
    load_safetensors(p);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::input);
    EXPECT_EQ(e.subject(), p.string());
    return e.what();
  }
  return "";
}

bool same_bits(float a, float b) {
  return std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b);
}

SafeTensors sample() {
  SafeTensors st;
  st.tensors["conv.weight"] = {{2, 3, 1, 1}, {1.0F, -2.5F, 0.0F, -0.0F, 65504.0F, 0.333251953125F}};
  st.tensors["conv.bias"] = {{2}, {6.103515625e-05F, 5.9604644775390625e-08F}};
  st.tensors["scalar"] = {{}, {-7.0F}};
  st.tensors["empty"] = {{0, 4}, {}};
  st.tensors["inf"] = {
      {3},
      {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(), 1024.0F}};
  return st;
}

TEST(SafeTensors, RoundTripFp32IsBitExact) {
  TempDir dir;
  SafeTensors st = sample();
  st.tensors["odd"] = {{4}, {0.1F, 1e-40F, -3.4028235e38F, std::nanf("")}};
  save_safetensors(dir / "m.safetensors", st);
  const SafeTensors back = load_safetensors(dir / "m.safetensors");
  EXPECT_EQ(back.path, dir / "m.safetensors");
  ASSERT_EQ(back.tensors.size(), st.tensors.size());
  for (const auto& [name, t] : st.tensors) {
    const TensorData& b = back.get(name);
    EXPECT_EQ(b.shape, t.shape) << name;
    ASSERT_EQ(b.values.size(), t.values.size()) << name;
    for (std::size_t i = 0; i < t.values.size(); ++i) {
      EXPECT_TRUE(same_bits(b.values[i], t.values[i])) << name << "[" << i << "]";
    }
  }
  const auto h = header_of(dir / "m.safetensors");
  EXPECT_EQ(h["conv.weight"]["dtype"], "F32");
  EXPECT_FALSE(h.contains("__metadata__"));  // none given, none written
  // The data starts 8-byte aligned.
  const std::string bytes = read_file(dir / "m.safetensors");
  EXPECT_EQ(static_cast<unsigned char>(bytes[0]) % 8, 0);
}

TEST(SafeTensors, RoundTripFp16IsExactForRepresentableValues) {
  TempDir dir;
  const SafeTensors st = sample();
  save_safetensors(dir / "h.safetensors", st, /*fp16=*/true);
  const auto h = header_of(dir / "h.safetensors");
  EXPECT_EQ(h["conv.weight"]["dtype"], "F16");
  EXPECT_EQ(h["conv.weight"]["data_offsets"][1].get<int>() -
                h["conv.weight"]["data_offsets"][0].get<int>(),
            12);
  const SafeTensors back = load_safetensors(dir / "h.safetensors");
  for (const auto& [name, t] : st.tensors) {
    const TensorData& b = back.get(name);
    EXPECT_EQ(b.shape, t.shape) << name;
    ASSERT_EQ(b.values.size(), t.values.size()) << name;
    for (std::size_t i = 0; i < t.values.size(); ++i) {
      EXPECT_TRUE(same_bits(b.values[i], t.values[i])) << name << "[" << i << "]";
    }
  }
}

TEST(SafeTensors, Fp16SaveRoundsToNearest) {
  TempDir dir;
  SafeTensors st;
  st.tensors["x"] = {{4}, {0.1F, 1.0F + 0x1p-11F, 70000.0F, std::nanf("")}};
  save_safetensors(dir / "r.safetensors", st, true);
  const auto v = load_safetensors(dir / "r.safetensors").get("x").values;
  EXPECT_EQ(v[0], 0.0999755859375F);  // nearest half to 0.1
  EXPECT_EQ(v[1], 1.0F);              // tie goes to even
  EXPECT_EQ(v[2], std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(v[3]));
}

TEST(SafeTensors, MetadataRoundTrip) {
  TempDir dir;
  SafeTensors st;
  st.tensors["w"] = {{1}, {1.0F}};
  st.metadata = {{"format", "hires"},
                 {"quote\"and\\slash", "line\nbreak \"quoted\""},
                 {"unicode", "caf\xC3\xA9 \xE2\x9C\x93"},
                 {"empty", ""}};
  save_safetensors(dir / "m.safetensors", st);
  const SafeTensors back = load_safetensors(dir / "m.safetensors");
  EXPECT_EQ(back.metadata, st.metadata);
  // Metadata only: no tensors at all is a valid file too.
  SafeTensors only;
  only.metadata = {{"k", "v"}};
  save_safetensors(dir / "only.safetensors", only, true);
  const SafeTensors back2 = load_safetensors(dir / "only.safetensors");
  EXPECT_TRUE(back2.tensors.empty());
  EXPECT_EQ(back2.metadata, only.metadata);
}

TEST(SafeTensors, SaveReplacesAtomicallyAndLeavesNoTemporaryFile) {
  TempDir dir;
  write_raw(dir / "m.safetensors", "old junk");
  SafeTensors st;
  st.tensors["w"] = {{2}, {1.0F, 2.0F}};
  save_safetensors(dir / "m.safetensors", st);
  EXPECT_EQ(load_safetensors(dir / "m.safetensors").get("w").values, (std::vector<float>{1, 2}));
  int files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1);
}

TEST(SafeTensors, SaveErrors) {
  TempDir dir;
  SafeTensors st;
  st.tensors["w"] = {{2, 2}, {1.0F, 2.0F, 3.0F}};
  const fs::path p = dir / "bad.safetensors";
  try {
    save_safetensors(p, st);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::internal);
    EXPECT_EQ(std::string(e.what()),
              p.string() + ": tensor 'w' has 3 values, but shape [2, 2] needs 4");
  }
  EXPECT_FALSE(fs::exists(p));

  st.tensors["w"] = {{1}, {1.0F}};
  const fs::path nowhere = dir / "missing-folder" / "m.safetensors";
  try {
    save_safetensors(nowhere, st);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::output);
    EXPECT_EQ(std::string(e.what()), nowhere.string() + ": cannot write into " +
                                         nowhere.parent_path().string() +
                                         ": No such file or directory");
  }
  // An existing path that is not a regular file is never replaced (io::TempFile's rule).
  try {
    save_safetensors(dir.path(), st);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::output);
    EXPECT_EQ(std::string(e.what()), dir.path().string() +
                                         ": exists and is a folder; hires only replaces regular "
                                         "files (choose another output path)");
  }
  int files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 0) << "no temporary file is left";
}

TEST(SafeTensors, GetNamesTheFileAndTheTensor) {
  TempDir dir;
  SafeTensors st;
  st.tensors["w"] = {{1}, {1.0F}};
  save_safetensors(dir / "m.safetensors", st);
  const SafeTensors back = load_safetensors(dir / "m.safetensors");
  try {
    back.get("body.0.weight");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::input);
    EXPECT_EQ(std::string(e.what()),
              (dir / "m.safetensors").string() + ": has no tensor 'body.0.weight'");
  }
  EXPECT_THROW(SafeTensors{}.get("x"), Error);
}

TEST(SafeTensors, ReadsF16AndBf16) {
  TempDir dir;
  // F16: 1, -2, 65504, min normal, min subnormal, max subnormal, -0, +inf, -inf, NaN.
  const std::vector<std::uint16_t> half = {0x3C00, 0xC000, 0x7BFF, 0x0400, 0x0001,
                                           0x03FF, 0x8000, 0x7C00, 0xFC00, 0x7E00};
  // BF16: 1, -2, 3.140625, smallest bf16 subnormal, +inf, NaN.
  const std::vector<std::uint16_t> bf = {0x3F80, 0xC000, 0x4049, 0x0001, 0x7F80, 0x7FC0};
  const std::string header = R"({"h":{"dtype":"F16","shape":[10],"data_offsets":[0,20]},)"
                             R"("b":{"dtype":"BF16","shape":[2,3],"data_offsets":[20,32]}})";
  write_raw(dir / "x.safetensors", header, le16(half) + le16(bf));
  const SafeTensors st = load_safetensors(dir / "x.safetensors");
  const auto& h = st.get("h").values;
  ASSERT_EQ(h.size(), 10U);
  EXPECT_EQ(h[0], 1.0F);
  EXPECT_EQ(h[1], -2.0F);
  EXPECT_EQ(h[2], 65504.0F);
  EXPECT_EQ(h[3], 0x1p-14F);
  EXPECT_EQ(h[4], 0x1p-24F);
  EXPECT_EQ(h[5], 1023.0F * 0x1p-24F);
  EXPECT_TRUE(same_bits(h[6], -0.0F));
  EXPECT_EQ(h[7], std::numeric_limits<float>::infinity());
  EXPECT_EQ(h[8], -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(h[9]));
  const TensorData& b = st.get("b");
  EXPECT_EQ(b.shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(b.values[0], 1.0F);
  EXPECT_EQ(b.values[1], -2.0F);
  EXPECT_EQ(b.values[2], 3.140625F);
  EXPECT_EQ(b.values[3], std::bit_cast<float>(0x00010000U));
  EXPECT_EQ(b.values[4], std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(b.values[5]));
}

TEST(SafeTensors, ReadsIntegerBuffersAsFloats) {
  // Files converted from PyTorch keep buffers such as a Swin block's relative_position_index as
  // I64 (issue 14): 0, 7, -3, 224 as I64, then 5, -1 as I32.
  TempDir dir;
  std::string data;
  for (const std::int64_t v : {0LL, 7LL, -3LL, 224LL}) {
    for (int b = 0; b < 8; ++b)
      data += static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * b)) & 0xFF);
  }
  for (const std::int32_t v : {5, -1}) {
    for (int b = 0; b < 4; ++b)
      data += static_cast<char>((static_cast<std::uint32_t>(v) >> (8 * b)) & 0xFF);
  }
  write_raw(dir / "i.safetensors",
            R"({"l":{"dtype":"I64","shape":[2,2],"data_offsets":[0,32]},)"
            R"("i":{"dtype":"I32","shape":[2],"data_offsets":[32,40]}})",
            data);
  const SafeTensors st = load_safetensors(dir / "i.safetensors");
  EXPECT_EQ(st.get("l").values, (std::vector<float>{0, 7, -3, 224}));
  EXPECT_EQ(st.get("l").shape, (std::vector<std::int64_t>{2, 2}));
  EXPECT_EQ(st.get("i").values, (std::vector<float>{5, -1}));
}

TEST(SafeTensors, HalfConversions) {
  // Every half that is not a NaN survives half -> float -> half.
  for (std::uint32_t h = 0; h <= 0xFFFF; ++h) {
    const auto bits = static_cast<std::uint16_t>(h);
    const float f = half_to_float(bits);
    if ((h & 0x7C00U) == 0x7C00U && (h & 0x3FFU) != 0) {
      EXPECT_TRUE(std::isnan(f)) << h;
      EXPECT_TRUE(std::isnan(half_to_float(float_to_half(f)))) << h;
      continue;
    }
    ASSERT_EQ(float_to_half(f), bits) << h;
  }
  // Rounding to nearest, ties to even, in the normal and subnormal ranges.
  EXPECT_EQ(float_to_half(1.0F + 0x1p-11F), 0x3C00);      // tie -> even (down)
  EXPECT_EQ(float_to_half(1.0F + 3 * 0x1p-11F), 0x3C02);  // tie -> even (up)
  EXPECT_EQ(float_to_half(1.0F + 0x1p-11F + 0x1p-20F), 0x3C01);
  EXPECT_EQ(float_to_half(2047.5F), 0x6800);   // tie -> even, carrying into the exponent
  EXPECT_EQ(float_to_half(65519.0F), 0x7BFF);  // below the tie: largest half
  EXPECT_EQ(float_to_half(65520.0F), 0x7C00);  // the tie rounds to infinity
  EXPECT_EQ(float_to_half(-1e9F), 0xFC00);
  EXPECT_EQ(float_to_half(0x1p-25F), 0x0000);  // tie with zero -> zero
  EXPECT_EQ(float_to_half(-0x1p-25F), 0x8000);
  EXPECT_EQ(float_to_half(0x1p-25F * 1.0001F), 0x0001);
  EXPECT_EQ(float_to_half(3 * 0x1p-25F), 0x0002);        // tie -> even (up)
  EXPECT_EQ(float_to_half(5 * 0x1p-25F), 0x0002);        // tie -> even (down)
  EXPECT_EQ(float_to_half(1023.5F * 0x1p-24F), 0x0400);  // max subnormal rounds to min normal
  EXPECT_EQ(float_to_half(1e-30F), 0x0000);
  EXPECT_EQ(float_to_half(std::numeric_limits<float>::denorm_min()), 0x0000);
  EXPECT_EQ(float_to_half(std::numeric_limits<float>::infinity()), 0x7C00);
  EXPECT_EQ(float_to_half(-std::numeric_limits<float>::quiet_NaN()) & 0xFE00U, 0xFE00U);
  EXPECT_EQ(bf16_to_float(0xBF80), -1.0F);
}

// --- Golden fixtures --------------------------------------------------------------------------

struct Golden {
  const char* stem;
  const char* name;
  const char* act;
  int feat;
  int conv;
  int scale;
  std::vector<std::int64_t> input;
};

TEST(SafeTensors, ReadsGoldenFixtures) {
  const std::vector<Golden> nets = {
      {"srvgg_tiny_prelu_x2", "srvgg-tiny-prelu-x2", "prelu", 8, 3, 2, {1, 3, 11, 13}},
      {"srvgg_tiny_leaky_x4", "srvgg-tiny-leaky-x4", "leakyrelu", 6, 2, 4, {1, 3, 9, 7}},
      {"srvgg_tiny_relu_x3", "srvgg-tiny-relu-x3", "relu", 4, 1, 3, {1, 3, 5, 6}},
  };
  for (const Golden& g : nets) {
    SCOPED_TRACE(g.stem);
    const SafeTensors m = load_safetensors(kGolden / (std::string(g.stem) + ".safetensors"));
    const std::map<std::string, std::string> meta = {{"format", "hires"},
                                                     {"architecture", "srvgg"},
                                                     {"num_in_ch", "3"},
                                                     {"num_out_ch", "3"},
                                                     {"num_feat", std::to_string(g.feat)},
                                                     {"num_conv", std::to_string(g.conv)},
                                                     {"upscale", std::to_string(g.scale)},
                                                     {"act_type", g.act},
                                                     {"name", g.name},
                                                     {"license", "CC0-1.0 (random test weights)"}};
    EXPECT_EQ(m.metadata, meta);

    const bool prelu = std::string(g.act) == "prelu";
    const std::int64_t f = g.feat;
    std::map<std::string, std::vector<std::int64_t>> shapes = {{"body.0.weight", {f, 3, 3, 3}},
                                                               {"body.0.bias", {f}}};
    int index = 1;
    for (int i = 0; i <= g.conv; ++i) {
      if (prelu) shapes["body." + std::to_string(index) + ".weight"] = {f};
      ++index;
      const std::int64_t out = i == g.conv ? 3 * g.scale * g.scale : f;
      shapes["body." + std::to_string(index) + ".weight"] = {out, f, 3, 3};
      shapes["body." + std::to_string(index) + ".bias"] = {out};
      ++index;
    }
    ASSERT_EQ(m.tensors.size(), shapes.size());
    for (const auto& [name, shape] : shapes) {
      const TensorData& t = m.get(name);
      EXPECT_EQ(t.shape, shape) << name;
      EXPECT_EQ(static_cast<std::int64_t>(t.values.size()), element_count(shape)) << name;
    }
    if (prelu) {
      for (const float s : m.get("body.1.weight").values) {
        EXPECT_GE(s, 0.05F);
        EXPECT_LE(s, 0.3F);
      }
    }

    const SafeTensors io = load_safetensors(kGolden / (std::string(g.stem) + ".io.safetensors"));
    const TensorData& in = io.get("input");
    const TensorData& out = io.get("output");
    EXPECT_EQ(in.shape, g.input);
    EXPECT_EQ(out.shape,
              (std::vector<std::int64_t>{1, 3, g.input[2] * g.scale, g.input[3] * g.scale}));
    for (const float v : in.values) {
      EXPECT_GE(v, 0.0F);
      EXPECT_LT(v, 1.0F);
    }
    for (const float v : out.values) EXPECT_TRUE(std::isfinite(v));
    EXPECT_EQ(io.metadata.at("model"), g.name);
  }
}

// --- Validation errors ------------------------------------------------------------------------

class SafeTensorsErrors : public ::testing::Test {
 protected:
  TempDir dir;
  fs::path p = dir / "bad.safetensors";
  std::string prefix = p.string() + ": ";
};

TEST_F(SafeTensorsErrors, MissingFileAndFolder) {
  EXPECT_EQ(load_error(p), prefix + "no such file");
  EXPECT_EQ(load_error(dir.path()), dir.path().string() + ": is a folder, not a safetensors file");
}

TEST_F(SafeTensorsErrors, TruncatedFile) {
  {
    std::ofstream out(p, std::ios::binary);
    out.write("\x10\x00\x00", 3);
  }
  EXPECT_EQ(load_error(p), prefix +
                               "is truncated: 3 bytes, too few for the 8-byte header length (the "
                               "file is incomplete or not a safetensors file)");
  { std::ofstream out(p, std::ios::binary); }
  EXPECT_EQ(load_error(p), prefix +
                               "is truncated: 0 bytes, too few for the 8-byte header length (the "
                               "file is incomplete or not a safetensors file)");
}

TEST_F(SafeTensorsErrors, HeaderLengthTooBig) {
  write_raw(p, "{}    ", "", 1000);
  EXPECT_EQ(load_error(p), prefix +
                               "header length 1000 is beyond the end of the file (14 bytes) (the "
                               "file is truncated or not a safetensors file)");
  // A zip (as PyTorch's .pth files are) read as safetensors: "PK\3\4" makes an absurd length.
  write_raw(p, "", "", 0x04034B50ULL);
  EXPECT_EQ(load_error(p), prefix +
                               "header length 67324752 is beyond the end of the file (8 "
                               "bytes) (the file is truncated or not a safetensors file)");
}

TEST_F(SafeTensorsErrors, BadJson) {
  write_raw(p, R"({"a": {"dtype": })");
  EXPECT_EQ(load_error(p), prefix +
                               "the header is not valid JSON (error at byte 17 of 17) (the file "
                               "is corrupt or not a safetensors file)");
  write_raw(p, "");
  EXPECT_EQ(load_error(p), prefix +
                               "the header is not valid JSON (error at byte 1 of 0) (the file is "
                               "corrupt or not a safetensors file)");
  write_raw(p, "[1, 2]");
  EXPECT_EQ(load_error(p), prefix + "the header is not a JSON object");
}

TEST_F(SafeTensorsErrors, OffsetsOutOfRange) {
  write_raw(p, R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}})", std::string(20, 0));
  EXPECT_EQ(load_error(p),
            prefix +
                "tensor 'w': data_offsets [0, 24] go beyond the 20 bytes of data (the file is "
                "truncated or corrupt)");
  write_raw(p, R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", std::string(8, 0));
  EXPECT_EQ(load_error(p),
            prefix + "tensor 'w': \"data_offsets\" must be [begin, end] with 0 <= begin <= end");
  write_raw(p, R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", std::string(8, 0));
  EXPECT_EQ(load_error(p),
            prefix + "tensor 'w': \"data_offsets\" must be [begin, end] with 0 <= begin <= end");
  write_raw(p, R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", std::string(8, 0));
  EXPECT_EQ(load_error(p),
            prefix + "tensor 'w': \"data_offsets\" must be [begin, end] with 0 <= begin <= end");
}

TEST_F(SafeTensorsErrors, OffsetsNotMatchingTheShape) {
  write_raw(p, R"({"w":{"dtype":"F16","shape":[2,3],"data_offsets":[0,24]}})", std::string(24, 0));
  EXPECT_EQ(load_error(p), prefix +
                               "tensor 'w': data_offsets [0, 24] span 24 bytes, but shape [2, 3] "
                               "of F16 needs 12");
}

TEST_F(SafeTensorsErrors, OverlappingTensors) {
  write_raw(p,
            R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
            R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
            std::string(12, 0));
  EXPECT_EQ(load_error(p), prefix + "tensors 'a' and 'b' overlap in the data");
  // Touching ranges and empty tensors are fine.
  write_raw(p,
            R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
            R"("e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},)"
            R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
            le32({1, 2, 3}));
  EXPECT_EQ(load_error(p), "");
}

TEST_F(SafeTensorsErrors, UnsupportedDtype) {
  write_raw(p, R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", std::string(1, 0));
  EXPECT_EQ(load_error(p), prefix +
                               "tensor 'w' has unsupported dtype U8 (hires reads F32, F16, BF16, "
                               "I64 and I32 tensors)");
  write_raw(p, R"({"w":{"shape":[1],"data_offsets":[0,4]}})", std::string(4, 0));
  EXPECT_EQ(load_error(p), prefix + "tensor 'w': \"dtype\" is missing or not a string");
}

TEST_F(SafeTensorsErrors, DuplicateNames) {
  write_raw(p,
            R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
            R"("w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
            std::string(8, 0));
  EXPECT_EQ(load_error(p), prefix + "the header lists 'w' twice");
  write_raw(p, R"({"w":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}})",
            std::string(4, 0));
  EXPECT_EQ(load_error(p), prefix + "the header repeats the key 'dtype' within one entry");
}

TEST_F(SafeTensorsErrors, BadShapesEntriesAndMetadata) {
  write_raw(p, R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", std::string(4, 0));
  EXPECT_EQ(load_error(p), prefix + "tensor 'w': \"shape\" must hold non-negative integers");
  write_raw(p, R"({"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", std::string(4, 0));
  EXPECT_EQ(load_error(p), prefix + "tensor 'w': \"shape\" must hold non-negative integers");
  write_raw(p, R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", std::string(4, 0));
  EXPECT_EQ(load_error(p), prefix + "tensor 'w': \"shape\" is missing or not a list");
  write_raw(p, R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})",
            std::string(4, 0));
  EXPECT_EQ(load_error(p), prefix + "tensor 'w': shape [4294967296, 4294967296] is too large");
  write_raw(p, R"({"w":[1,2]})");
  EXPECT_EQ(load_error(p), prefix + "tensor 'w': its header entry is not a JSON object");
  write_raw(p, R"({"__metadata__":{"a":"b","n":3}})");
  EXPECT_EQ(load_error(p), prefix + "\"__metadata__\" value 'n' is not a string");
  write_raw(p, R"({"__metadata__":"text"})");
  EXPECT_EQ(load_error(p), prefix + "\"__metadata__\" is not a JSON object");
}

TEST_F(SafeTensorsErrors, AcceptsPaddedHeaderAndIgnoresUnknownFields) {
  write_raw(p, R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}}     )",
            le32({2.5F}));
  const SafeTensors st = load_safetensors(p);
  EXPECT_EQ(st.get("w").values, std::vector<float>{2.5F});
}

}  // namespace
}  // namespace hires::models

namespace hires::models {
namespace {

// The one-line message of the hires::Error that loading `p` throws.
std::string model_error(const fs::path& p) {
  try {
    load_model_file(p);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error loading " << p;
  return {};
}

// A first convolution with no input channels, or a side of 2^32 (0 as an int), once divided by
// zero in SRVGG detection (SIGFPE); both are a clear error now, and `hires models` skips them.
TEST(SafeTensorsHostile, ZeroOrWrappingChannelCountsAreAClearError) {
  TempDir dir;
  write_raw(dir / "zero.safetensors",
            R"({"body.0.weight":{"dtype":"F32","shape":[4,0,3,3],"data_offsets":[0,0]}})");
  EXPECT_EQ(model_error(dir / "zero.safetensors"),
            "model 'zero.safetensors': tensor 'body.0.weight' is [4,0,3,3]: 0 channels "
            "(expected 1 to 65536 channels)");
  write_raw(dir / "wrap.safetensors",
            R"({"body.0.weight":{"dtype":"F32","shape":[4294967296,0,3,3],"data_offsets":[0,0]}})");
  EXPECT_EQ(model_error(dir / "wrap.safetensors"),
            "model 'wrap.safetensors': tensor 'body.0.weight' is [4294967296,0,3,3]: 4294967296 "
            "channels (expected 1 to 65536 channels)");
  // The last conv: 0 output channels.
  const std::string tail =
      R"({"body.0.weight":{"dtype":"F32","shape":[1,3,3,3],"data_offsets":[0,108]},)"
      R"("body.2.weight":{"dtype":"F32","shape":[0,1,3,3],"data_offsets":[108,108]}})";
  write_raw(dir / "tail.safetensors", tail, std::string(108, '\0'));
  EXPECT_EQ(model_error(dir / "tail.safetensors"),
            "model 'tail.safetensors': tensor 'body.2.weight' is [0,1,3,3]: 0 channels "
            "(expected 1 to 65536 channels)");
  EXPECT_TRUE(list_models({dir.path()}).empty());
}

// A header of many empty tensors once took over ten minutes (300,000 entries; nlohmann's callback
// parser is quadratic in an object's size). Parsing is linear now and the count is capped: 100,000
// entries load (about 0.2 s), 300,000 are refused with a clear message.
std::string empty_tensors_header(int count) {
  std::string header = "{";
  for (int i = 0; i < count; ++i) {
    if (i > 0) header += ',';
    header += "\"t" + std::to_string(i) + R"(":{"dtype":"F32","shape":[0],"data_offsets":[0,0]})";
  }
  return header + "}";
}

TEST(SafeTensorsHostile, HeaderWithTooManyTensorsIsRefused) {
  TempDir dir;
  const fs::path p = dir / "many.safetensors";
  write_raw(p, empty_tensors_header(300'000));
  EXPECT_EQ(load_error(p), p.string() +
                               ": the header lists more than 100000 tensors (no upscaling model "
                               "has that many; the file is corrupt or not a model)");
  write_raw(p, empty_tensors_header(100'000));
  const SafeTensors st = load_safetensors(p);
  EXPECT_EQ(st.tensors.size(), 100'000U);
  EXPECT_TRUE(st.get("t99999").values.empty());
}

}  // namespace
}  // namespace hires::models
