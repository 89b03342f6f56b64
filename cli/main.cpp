// The `hires` command: parse (CLI11) -> options -> library -> messages and exit code.
// Exit codes: 0 all done (or skipped), 1 a file failed, 2 a usage error.
#include <fmt/format.h>
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "hires/batch.hpp"
#include "hires/error.hpp"
#include "hires/guide.hpp"
#include "hires/hires.hpp"
#include "hires/models.hpp"
#include "hires/pipeline.hpp"
#include "json_line.hpp"
#include "parse_errors.hpp"
#include "progress.hpp"
#include "sizing.hpp"
#include "upscale_args.hpp"

namespace {

using hires::Error;
using hires::ErrorKind;
using hires::cli::UpscaleArgs;
using nlohmann::json;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

json size_json(hires::Size s) {
  return {{"width", s.width}, {"height", s.height}};
}

class Reporter {
 public:
  Reporter(bool json_mode, bool quiet, bool verbose)
      : json_(json_mode),
        quiet_(quiet),
        verbose_(verbose),
        bar_(!json_mode && !quiet && isatty(STDERR_FILENO) != 0) {}

  void on_event(const hires::JobEvent& e) {
    using T = hires::JobEvent::Type;
    const std::string in = e.job->input.string();
    const std::string out = e.job->output.string();
    // Names on the terminal are escaped (a file name can hold terminal control sequences);
    // JSON lines carry them as they are (json_line makes them valid UTF-8).
    const std::string shown_in = hires::printable(in);
    const std::string shown_out = hires::printable(out);
    switch (e.type) {
      case T::start:
        last_fraction_ = -1;
        if (json_)
          emit({{"event", "start"},
                {"input", in},
                {"output", out},
                {"index", e.index + 1},
                {"total", e.total}});
        bar_.start(e.total > 1 ? fmt::format("[{}/{}] {}", e.index + 1, e.total, shown_in)
                               : shown_in);
        break;
      case T::progress: {
        // Whole thousandths, each at most once: a repeat says nothing new.
        const double fraction = std::round(e.fraction * 1000.0) / 1000.0;
        if (fraction <= last_fraction_) break;
        last_fraction_ = fraction;
        const double overall =
            e.total > 0 ? (static_cast<double>(e.index) + fraction) / static_cast<double>(e.total)
                        : fraction;
        if (json_) {
          json j{{"event", "progress"},  {"input", in},
                 {"fraction", fraction}, {"index", e.index + 1},
                 {"total", e.total},     {"overall", std::round(overall * 1000.0) / 1000.0}};
          if (const auto eta = bar_.batch_eta(overall)) j["eta_seconds"] = std::round(*eta);
          emit(j);
        }
        bar_.update(fraction, e.total > 1 ? overall : -1.0);
        break;
      }
      case T::done: {
        bar_.clear();
        const hires::FileResult& r = *e.result;
        for (const auto& n : r.notices) {
          if (!quiet_ && !json_)
            fmt::print(stderr, "hires: notice: {}: {}\n", shown_in, hires::cli::cli_text(n));
        }
        if (json_) {
          json j{{"event", "done"},
                 {"input", in},
                 {"output", out},
                 {"in", size_json(r.in_size)},
                 {"out", size_json(r.out_size)},
                 {"bytes", r.bytes},
                 {"seconds", e.seconds},
                 {"notices", hires::cli::cli_texts(r.notices)}};
          if (r.dpi) j["dpi"] = *r.dpi;
          if (r.quality > 0) j["quality"] = r.quality;
          if (r.model_passes > 0) j["model_passes"] = r.model_passes;
          if (!r.engine.empty()) j["engine"] = r.engine;
          if (!r.model.empty()) j["model"] = r.model;
          if (!r.reason.empty()) j["reason"] = r.reason;
          emit(j);
        } else if (!quiet_) {
          std::string extra = r.dpi ? fmt::format(", {:g} DPI", *r.dpi) : "";
          if (r.quality > 0) extra += fmt::format(", quality {}", r.quality);
          if (r.model_passes > 0) {
            extra += fmt::format(", {} ({} pass{})", r.model, r.model_passes,
                                 r.model_passes > 1 ? "es" : "");
          } else if (!r.model.empty()) {
            extra += ", " + r.model;
          }
          fmt::print(stderr, "{} -> {} ({}x{} -> {}x{}{}, {}, {:.1f}s)\n", shown_in, shown_out,
                     r.in_size.width, r.in_size.height, r.out_size.width, r.out_size.height, extra,
                     hires::format_bytes(r.bytes), e.seconds);
          if (verbose_ && !r.reason.empty()) {
            fmt::print(stderr, "hires: model: {} ({})\n", r.model, r.reason);
          }
          if (verbose_ && !r.engine.empty()) {
            const char* policy = std::getenv("OMP_WAIT_POLICY");
            fmt::print(stderr, "hires: engine: {} ({}; OMP_WAIT_POLICY={})\n", r.engine,
                       r.engine_reason, policy != nullptr ? policy : "unset");
          }
        }
        break;
      }
      case T::skipped:
        if (json_)
          emit({{"event", "skipped"},
                {"input", in},
                {"output", out},
                {"reason", hires::cli::cli_text(e.message)},
                {"index", e.index + 1},
                {"total", e.total}});
        else if (!quiet_)
          fmt::print(stderr, "hires: skipped: {}: {}\n", e.job->skip.empty() ? shown_out : shown_in,
                     hires::cli::cli_text(e.message));
        break;
      case T::error:
        bar_.clear();
        if (json_)
          emit({{"event", "error"},
                {"input", in},
                {"output", out},
                {"message", hires::cli::error_for_cli(e.message)}});
        fmt::print(stderr, "hires: error: {}\n", hires::cli::error_for_cli(e.message));
        break;
    }
  }

  void summary(const hires::BatchSummary& s, std::size_t total) {
    if (json_) {
      json failures = json::array();
      for (const auto& [path, msg] : s.failures)
        failures.push_back({{"input", path.string()}, {"message", hires::cli::error_for_cli(msg)}});
      emit({{"event", "summary"},
            {"done", s.done},
            {"skipped", s.skipped},
            {"failed", s.failed},
            {"failures", failures}});
    }
    if (total > 1) {
      if (!quiet_ || s.failed > 0) {
        fmt::print(stderr, "hires: {} done, {} skipped, {} failed\n", s.done, s.skipped, s.failed);
      }
      if (s.failed > 0) {
        for (const auto& [path, msg] : s.failures)
          fmt::print(stderr, "  failed: {}\n", hires::cli::error_for_cli(msg));
      }
    }
  }

 private:
  static void emit(const json& j) { std::cout << hires::cli::json_line(j) << '\n' << std::flush; }
  bool json_;
  bool quiet_;
  bool verbose_;
  double last_fraction_ = -1;  // of the current job's progress events
  hires::cli::ProgressBar bar_;
};

int run_upscale(const UpscaleArgs& a) {
  const hires::UpscaleOptions options = hires::cli::upscale_options(a);
  hires::BatchRequest req;
  for (const auto& in : a.inputs) req.inputs.emplace_back(in);
  if (a.options.given("output")) req.output = a.options.text("output");
  req.recursive = a.options.flag("recursive");
  req.format = options.encode.format;
  const std::vector<hires::Job> jobs = hires::plan_jobs(req);
  hires::check_jobs(jobs, options.encode);

  const bool as_json = a.options.flag("json");
  Reporter reporter(as_json, a.options.flag("quiet"), a.options.flag("verbose"));
  const hires::BatchSummary s = hires::run_jobs(jobs, options, [&](const hires::JobEvent& e) {
    reporter.on_event(e);
    if (a.options.flag("review") && e.type == hires::JobEvent::Type::done) {
      hires::cli::review_after_upscale(e.job->input, e.job->output, as_json);
    }
  });
  reporter.summary(s, jobs.size());
  return s.failed > 0 ? kExitFailed : kExitOk;
}

int run_models(bool as_json, const std::vector<std::string>& dirs_given) {
  struct Entry {
    const char* name;
    const char* what;
  };
  const std::vector<Entry> entries{
      {"nearest", "nearest neighbour: hard pixel edges, for pixel art"},
      {"bilinear", "bilinear interpolation in linear light: soft"},
      {"bicubic", "bicubic (Catmull-Rom) in linear light"},
      {"lanczos", "Lanczos-3 in linear light: the sharpest classic method"},
  };
  for (const std::string& d : dirs_given) {
    std::error_code ec;
    if (!std::filesystem::is_directory(d, ec)) {
      throw Error(ErrorKind::usage, "--models-dir", fmt::format("'{}' is not a folder", d));
    }
  }
  std::vector<hires::ModelInfo> found = hires::builtin_models();
  for (auto& m : hires::list_models(hires::cli::model_dirs(dirs_given)))
    found.push_back(std::move(m));
  if (as_json) {
    json list = json::array();
    for (const auto& e : entries) {
      list.push_back({{"name", e.name},
                      {"architecture", "classic"},
                      {"scale", "any"},
                      {"builtin", true},
                      {"description", e.what}});
    }
    for (const auto& m : found) {
      list.push_back({{"name", m.name},
                      {"architecture", m.architecture},
                      {"format", m.format},
                      {"variant", m.variant},
                      {"scale", m.scale},
                      {"parameters", m.parameters},
                      {"builtin", m.builtin},
                      {"source", m.source.string()},
                      {"license", m.license}});
    }
    std::cout << list.dump(2) << '\n';
    return kExitOk;
  }
  fmt::print("{:<24} {:<13} {:<6} {}\n", "NAME", "ARCHITECTURE", "SCALE", "DESCRIPTION");
  for (const auto& e : entries) {
    fmt::print("{:<24} {:<13} {:<6} {}\n", e.name, "classic", "any", e.what);
  }
  for (const auto& m : found) {
    // Names, licences and paths come from files: shown escaped.
    fmt::print("{:<24} {:<13} {:<6} {:.2f} M parameters, {}{}{}\n", hires::printable(m.name),
               m.architecture, fmt::format("{}x", m.scale), m.parameters / 1e6,
               m.variant.empty() ? "" : m.variant + ", ",
               m.license.empty() ? "" : "licence " + hires::printable(m.license) + ", ",
               hires::printable(m.source.string()));
  }
  return kExitOk;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// `hires IMAGE -o OUT` means `hires upscale IMAGE -o OUT`. A first word that is no file and
// looks like a mistyped command (`hires chek photo.jpg`) is a usage error, not an upscale.
std::vector<std::string> with_default_command(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty()) {
    const std::string& first = args.front();
    bool known = first == "help" || first == "-h" || first == "--help" || first == "--version";
    for (const char* name : hires::cli::command_names()) known = known || first == name;
    std::error_code ec;
    if (!known && first.rfind('-', 0) != 0 && !std::filesystem::exists(first, ec) &&
        first.find_first_of("./\\") == std::string::npos) {
      for (const char* name : hires::cli::command_names()) {
        if (edit_distance(first, name) <= 2) {
          throw Error(ErrorKind::usage, first, "is not a command or a file",
                      fmt::format("did you mean {}?", name));
        }
      }
    }
    if (!known) args.insert(args.begin(), "upscale");
  }
  std::reverse(args.begin(), args.end());  // CLI11 takes a reversed vector
  return args;
}

}  // namespace

const std::vector<const char*>& hires::cli::command_names() {
  // Keep in step with the sub-commands registered in run().
  static const std::vector<const char*> names{"upscale", "models",  "eval",   "check", "review",
                                              "presets", "serve",   "plan",   "run",   "report",
                                              "video",   "devices", "options"};
  return names;
}

namespace {

int run(int argc, char** argv) {
  CLI::App app{"hires: upscale images locally, keeping colour profile, metadata and transparency",
               "hires"};
  app.set_version_flag("--version", "hires 0.1.0");
  app.require_subcommand(1);
  app.footer("Example: hires photo.jpg -o big.jpg --print 8x10in@300");

  UpscaleArgs up;
  CLI::App* upscale = app.add_subcommand("upscale", "Upscale images (the default command)");
  hires::cli::add_upscale_options(*upscale, up);

  bool models_json = false;
  std::vector<std::string> models_dirs;
  CLI::App* models = app.add_subcommand("models", "List the available methods and models");
  models->add_flag("--json", models_json, "As JSON");
  models->add_option("--models-dir", models_dirs, "Folder with model files (repeatable)");

  // Further sub-commands (see cli/commands.hpp): one line each.
  std::vector<hires::cli::Command> commands{
      hires::cli::add_eval_command(app),   hires::cli::add_check_command(app),
      hires::cli::add_review_command(app), hires::cli::add_presets_command(app),
      hires::cli::add_serve_command(app),  hires::cli::add_plan_command(app),
      hires::cli::add_run_command(app),    hires::cli::add_report_command(app),
      hires::cli::add_video_command(app),  hires::cli::add_devices_command(app),
      hires::cli::add_options_command(app)};

  if (argc <= 1) {
    fmt::print(stderr, "{}", app.help());
    return kExitUsage;
  }
  std::vector<std::string> args;
  try {
    args = with_default_command(argc, argv);
  } catch (const Error& e) {
    fmt::print(stderr, "hires: error: {}\n", hires::cli::for_cli(e).what());
    return kExitUsage;
  }
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "hires: error: {}\n", hires::cli::reword_parse_error(e));
    return kExitUsage;
  }

  try {
    if (*models) return run_models(models_json, models_dirs);
    for (const auto& c : commands) {
      if (*c.app) return c.run();
    }
    return run_upscale(up);
  } catch (const Error& e) {
    fmt::print(stderr, "hires: error: {}\n", hires::cli::for_cli(e).what());
    return e.kind() == ErrorKind::usage ? kExitUsage : kExitFailed;
  } catch (const std::exception& e) {
    fmt::print(stderr, "hires: error: {}\n", e.what());
    return kExitFailed;
  }
}

// libgomp (the OpenMP runtime under oneDNN and our kernels) reads OMP_WAIT_POLICY once, as it
// loads, before main. Its default lets idle threads spin, which on a busy machine made an
// RRDBNet pass 6x slower (docs/BENCHMARKS.md) and gains nothing measurable on an idle one. Unless
// the user chose a policy, hires starts itself again with the passive one.
void prefer_passive_openmp(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0) return;
  execv("/proc/self/exe", argv);  // returns only when it failed: go on as we are
}

}  // namespace

int main(int argc, char** argv) {
  prefer_passive_openmp(argv);
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hires: error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "hires: error: unexpected failure\n");
  }
  return kExitFailed;
}
