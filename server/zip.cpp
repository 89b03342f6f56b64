#include "zip.hpp"

#include <fmt/format.h>
#include <zip.h>

#include <memory>
#include <set>

#include "hires/error.hpp"

namespace hires::server {
namespace {

std::string unique_name(const std::string& name, std::set<std::string>& used) {
  std::string candidate = name;
  const std::filesystem::path p(name);
  for (int n = 2; used.contains(candidate); ++n) {
    candidate = fmt::format("{} ({}){}", p.stem().string(), n, p.extension().string());
  }
  used.insert(candidate);
  return candidate;
}

}  // namespace

void write_zip(const std::filesystem::path& out, const std::vector<ZipEntry>& entries) {
  int code = 0;
  zip_t* archive = zip_open(out.c_str(), ZIP_CREATE | ZIP_EXCL, &code);
  if (archive == nullptr) {
    throw Error(ErrorKind::output, out.string(), "cannot create the zip file");
  }
  std::set<std::string> used;
  const auto fail = [&](const std::string& what) {
    const std::string detail = zip_strerror(archive);
    zip_discard(archive);
    throw Error(ErrorKind::output, what, "cannot add it to the zip: " + detail);
  };
  for (const ZipEntry& e : entries) {
    zip_source_t* source = zip_source_file(archive, e.file.c_str(), 0, -1);
    if (source == nullptr) fail(e.name);
    const zip_int64_t index =
        zip_file_add(archive, unique_name(e.name, used).c_str(), source, ZIP_FL_ENC_UTF_8);
    if (index < 0) {
      zip_source_free(source);
      fail(e.name);
    }
    // Images are compressed already.
    zip_set_file_compression(archive, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0);
  }
  if (zip_close(archive) != 0) {
    const std::string detail = zip_strerror(archive);
    zip_discard(archive);
    throw Error(ErrorKind::output, out.string(), "cannot write the zip file: " + detail);
  }
}

}  // namespace hires::server
