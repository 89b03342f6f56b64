// The PyTorch checkpoint reader: tensors of every dtype, wrappers, refused pickles (nothing runs),
// and clear errors naming the file for truncated or corrupt archives and pickles. Fixtures come
// from tools/make_zoo_fixtures.py.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "hires/error.hpp"
#include "models/formats/pth_reader.hpp"
#include "models/formats/zip_reader.hpp"
#include "models/model.hpp"
#include "support/test_support.hpp"

namespace hires {
namespace {

namespace fs = std::filesystem;

const fs::path kZoo = fs::path(HIRES_SOURCE_DIR) / "tests" / "zoo";
// What the malicious fixtures' command would create.
const fs::path kEvilMarker = "/tmp/hires-zoo-pickle-ran";
// No limit on a zip entry's size: for reading the fixtures back.
constexpr std::uint64_t kAny = std::uint64_t{1} << 30;

// The hires::Error that `load` throws; a failure of the test when it throws nothing.
template <typename Load>
Error error_of(Load load) {
  try {
    load();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error was thrown";
  return Error(ErrorKind::internal, "", "");
}

Error pth_error(const fs::path& p) {
  return error_of([&] { models::load_pth(p); });
}

std::vector<std::uint8_t> read_bytes(const fs::path& p) {
  const std::string s = test::read_file(p);
  return {s.begin(), s.end()};
}

void write_bytes(const fs::path& p, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

std::uint32_t crc32(const std::vector<std::uint8_t>& data) {
  std::uint32_t crc = 0xFFFFFFFFU;
  for (std::uint8_t b : data) {
    crc ^= b;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320U & (0U - (crc & 1U)));
  }
  return ~crc;
}

void put(std::vector<std::uint8_t>& out, std::uint64_t v, int n) {
  for (int k = 0; k < n; ++k) out.push_back(static_cast<std::uint8_t>(v >> (8 * k)));
}

// One member of a zip archive as written: its bytes in the archive and what its headers declare.
struct ZipRecord {
  std::string name;
  std::vector<std::uint8_t> data;  // stored or raw-deflated
  std::uint16_t method = 0;        // 0 stored, 8 deflate
  std::uint64_t size = 0;          // the uncompressed size the headers declare
  std::uint32_t crc = 0;
};

// A zip archive holding `records`.
void write_zip_records(const fs::path& p, const std::vector<ZipRecord>& records) {
  std::vector<std::uint8_t> out;
  std::vector<std::uint8_t> central;
  for (const ZipRecord& r : records) {
    const std::uint64_t offset = out.size();
    auto header = [&](std::vector<std::uint8_t>& h, bool is_central) {
      put(h, is_central ? 0x02014b50 : 0x04034b50, 4);
      if (is_central) put(h, 20, 2);
      put(h, 20, 2);  // version needed
      put(h, 0, 2);   // flags
      put(h, r.method, 2);
      put(h, 0, 4);  // time, date
      put(h, r.crc, 4);
      put(h, r.data.size(), 4);
      put(h, r.size, 4);
      put(h, r.name.size(), 2);
      put(h, 0, 2);  // extra
      if (is_central) {
        put(h, 0, 6);  // comment length, disk, internal attributes
        put(h, 0, 4);  // external attributes
        put(h, offset, 4);
      }
      h.insert(h.end(), r.name.begin(), r.name.end());
    };
    header(out, false);
    out.insert(out.end(), r.data.begin(), r.data.end());
    header(central, true);
  }
  const std::uint64_t cd_offset = out.size();
  out.insert(out.end(), central.begin(), central.end());
  put(out, 0x06054b50, 4);
  put(out, 0, 4);
  put(out, records.size(), 2);
  put(out, records.size(), 2);
  put(out, central.size(), 4);
  put(out, cd_offset, 4);
  put(out, 0, 2);
  write_bytes(p, out);
}

// A stored zip archive holding `records` (name, bytes), like torch.save writes.
void write_zip(const fs::path& p,
               const std::vector<std::pair<std::string, std::vector<std::uint8_t>>>& records) {
  std::vector<ZipRecord> zip;
  for (const auto& [name, data] : records) zip.push_back({name, data, 0, data.size(), crc32(data)});
  write_zip_records(p, zip);
}

// A deflated member of `size` zero bytes (about 1/1000 of that in the archive), made in chunks.
ZipRecord deflated_zeros(const std::string& name, std::uint64_t size) {
  ZipRecord r{name, {}, 8, size, 0};
  const std::vector<std::uint8_t> zeros(1 << 20);
  std::vector<std::uint8_t> chunk(1 << 16);
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 9, Z_DEFLATED, -MAX_WBITS, 9, Z_DEFAULT_STRATEGY), Z_OK);
  uLong crc = ::crc32(0L, Z_NULL, 0);
  for (std::uint64_t left = size; true;) {
    const auto n = static_cast<uInt>(std::min<std::uint64_t>(left, zeros.size()));
    crc = ::crc32(crc, zeros.data(), n);
    left -= n;
    zs.next_in = const_cast<Bytef*>(zeros.data());
    zs.avail_in = n;
    const int flush = left == 0 ? Z_FINISH : Z_NO_FLUSH;
    int rc = Z_OK;
    do {
      zs.next_out = chunk.data();
      zs.avail_out = static_cast<uInt>(chunk.size());
      rc = deflate(&zs, flush);
      r.data.insert(r.data.end(), chunk.begin(), chunk.end() - zs.avail_out);
    } while (zs.avail_out == 0);
    if (rc == Z_STREAM_END || left == 0) break;
  }
  deflateEnd(&zs);
  r.crc = static_cast<std::uint32_t>(crc);
  return r;
}

TEST(Pth, EveryDtypeOffsetAndParameter) {
  const models::PthCheckpoint ck = models::load_pth(kZoo / "dtypes.pth");
  EXPECT_EQ(ck.wrapper, "");
  using V = std::vector<float>;
  using S = std::vector<std::int64_t>;
  const std::vector<std::tuple<std::string, S, V>> want = {
      {"f32", {2, 3}, {0, 1, 2, 3, 4, 5}},
      {"f16", {4}, {0, 0.5F, 1, 1.5F}},
      {"bf16", {3}, {-1, 0, 1}},
      {"f64", {2}, {0.25F, -2}},
      {"i64", {2}, {7, -3}},
      {"base", {10}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
      {"view", {4}, {2, 3, 4, 5}},
      {"param", {2, 1}, {1, 1}},
  };
  for (const auto& [name, shape, values] : want) {
    ASSERT_TRUE(ck.tensors.contains(name)) << name;
    EXPECT_EQ(ck.tensors.at(name).shape, shape) << name;
    EXPECT_EQ(ck.tensors.at(name).values, values) << name;
  }
  EXPECT_EQ(ck.tensors.size(), want.size()) << "'step' (an int) is not a tensor";
}

TEST(Pth, DeflatedArchiveReadsTheSame) {
  const auto stored = models::load_pth(kZoo / "dtypes.pth");
  const auto deflated = models::load_pth(kZoo / "dtypes_deflate.pth");
  ASSERT_EQ(stored.tensors.size(), deflated.tensors.size());
  for (const auto& [name, t] : stored.tensors) {
    ASSERT_TRUE(deflated.tensors.contains(name)) << name;
    EXPECT_EQ(deflated.tensors.at(name).values, t.values) << name;
  }
}

TEST(Pth, WrappersAndModulePrefix) {
  const auto plain = models::load_pth(kZoo / "rrdb_tiny_x4.pth");
  EXPECT_EQ(plain.wrapper, "");
  EXPECT_TRUE(plain.tensors.contains("body.1.rdb3.conv5.bias"));
  EXPECT_EQ(plain.tensors.at("conv_first.weight").shape, (std::vector<std::int64_t>{8, 3, 3, 3}));

  EXPECT_EQ(models::load_pth(kZoo / "rrdb_tiny_x2.pth").wrapper, "params_ema");

  const auto fp16 = models::load_pth(kZoo / "rrdb_tiny_x1_fp16.pth");
  EXPECT_EQ(fp16.wrapper, "state_dict");
  EXPECT_TRUE(fp16.tensors.contains("conv_first.weight"));
  for (const auto& [name, t] : fp16.tensors) EXPECT_FALSE(name.starts_with("module.")) << name;
}

// The malicious fixtures would run `touch /tmp/hires-zoo-pickle-ran` if unpickled by Python.
TEST(Pth, PicklesThatCallFunctionsAreRefusedAndNothingRuns) {
  struct Case {
    const char* stem;
    std::string problem;
  };
  const std::vector<Case> cases = {
      {"evil_system",
       "refused to load: the pickle in 'evil_system/data.pkl' asks for 'os.system', which is not "
       "allowed"},
      {"evil_eval",
       "refused to load: the pickle in 'evil_eval/data.pkl' asks for 'builtins.eval', which is "
       "not allowed"},
      {"evil_inst",
       "refused to load: pickle opcode INST (0x69) at byte 39 of 'evil_inst/data.pkl' is not "
       "allowed"},
      {"evil_in_state_dict",
       "refused to load: the pickle in 'evil_in_state_dict/data.pkl' asks for 'posix.system', "
       "which is not allowed"},
  };
  std::error_code ec;
  fs::remove(kEvilMarker, ec);
  for (const Case& c : cases) {
    const fs::path p = kZoo / (std::string(c.stem) + ".pth");
    for (int via_model = 0; via_model < 2; ++via_model) {
      const Error e = via_model != 0 ? error_of([&] { load_model_file(p); }) : pth_error(p);
      EXPECT_EQ(e.kind(), ErrorKind::input);
      EXPECT_EQ(e.subject(), p.string());
      EXPECT_EQ(e.problem(), c.problem);
      EXPECT_NE(e.hint().find("never runs code"), std::string::npos) << e.hint();
      EXPECT_FALSE(fs::exists(kEvilMarker)) << c.stem << " ran its command";
    }
  }
}

TEST(Pth, NonContiguousTensorIsAClearError) {
  const fs::path p = kZoo / "noncontiguous.pth";
  const Error e = pth_error(p);
  EXPECT_EQ(e.subject(), p.string());
  EXPECT_EQ(e.problem(), "tensor 't': is not contiguous (size [4,3], stride [1,4])");
  EXPECT_NE(e.hint().find("contiguous()"), std::string::npos);
}

TEST(Pth, ContentsThatAreNotAStateDict) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"legacy.pth",
       "legacy PyTorch checkpoint (saved before PyTorch 1.6 or with "
       "_use_new_zipfile_serialization=False)"},
      {"list.pth", "the checkpoint holds a list, expected a dict of tensors"},
      {"no_tensors.pth", "no tensors found (top-level keys: epoch, lr)"},
  };
  for (const auto& [file, problem] : cases) {
    const Error e = pth_error(kZoo / file);
    EXPECT_EQ(e.subject(), (kZoo / file).string());
    EXPECT_EQ(e.problem(), problem) << file;
  }
}

TEST(Pth, TruncatedPickleNamesTheFileAndTheByte) {
  const fs::path p = kZoo / "truncated_pickle.pth";
  const Error e = pth_error(p);
  EXPECT_EQ(e.subject(), p.string());
  EXPECT_TRUE(e.problem().starts_with("pickle 'truncated_pickle/data.pkl' at byte "))
      << e.problem();
  EXPECT_TRUE(e.problem().ends_with(": the pickle is cut short")) << e.problem();
  EXPECT_EQ(e.hint(), "the file is truncated or corrupt");
}

TEST(Pth, TruncatedCorruptAndForeignFiles) {
  test::TempDir tmp;
  const auto good = read_bytes(kZoo / "rrdb_tiny_x4.pth");

  // Cut anywhere: the central directory at the end is gone.
  for (std::size_t keep : {std::size_t{0}, std::size_t{3}, good.size() / 2, good.size() - 1}) {
    const fs::path p = tmp / fmt::format("cut{}.pth", keep);
    write_bytes(p, {good.begin(), good.begin() + static_cast<std::ptrdiff_t>(keep)});
    const Error e = error_of([&] { load_model_file(p); });
    EXPECT_EQ(e.subject(), p.string());
    EXPECT_EQ(e.problem(), keep < 4 ? "not a PyTorch checkpoint (not a zip archive)"
                                    : "not a zip archive (no end of central directory record)")
        << keep;
  }

  // One flipped byte inside a tensor's record: the CRC says so.
  const models::ZipArchive zip(kZoo / "rrdb_tiny_x4.pth", good);
  const auto* entry = zip.find("rrdb_tiny_x4/data/0");
  ASSERT_NE(entry, nullptr);
  const std::size_t name_at = static_cast<std::size_t>(entry->local_offset) + 30;
  const std::size_t extra = good[name_at - 2] | (good[name_at - 1] << 8);
  auto bad = good;
  bad[name_at + entry->name.size() + extra + 5] ^= 0x40;
  const fs::path flipped = tmp / "flipped.pth";
  write_bytes(flipped, bad);
  const Error crc = error_of([&] { load_model_file(flipped); });
  EXPECT_EQ(crc.subject(), flipped.string());
  EXPECT_TRUE(crc.problem().starts_with("zip entry 'rrdb_tiny_x4/data/0': CRC-32 is "))
      << crc.problem();

  const fs::path text = tmp / "notes.pth";
  write_bytes(text, {'h', 'e', 'l', 'l', 'o'});
  EXPECT_EQ(pth_error(text).problem(), "not a PyTorch checkpoint (not a zip archive)");
  EXPECT_EQ(pth_error(tmp / "missing.pth").problem(), "cannot open the file");

  const fs::path no_pickle = tmp / "no_pickle.pth";
  write_zip(no_pickle, {{"archive/version", {'3', '\n'}}});
  EXPECT_EQ(pth_error(no_pickle).problem(),
            "zip archive without data.pkl: not a PyTorch checkpoint");

  const fs::path missing_storage = tmp / "missing_storage.pth";
  const models::ZipArchive dtypes(kZoo / "dtypes.pth", read_bytes(kZoo / "dtypes.pth"));
  write_zip(missing_storage,
            {{"archive/data.pkl", dtypes.read(*dtypes.find("dtypes/data.pkl"), kAny, "")}});
  EXPECT_EQ(pth_error(missing_storage).problem(),
            "tensor 'f32': its storage 'archive/data/0' is missing");
}

TEST(Pth, UnknownArchitectureListsTensorsAndSupportedOnes) {
  const fs::path p = kZoo / "unknown_arch.pth";
  const Error e = error_of([&] { load_model_file(p); });
  EXPECT_EQ(e.subject(), p.string());
  EXPECT_EQ(e.problem(),
            "no supported architecture matches its tensors (encoder.0.weight, encoder.1.weight, "
            "encoder.2.weight, encoder.3.weight, ...)");
  EXPECT_NE(e.hint().find("srvgg"), std::string::npos) << e.hint();
  EXPECT_NE(e.hint().find("rrdbnet"), std::string::npos) << e.hint();
}

// Protocol-2 pickle bytes of a state dict, written by hand for hostile cases: an empty dict,
// then what the test adds.
struct PickleBytes {
  std::vector<std::uint8_t> bytes = {0x80, 2, '}'};
  void add(std::initializer_list<std::uint8_t> b) { bytes.insert(bytes.end(), b); }
  void text(const std::string& s) {  // BINUNICODE
    bytes.push_back('X');
    put(bytes, s.size(), 4);
    bytes.insert(bytes.end(), s.begin(), s.end());
  }
  void global(const std::string& s) {  // GLOBAL "module\nname\n"
    bytes.push_back('c');
    bytes.insert(bytes.end(), s.begin(), s.end());
  }
  // _rebuild_tensor_v2((persistent storage FloatStorage '0' on cpu, ...: the caller goes on
  // with the storage size, the memo and the tensor's offset, size and stride.
  void tensor_head() {
    global("torch._utils\n_rebuild_tensor_v2\n");
    add({'(', '('});
    text("storage");
    global("torch\nFloatStorage\n");
    text("0");
    text("cpu");
  }
};

// One 1000-value storage under 5000 names would need 5 million values from a ~60 KB file.
TEST(Pth, AStorageReusedOverAndOverIsRefused) {
  test::TempDir tmp;
  PickleBytes b;
  b.tensor_head();  // the first value: memoized as 0, then set under 5000 names
  b.add({'M', 0xE8, 0x03, 't',  'Q', 'K', 0,   'M', 0xE8, 0x03, 0x85,
         'K', 1,    0x85, 0x89, '}', 't', 'R', 'q', 0,    '0'});
  for (int k = 0; k < 5000; ++k) {
    b.text(fmt::format("w{}", k));
    b.add({'h', 0, 's'});
  }
  b.add({'.'});
  const std::vector<std::uint8_t>& pkl = b.bytes;
  const fs::path p = tmp / "bomb.pth";
  write_zip(p, {{"archive/data.pkl", pkl}, {"archive/data/0", std::vector<std::uint8_t>(4000)}});
  const Error e = pth_error(p);
  EXPECT_EQ(e.subject(), p.string());
  EXPECT_NE(e.problem().find("the same storage is reused over and over"), std::string::npos)
      << e.problem();
}

// Every prefix and many seeded corruptions of a real state-dict pickle either load or throw
// hires::Error: never a crash, a hang or another exception.
TEST(Pth, DamagedPicklesNeverCrash) {
  test::TempDir tmp;
  const models::ZipArchive zip(kZoo / "dtypes.pth", read_bytes(kZoo / "dtypes.pth"));
  std::vector<std::pair<std::string, std::vector<std::uint8_t>>> records;
  for (const auto& e : zip.entries()) {
    records.emplace_back("archive/" + e.name.substr(e.name.find('/') + 1), zip.read(e, kAny, ""));
  }
  const std::vector<std::uint8_t> pkl = records.front().second;
  ASSERT_EQ(records.front().first, "archive/data.pkl");
  const fs::path p = tmp / "damaged.pth";
  std::mt19937 rng(7);
  int loaded = 0;
  int refused = 0;
  for (std::size_t trial = 0; trial < pkl.size() + 400; ++trial) {
    std::vector<std::uint8_t> bytes = pkl;
    if (trial < pkl.size()) {
      bytes.resize(trial);
    } else {
      for (int k = 0; k < 3; ++k) bytes[rng() % bytes.size()] = static_cast<std::uint8_t>(rng());
    }
    records.front().second = bytes;
    write_zip(p, records);
    try {
      models::load_pth(p);
      ++loaded;
    } catch (const Error& e) {
      EXPECT_EQ(e.subject(), p.string());
      ++refused;
    }
  }
  EXPECT_GT(refused, static_cast<int>(pkl.size()));
  RecordProperty("loaded", loaded);
}

}  // namespace
}  // namespace hires

namespace hires {
namespace {

// A tensor with a zero-sized dimension beside a 2^62 one holds no values: it loads (PyTorch calls
// it contiguous whatever its strides), where the contiguity check once overflowed
// (4 * 2^62) and then called its strides wrong.
TEST(PthHostile, ZeroSizedTensorBesideAHugeDimension) {
  test::TempDir tmp;
  PickleBytes b;
  b.text("t");
  b.tensor_head();
  b.add({'K', 0, 't', 'Q', 'K', 0});
  // size (0, 2^62, 4), stride (1, 4, 1)
  b.add({'(', 'K', 0, 0x8a, 8, 0, 0, 0, 0, 0, 0, 0, 0x40, 'K', 4, 't'});
  b.add({'(', 'K', 1, 'K', 4, 'K', 1, 't'});
  b.add({0x89, '}', 't', 'R', 's', '.'});
  const std::vector<std::uint8_t>& pkl = b.bytes;
  const fs::path p = tmp / "zero.pth";
  write_zip(p, {{"archive/data.pkl", pkl}, {"archive/data/0", {}}});
  const models::PthCheckpoint ck = models::load_pth(p);
  ASSERT_EQ(ck.tensors.count("t"), 1U);
  EXPECT_EQ(ck.tensors.at("t").shape, (std::vector<std::int64_t>{0, std::int64_t{1} << 62, 4}));
  EXPECT_TRUE(ck.tensors.at("t").values.empty());
}

// A tiny state dict {'w': a 1000-value FloatStorage '0'} and its pickle.
std::vector<std::uint8_t> one_tensor_pickle() {
  PickleBytes b;
  b.text("w");
  b.tensor_head();
  b.add({'M',  0xE8, 0x03, 't',  'Q',  'K', 0,   'M', 0xE8, 0x03,
         0x85, 'K',  1,    0x85, 0x89, '}', 't', 'R', 's',  '.'});
  return b.bytes;
}

// Bombs: members that inflate to far more than a checkpoint holds are refused by their declared
// size before anything is inflated (a 3.9 MB file once inflated 4 GB first), and a member that
// declares a small size but inflates to more is stopped at its declared size.
TEST(PthHostile, DecompressionBombsAreRefusedBeforeInflating) {
  test::TempDir tmp;
  const std::string hint =
      "a real checkpoint is far smaller; the file is corrupt or a decompression bomb";

  const fs::path pickle_bomb = tmp / "pickle_bomb.pth";
  write_zip_records(pickle_bomb, {deflated_zeros("archive/data.pkl", 80ULL << 20)});
  EXPECT_LT(fs::file_size(pickle_bomb), 100'000U);
  for (int via_model = 0; via_model < 2; ++via_model) {
    const Error e =
        via_model != 0 ? error_of([&] { load_model_file(pickle_bomb); }) : pth_error(pickle_bomb);
    EXPECT_EQ(e.subject(), pickle_bomb.string());
    EXPECT_EQ(e.problem(),
              "zip entry 'archive/data.pkl': declares 83886080 bytes, over the limit of 67108864 "
              "bytes for the pickle of a state dict");
    EXPECT_EQ(e.hint(), hint);
  }

  const fs::path storage_bomb = tmp / "storage_bomb.pth";
  const std::vector<std::uint8_t> pkl = one_tensor_pickle();
  write_zip_records(storage_bomb, {{"archive/data.pkl", pkl, 0, pkl.size(), crc32(pkl)},
                                   deflated_zeros("archive/data/0", 64ULL << 20)});
  const Error e = pth_error(storage_bomb);
  EXPECT_EQ(e.problem(),
            fmt::format("zip entry 'archive/data/0': declares 67108864 bytes, over the limit of "
                        "{} bytes for the tensor storages (32 bytes per byte of the file in all)",
                        32 * fs::file_size(storage_bomb)));
  EXPECT_EQ(e.hint(), hint);

  // Headers that declare 1000 bytes for 80 MiB: inflating stops at the first chunk past 1000.
  const fs::path liar = tmp / "liar.pth";
  ZipRecord lie = deflated_zeros("archive/data.pkl", 80ULL << 20);
  lie.size = 1000;
  write_zip_records(liar, {lie});
  EXPECT_EQ(pth_error(liar).problem(),
            "zip entry 'archive/data.pkl': inflates to more than the 1000 bytes it declares");
}

}  // namespace
}  // namespace hires
