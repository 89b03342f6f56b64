// "Download all": finished results in one zip file (libzip; images are stored, not deflated).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace hires::server {

struct ZipEntry {
  std::filesystem::path file;
  std::string name;  // the name inside the zip; repeated names get " (2)", " (3)", ...
};

// Writes `entries` to a new zip file at `out`. Throws Error(output).
void write_zip(const std::filesystem::path& out, const std::vector<ZipEntry>& entries);

}  // namespace hires::server
