#include "models/formats/zip_reader.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "hires/error.hpp"

namespace hires::models {
namespace {

constexpr std::uint32_t kLocalHeader = 0x04034b50;
constexpr std::uint32_t kCentralHeader = 0x02014b50;
constexpr std::uint32_t kEndOfCentral = 0x06054b50;
constexpr std::uint32_t kZip64End = 0x06064b50;
constexpr std::uint32_t kZip64Locator = 0x07064b50;
constexpr std::size_t kEndSize = 22;
constexpr std::size_t kMaxComment = 0xFFFF;
// Far more entries than any checkpoint holds: refuse before allocating for a forged count.
constexpr std::uint64_t kMaxEntries = 1'000'000;

const char* kTruncatedHint = "the file is truncated or corrupt";

std::uint64_t le(const std::uint8_t* p, int n) {
  std::uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Owns a raw-deflate zlib stream.
class Inflater {
 public:
  Inflater() : ok_(inflateInit2(&zs_, -MAX_WBITS) == Z_OK) {}
  ~Inflater() {
    if (ok_) inflateEnd(&zs_);
  }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  bool ok() const { return ok_; }
  z_stream& stream() { return zs_; }

 private:
  z_stream zs_{};
  bool ok_;
};

// Inflates `entry`'s compressed bytes at `data` in chunks, refusing (through `fail`) output beyond
// the declared size as soon as it appears; the result never grows past the declared size.
template <typename Fail>
std::vector<std::uint8_t> inflate_entry(const std::uint8_t* data, const ZipArchive::Entry& entry,
                                        const Fail& fail) {
  constexpr std::size_t kChunk = std::size_t{256} * 1024;
  Inflater inflater;
  if (!inflater.ok()) fail("cannot start zlib", "");
  z_stream& zs = inflater.stream();
  std::vector<std::uint8_t> out;
  out.reserve(static_cast<std::size_t>(entry.size));
  std::vector<std::uint8_t> chunk(kChunk);
  std::uint64_t in_left = entry.compressed_size;
  zs.next_in = const_cast<Bytef*>(data);
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (zs.avail_in == 0 && in_left > 0) {
      zs.avail_in = static_cast<uInt>(std::min<std::uint64_t>(in_left, kChunk));
      in_left -= zs.avail_in;
    }
    zs.next_out = chunk.data();
    zs.avail_out = static_cast<uInt>(chunk.size());
    rc = inflate(&zs, Z_NO_FLUSH);
    // With room for output, Z_BUF_ERROR means the input ended before the stream did.
    if (rc != Z_OK && rc != Z_STREAM_END) fail("compressed data is corrupt", kTruncatedHint);
    const std::size_t produced = chunk.size() - zs.avail_out;
    if (produced > entry.size - out.size()) {
      fail(fmt::format("inflates to more than the {} bytes it declares", entry.size),
           kTruncatedHint);
    }
    out.insert(out.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(produced));
  }
  if (out.size() != entry.size) {
    fail(fmt::format("inflates to {} bytes, but declares {}", out.size(), entry.size),
         kTruncatedHint);
  }
  return out;
}

}  // namespace

bool looks_like_zip(const std::vector<std::uint8_t>& bytes) {
  return bytes.size() >= 4 && le(bytes.data(), 4) == kLocalHeader;
}

ZipArchive::ZipArchive(std::filesystem::path path, std::vector<std::uint8_t> bytes)
    : path_(std::move(path)), bytes_(std::move(bytes)), size_(bytes_.size()) {
  read_directory();
}

ZipArchive::ZipArchive(std::filesystem::path path) : path_(std::move(path)) {
  std::error_code ec;
  size_ = std::filesystem::file_size(path_, ec);
  file_.open(path_, std::ios::binary);
  if (ec || !file_) throw Error(ErrorKind::input, path_.string(), "cannot open the file");
  read_directory();
}

std::vector<std::uint8_t> ZipArchive::bytes_at(std::uint64_t offset, std::uint64_t n) const {
  // Callers check that the range lies within the file.
  if (!file_.is_open()) {
    const auto* p = bytes_.data() + offset;
    return {p, p + n};
  }
  std::vector<std::uint8_t> out(static_cast<std::size_t>(n));
  file_.clear();
  file_.seekg(static_cast<std::streamoff>(offset));
  if (!file_.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(n))) {
    throw Error(ErrorKind::input, path_.string(), "cannot read the file", kTruncatedHint);
  }
  return out;
}

void ZipArchive::read_directory() {
  const std::string file = path_.string();
  const std::uint64_t n = size_;
  auto fail = [&](const std::string& problem) -> void {
    throw Error(ErrorKind::input, file, problem, kTruncatedHint);
  };
  // The end-of-central-directory record sits in the last 22 + comment bytes.
  std::uint64_t eocd = 0;
  bool found = false;
  std::vector<std::uint8_t> tail;
  if (n >= kEndSize) {
    const std::uint64_t lowest = n - kEndSize > kMaxComment ? n - kEndSize - kMaxComment : 0;
    tail = bytes_at(lowest, n - lowest);
    for (std::uint64_t pos = n - kEndSize + 1; pos-- > lowest;) {
      if (le(&tail[pos - lowest], 4) == kEndOfCentral) {
        eocd = pos;
        found = true;
        break;
      }
    }
  }
  if (!found) fail("not a zip archive (no end of central directory record)");
  const std::uint64_t lowest = n - kEndSize > kMaxComment ? n - kEndSize - kMaxComment : 0;
  tail.erase(tail.begin(), tail.begin() + static_cast<std::ptrdiff_t>(eocd - lowest));
  const std::uint8_t* e = tail.data();
  std::uint64_t count = le(e + 10, 2);
  std::uint64_t cd_size = le(e + 12, 4);
  std::uint64_t cd_offset = le(e + 16, 4);
  if (count == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) {
    // Zip64: a locator just before the record points at the zip64 end record.
    const auto locator = eocd < 20 ? std::vector<std::uint8_t>{} : bytes_at(eocd - 20, 20);
    if (locator.empty() || le(locator.data(), 4) != kZip64Locator) {
      fail("zip64 archive without its zip64 locator");
    }
    const std::uint64_t z = le(&locator[8], 8);
    const auto record = z > n || n - z < 56 ? std::vector<std::uint8_t>{} : bytes_at(z, 56);
    if (record.empty() || le(record.data(), 4) != kZip64End) {
      fail("zip64 end of central directory record is missing");
    }
    count = le(&record[32], 8);
    cd_size = le(&record[40], 8);
    cd_offset = le(&record[48], 8);
  }
  if (cd_offset > n || cd_size > n - cd_offset) fail("central directory lies outside the file");
  if (count > kMaxEntries) fail(fmt::format("zip archive claims {} entries", count));
  const std::vector<std::uint8_t> cd = bytes_at(cd_offset, cd_size);
  entries_.reserve(static_cast<std::size_t>(count));
  std::uint64_t pos = 0;
  const std::uint64_t end = cd_size;
  for (std::uint64_t i = 0; i < count; ++i) {
    if (end - pos < 46 || le(&cd[pos], 4) != kCentralHeader) {
      fail(fmt::format("central directory entry {} is damaged", i));
    }
    const std::uint8_t* h = &cd[pos];
    Entry entry;
    entry.flags = static_cast<std::uint16_t>(le(h + 8, 2));
    entry.method = static_cast<std::uint16_t>(le(h + 10, 2));
    entry.crc = static_cast<std::uint32_t>(le(h + 16, 4));
    entry.compressed_size = le(h + 20, 4);
    entry.size = le(h + 24, 4);
    const std::uint64_t name_len = le(h + 28, 2);
    const std::uint64_t extra_len = le(h + 30, 2);
    const std::uint64_t comment_len = le(h + 32, 2);
    entry.local_offset = le(h + 42, 4);
    if (end - pos - 46 < name_len + extra_len + comment_len) {
      fail(fmt::format("central directory entry {} is damaged", i));
    }
    entry.name.assign(reinterpret_cast<const char*>(h + 46), name_len);
    // Zip64 extended information replaces the fields that hold 0xFFFFFFFF, in this order.
    const std::uint8_t* x = h + 46 + name_len;
    const std::uint8_t* x_end = x + extra_len;
    while (x_end - x >= 4) {
      const std::uint64_t id = le(x, 2);
      const std::uint64_t len = le(x + 2, 2);
      if (static_cast<std::uint64_t>(x_end - x - 4) < len) break;
      if (id == 1) {
        const std::uint8_t* f = x + 4;
        const std::uint8_t* f_end = f + len;
        for (std::uint64_t* field : {&entry.size, &entry.compressed_size, &entry.local_offset}) {
          if (*field != 0xFFFFFFFF) continue;
          if (f_end - f < 8) fail(fmt::format("zip64 fields of '{}' are damaged", entry.name));
          *field = le(f, 8);
          f += 8;
        }
      }
      x += 4 + len;
    }
    entries_.push_back(std::move(entry));
    pos += 46 + name_len + extra_len + comment_len;
  }
}

const ZipArchive::Entry* ZipArchive::find(std::string_view name) const {
  for (const Entry& e : entries_) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

std::vector<std::uint8_t> ZipArchive::read(const Entry& entry, std::uint64_t limit,
                                           std::string_view what) const {
  const std::string file = path_.string();
  auto fail = [&](const std::string& problem, const std::string& hint) -> void {
    throw Error(ErrorKind::input, file, fmt::format("zip entry '{}': {}", entry.name, problem),
                hint);
  };
  if (entry.size > limit) {
    fail(fmt::format("declares {} bytes, over the limit of {} bytes for {}", entry.size, limit,
                     what),
         "a real checkpoint is far smaller; the file is corrupt or a decompression bomb");
  }
  const std::uint64_t n = size_;
  const std::uint64_t at = entry.local_offset;
  const auto local = at > n || n - at < 30 ? std::vector<std::uint8_t>{} : bytes_at(at, 30);
  if (local.empty() || le(local.data(), 4) != kLocalHeader) {
    fail("local header is missing", kTruncatedHint);
  }
  const std::uint64_t start = at + 30 + le(&local[26], 2) + le(&local[28], 2);
  if (start > n || n - start < entry.compressed_size) fail("data is cut short", kTruncatedHint);
  if ((entry.flags & 1U) != 0) fail("is encrypted", "hires reads only unencrypted archives");
  if (entry.method != 0 && entry.method != 8) {
    fail(fmt::format("uses compression method {}", entry.method),
         "hires reads stored (0) and deflate (8) entries; re-save the checkpoint with torch.save");
  }
  if (entry.method == 0 && entry.compressed_size != entry.size) {
    fail("stored sizes disagree", kTruncatedHint);
  }
  // Deflate expands at most ~1032:1: a larger declared size is a lie (a zip bomb).
  if (entry.method == 8 && entry.size / 1032 > entry.compressed_size + 1) {
    fail(fmt::format("claims {} bytes from {} compressed", entry.size, entry.compressed_size),
         kTruncatedHint);
  }
  std::vector<std::uint8_t> out = bytes_at(start, entry.compressed_size);
  if (entry.method == 8) out = inflate_entry(out.data(), entry, fail);
  const uLong crc = crc32_z(crc32(0L, Z_NULL, 0), out.data(), out.size());
  if (crc != entry.crc) {
    fail(fmt::format("CRC-32 is {:08x}, expected {:08x}", crc, entry.crc), kTruncatedHint);
  }
  return out;
}

}  // namespace hires::models
