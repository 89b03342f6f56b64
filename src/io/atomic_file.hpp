// Writing a file atomically: into a temp file beside the target, then published by a rename that,
// unless replacing was asked for, never replaces a file another process wrote meanwhile.
#pragma once

#include <filesystem>
#include <string>

namespace hires::io {

// Throws Error(output) naming `target` when it exists and is not a regular file (a device such as
// /dev/null, a FIFO, a socket, a folder): such a path is never replaced, --overwrite or not.
void check_output_target(const std::filesystem::path& target);

// Throws Error(input) naming `input` when it is not a regular file (a FIFO, a device such as
// /dev/zero, a socket): reading one could wait forever or never end.
void check_input_file(const std::filesystem::path& input);

// Whether `name` (a file name) is one of hires' temp files: ".NAME.hires-PID-N.tmpEXT".
bool is_temp_name(const std::string& name);

// A temp file beside `target`, removed when this object goes without publish() and, until then,
// on SIGINT, SIGTERM or SIGHUP (the handler unlinks live temp files and re-raises the signal).
class TempFile {
 public:
  explicit TempFile(const std::filesystem::path& target);
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const std::filesystem::path& path() const { return temp_; }

  // Moves the temp file to the target. Without `replace` the target must not exist (checked
  // atomically: renameat2 RENAME_NOREPLACE, else link + unlink); with it, an existing regular
  // file is replaced. Throws Error(output) naming the target.
  void publish(bool replace);

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  int slot_ = -1;
  bool published_ = false;
};

// The temp name for `target` (".NAME.hires-PID-N.tmpEXT"), shortened to fit NAME_MAX.
std::filesystem::path temp_path_for(const std::filesystem::path& target);

}  // namespace hires::io
