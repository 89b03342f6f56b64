#include "store.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cstdlib>
#include <random>

#include "hires/error.hpp"

namespace hires::server {
namespace fs = std::filesystem;

std::string random_hex() {
  std::random_device rd;  // /dev/urandom
  std::string out;
  for (int i = 0; i < 4; ++i) out += fmt::format("{:08x}", rd());
  return out;
}

std::string safe_name(std::string_view name) {
  const std::size_t slash = name.find_last_of("/\\");
  if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
  std::string out;
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '"' || c == '\'' || c == '`') continue;
    out += c;
  }
  while (!out.empty() && (out.front() == '.' || out.front() == ' ')) out.erase(0, 1);
  if (out.size() > 100) out = out.substr(out.size() - 100);
  return out.empty() ? "image" : out;
}

Store::Store(const fs::path& parent, std::chrono::seconds ttl) : ttl_(ttl) {
  const fs::path base = parent.empty() ? fs::temp_directory_path() : parent;
  std::string pattern = (base / "hires-serve-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {  // mode 0700
    throw Error(ErrorKind::output, base.string(), "cannot create a private folder for uploads",
                "set TMPDIR to a writable folder");
  }
  root_ = pattern;
}

Store::~Store() {
  std::error_code ec;
  fs::remove_all(root_, ec);
}

std::pair<std::string, fs::path> Store::make_folder() {
  const std::string id = random_hex();
  const fs::path dir = root_ / id;
  if (mkdir(dir.c_str(), 0700) != 0) {
    throw Error(ErrorKind::output, root_.string(), "cannot create a folder for an upload");
  }
  return {id, dir};
}

void Store::add(std::shared_ptr<StoredImage> image) {
  image->used = Clock::now();
  const std::lock_guard<std::mutex> lock(mutex_);
  images_[image->id] = std::move(image);
}

std::shared_ptr<StoredImage> Store::find(const std::string& id) {
  const std::lock_guard<std::mutex> lock(mutex_);
  const auto it = images_.find(id);
  if (it == images_.end()) return nullptr;
  it->second->used = Clock::now();
  return it->second;
}

bool Store::remove(const std::string& id) {
  std::shared_ptr<StoredImage> image;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    const auto it = images_.find(id);
    if (it == images_.end()) return false;
    image = it->second;
    images_.erase(it);
  }
  std::error_code ec;
  fs::remove_all(image->dir, ec);
  return true;
}

std::size_t Store::sweep() {
  std::vector<std::string> old;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    const auto now = Clock::now();
    for (const auto& [id, image] : images_) {
      if (image->busy == 0 && now - image->used > ttl_) old.push_back(id);
    }
  }
  for (const auto& id : old) remove(id);
  return old.size();
}

std::size_t Store::size() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return images_.size();
}

}  // namespace hires::server
