// Segment files of a resumable video job: one encoder's packets after its global header, in a
// small format of our own (a container would round or rewrite timestamps). Little-endian:
//   "HRSSEG01", u32 header size, header; per packet: u32 size, i64 pts, i64 dts, i64 duration,
//   u8 key flag, payload.
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "hires/error.hpp"
#include "io/durable_file.hpp"
#include "io/video.hpp"

namespace hires::io {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kMagic = "HRSSEG01";
constexpr std::size_t kFlushAt = std::size_t{1} << 20;

template <class T>
void put(std::string& out, T v) {
  char b[sizeof v];
  std::memcpy(b, &v, sizeof v);
  out.append(b, sizeof v);
}

}  // namespace

SegmentWriter::SegmentWriter(fs::path path, const std::vector<std::uint8_t>& extradata)
    : path_(std::move(path)), part_(path_.string() + ".part") {
  fd_ = ::open(part_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw Error(ErrorKind::output, part_.string(),
                fmt::format("cannot write: {}", std::strerror(errno)));
  }
  std::string head(kMagic);
  put(head, static_cast<std::uint32_t>(extradata.size()));
  head.append(extradata.begin(), extradata.end());
  buffer_ = std::move(head);
}

SegmentWriter::~SegmentWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(part_.c_str());
}

void SegmentWriter::flush() {
  write_all(fd_, buffer_, part_);
  facts_.digest = digest(buffer_, facts_.digest);
  facts_.bytes += buffer_.size();
  buffer_.clear();
}

void SegmentWriter::write(const VideoPacket& p) {
  put(buffer_, static_cast<std::uint32_t>(p.data.size()));
  put(buffer_, p.pts);
  put(buffer_, p.dts);
  put(buffer_, p.duration);
  put(buffer_, static_cast<std::uint8_t>(p.key ? 1 : 0));
  buffer_.append(p.data.begin(), p.data.end());
  if (buffer_.size() >= kFlushAt) flush();
}

SegmentFacts SegmentWriter::commit() {
  flush();
  if (::fsync(fd_) != 0 || ::close(fd_) != 0) {
    fd_ = -1;
    throw Error(ErrorKind::output, part_.string(),
                fmt::format("cannot sync: {}", std::strerror(errno)));
  }
  fd_ = -1;
  if (::rename(part_.c_str(), path_.c_str()) != 0) {
    throw Error(ErrorKind::output, path_.string(),
                fmt::format("cannot move the segment in place: {}", std::strerror(errno)));
  }
  committed_ = true;
  sync_folder(path_.parent_path());
  return facts_;
}

SegmentReader::SegmentReader(fs::path path) : path_(std::move(path)) {
  std::ifstream in(path_, std::ios::binary);
  if (!in) throw Error(ErrorKind::input, path_.string(), "cannot read the segment");
  bytes_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  std::uint32_t size = 0;
  const bool magic = bytes_.compare(0, kMagic.size(), kMagic) == 0;
  at_ = magic ? kMagic.size() : 0;
  if (!magic || !take(size) || bytes_.size() - at_ < size) {
    throw Error(ErrorKind::input, path_.string(), "is not a whole video segment");
  }
  extradata_.assign(bytes_.begin() + static_cast<std::ptrdiff_t>(at_),
                    bytes_.begin() + static_cast<std::ptrdiff_t>(at_ + size));
  at_ += size;
}

template <class T>
bool SegmentReader::take(T& v) {
  if (bytes_.size() - at_ < sizeof v) return false;
  std::memcpy(&v, bytes_.data() + at_, sizeof v);
  at_ += sizeof v;
  return true;
}

bool SegmentReader::next(VideoPacket& p) {
  if (at_ == bytes_.size()) return false;
  std::uint32_t size = 0;
  std::uint8_t key = 0;
  if (!take(size) || !take(p.pts) || !take(p.dts) || !take(p.duration) || !take(key) ||
      bytes_.size() - at_ < size) {
    throw Error(ErrorKind::input, path_.string(), "is not a whole video segment");
  }
  p.key = key != 0;
  p.data.assign(bytes_.begin() + static_cast<std::ptrdiff_t>(at_),
                bytes_.begin() + static_cast<std::ptrdiff_t>(at_ + size));
  at_ += size;
  return true;
}

std::optional<SegmentFacts> segment_facts(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) return std::nullopt;
  return SegmentFacts{size, file_digest(path, size)};
}

}  // namespace hires::io
