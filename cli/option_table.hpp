// The CLI's side of the option table (hires/options.hpp): flag spellings, CLI11 registration,
// the given options as the table's values, errors and help texts in flag terms, and the README's
// option table (`hires options --markdown`). Only this file knows how an option is spelled.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "hires/error.hpp"
#include "hires/options.hpp"

namespace hires::cli {

// "--memory-budget" for memory_budget; "-s,--scale" with the short spelling for `names`.
std::string long_flag(std::string_view key);
std::string flag_names(const OptionSpec& spec);
std::string negation_flag(const OptionSpec& spec);  // "--no-srgb", "--keep-location"
// A library text with the table's `key` marks rendered as flags: "`restore`" -> "--restore".
std::string cli_text(std::string_view text);
std::vector<std::string> cli_texts(const std::vector<std::string>& texts);
// The error with its subject's keys ("scale and width") and its marked keys spelled as flags.
Error for_cli(const Error& e);
// An error message the library made ("subject: problem (hint)", Error::what()) in flag terms.
std::string error_for_cli(std::string_view message);

// Raw values of table options registered on a CLI11 command, by key. Registered options point
// into this object: it must outlive the parse and is not copied or moved.
class TableArgs {
 public:
  TableArgs() = default;
  TableArgs(const TableArgs&) = delete;
  TableArgs& operator=(const TableArgs&) = delete;

  // Registers the option on `cmd` (a command or an option group): its flags, help, default and
  // range. Integer options are typed (CLI11 checks the range), the others parsed by the table.
  CLI::Option* add(CLI::App& cmd, const OptionSpec& spec, std::string_view help = {});
  // Registers the options named by `keys`, for a command that takes some of the table's options
  // (check, serve, eval, video); `help` holds a command's own wording for some of them.
  void add_keys(CLI::App& cmd, std::initializer_list<std::string_view> keys,
                const std::map<std::string_view, std::string_view>& help = {});
  // Sets the request's fields that the given options decide (those the table has a setter for:
  // limits, threads, tile, backend, ...). Throws Error(usage) naming the key.
  void apply(UpscaleOptions& options) const;
  // The options given on the command line, parsed and checked by the table. Throws Error(usage)
  // naming the key.
  OptionValues values() const;
  bool given(std::string_view key) const;
  bool flag(std::string_view key) const;
  std::string text(std::string_view key) const;
  std::vector<std::string> list(std::string_view key) const;

 private:
  std::map<std::string, std::string, std::less<>> text_;
  std::map<std::string, std::vector<std::string>, std::less<>> lists_;
  std::map<std::string, std::int64_t, std::less<>> integers_;
  std::map<std::string, bool, std::less<>> flags_;
  std::map<std::string, const CLI::Option*, std::less<>> options_;
};

// The README's option table: one row an option (flags, meaning, default and range), in table
// order. A test compares it with README.md.
std::string options_markdown();

}  // namespace hires::cli
