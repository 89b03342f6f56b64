// A minimal reader for the zip archives PyTorch checkpoints are (torch.save writes stored
// entries; archives re-packed by other tools may use deflate). It reads the central directory
// (zip64 included), finds entries by name and returns their bytes, checking sizes and CRC-32.
// Encrypted entries and compression methods other than stored (0) and deflate (8) are refused.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace hires::models {

class ZipArchive {
 public:
  struct Entry {
    std::string name;
    std::uint16_t method = 0;  // 0 stored, 8 deflate
    std::uint16_t flags = 0;
    std::uint32_t crc = 0;
    std::uint64_t compressed_size = 0;
    std::uint64_t size = 0;
    std::uint64_t local_offset = 0;
  };

  // Takes the whole file's bytes; reads the central directory. Throws hires::Error(input) whose
  // subject is `path` when the bytes are not a readable zip archive.
  ZipArchive(std::filesystem::path path, std::vector<std::uint8_t> bytes);

  const std::vector<Entry>& entries() const { return entries_; }
  // The entry called `name`, or nullptr.
  const Entry* find(std::string_view name) const;
  // The entry's uncompressed bytes, at most `limit` of them: an entry that declares more is
  // refused before anything is inflated (`what` names the limit in the message, e.g. "the
  // pickle"), and inflating stops as soon as the output passes the declared size, so a lying
  // header allocates no more than it declared. Throws hires::Error(input) naming the file and the
  // entry when the entry is over the limit, truncated, corrupt (CRC mismatch), encrypted or
  // compressed with another method.
  std::vector<std::uint8_t> read(const Entry& entry, std::uint64_t limit,
                                 std::string_view what) const;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::vector<std::uint8_t> bytes_;
  std::vector<Entry> entries_;
};

// The whole file's bytes; throws hires::Error(input) naming it when it cannot be read.
std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& path);

// True when `bytes` start with a zip local file header ("PK\3\4").
bool looks_like_zip(const std::vector<std::uint8_t>& bytes);

}  // namespace hires::models
