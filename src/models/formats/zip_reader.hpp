// A minimal reader for the zip archives PyTorch checkpoints are (torch.save writes stored
// entries; archives re-packed by other tools may use deflate). It reads the central directory
// (zip64 included), finds entries by name and returns their bytes, checking sizes and CRC-32;
// from a file it reads only the directory and the entries asked for.
// Encrypted entries and compression methods other than stored (0) and deflate (8) are refused.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
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
  // Reads the file `path` on demand: its central directory now, an entry's bytes when read.
  explicit ZipArchive(std::filesystem::path path);

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
  void read_directory();
  // `n` bytes at `offset` (within the file) from memory or the file.
  std::vector<std::uint8_t> bytes_at(std::uint64_t offset, std::uint64_t n) const;

  std::filesystem::path path_;
  std::vector<std::uint8_t> bytes_;  // the whole file, or empty when read from file_
  mutable std::ifstream file_;
  std::uint64_t size_ = 0;
  std::vector<Entry> entries_;
};

// True when `bytes` start with a zip local file header ("PK\3\4").
bool looks_like_zip(const std::vector<std::uint8_t>& bytes);

}  // namespace hires::models
