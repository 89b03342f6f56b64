// `hires serve`: the local web app (server/serve.hpp). Prints the address to open, serves until
// Ctrl+C (SIGINT) or SIGTERM, then deletes everything it stored.
#include <fmt/format.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/wait.h>

#include <csignal>
#include <cstdio>
#include <memory>
#include <thread>

#include "commands.hpp"
#include "hires/error.hpp"
#include "hires/models.hpp"
#include "hires/plan.hpp"
#include "option_table.hpp"
#include "serve.hpp"
#include "upscale_args.hpp"

extern char** environ;

namespace hires::cli {
namespace {

struct ServeArgs {
  std::string host = "127.0.0.1";
  int port = 8080;
  bool open = false;
  std::string max_upload = "200M";
  int jobs = 1;
  std::string ttl = "1h";
  TableArgs options;  // the table's options serve takes: models folders, limits, threads
};

// "90s", "30m", "2h", "1d", or plain minutes: "45".
std::chrono::seconds parse_duration(const std::string& option, const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  const std::string unit = end != nullptr ? std::string(end) : std::string();
  double seconds_per = 0;
  if (unit.empty() || unit == "m") seconds_per = 60;
  if (unit == "s") seconds_per = 1;
  if (unit == "h") seconds_per = 3600;
  if (unit == "d") seconds_per = 86400;
  const double s = v * seconds_per;
  if (end == text.c_str() || seconds_per == 0 || !(s >= 1 && s <= 30 * 86400.0)) {
    throw Error(ErrorKind::usage, option,
                fmt::format("'{}' is not a duration from 1s to 30d", text),
                "e.g. 90s, 30m, 2h; a plain number is minutes");
  }
  return std::chrono::seconds(static_cast<long long>(s));
}

// Opens the page in the desktop's browser (xdg-open), when there is one.
void open_browser(const std::string& url) {
  pid_t pid = 0;
  std::string program = "xdg-open";
  std::vector<char*> argv{program.data(), const_cast<char*>(url.c_str()), nullptr};
  if (posix_spawnp(&pid, "xdg-open", nullptr, nullptr, argv.data(), environ) != 0) {
    fmt::print(stderr, "hires: cannot start a browser (xdg-open); open the address yourself\n");
  }
}

int run_serve(const ServeArgs& a) {
  server::ServeOptions o;
  o.host = a.host;
  o.port = a.port;
  o.model_dirs = model_dirs(a.options.list("models_dir"));
  o.max_upload_bytes = parse_bytes("--max-upload", a.max_upload);
  UpscaleOptions request;
  a.options.apply(request);
  o.limits = request.limits;
  o.jobs = a.jobs;
  o.ttl = parse_duration("--ttl", a.ttl);
  o.threads = request.threads;
  check_gpu_choice(request);
  o.backend = request.backend;
  o.gpu = request.gpu;

  // SIGINT and SIGTERM end the server through one thread that waits for them, so that the
  // store is deleted on the normal path (destructors), never from a signal handler.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  server::Service service(o);
  service.bind();
  fmt::print("hires: serving {}\n", service.url());
  fmt::print(
      "hires: open that address (it carries the access token); Ctrl+C stops and deletes "
      "the uploads\n");
  std::fflush(stdout);
  if (a.host != "127.0.0.1" && a.host != "localhost" && a.host != "::1") {
    fmt::print(stderr,
               "hires: warning: listening on {}: anyone on the network who has the "
               "address with its token can use this app\n",
               a.host);
  }
  if (a.open) open_browser(service.url());
  std::thread waiter([&service, stop_signals] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    service.stop();
  });
  service.run();
  // Ended by something else than a signal: wake the waiter so it can be joined.
  // NOLINTNEXTLINE(bugprone-bad-signal-to-kill-thread): SIGTERM is blocked and only sigwait'ed
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  return 0;
}

}  // namespace

Command add_serve_command(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "serve", "Start the web app: drop images, preview models on a crop, compare, download");
  cmd->add_option("--port", args->port, "Port (0 = any free one)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--host", args->host,
                  "Address to listen on; anything but 127.0.0.1 exposes the app to the network "
                  "(the access token still guards it)")
      ->capture_default_str();
  cmd->add_flag("--open", args->open, "Open the page in the browser");
  cmd->add_option("--max-upload", args->max_upload, "Largest upload, e.g. 50M")
      ->capture_default_str();
  args->options.add_keys(*cmd, {"models_dir", "max_pixels", "max_output_pixels"});
  cmd->add_option("--jobs", args->jobs, "Full runs at once; the rest wait in the queue")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  cmd->add_option("--ttl", args->ttl,
                  "How long an unused upload and its results are kept, e.g. 90s, 30m, 2h")
      ->capture_default_str();
  args->options.add_keys(*cmd, {"threads", "backend", "gpu"},
                         {{"threads", "Worker threads per job (0 = all cores)"}});
  return {cmd, [args] { return run_serve(*args); }};
}

}  // namespace hires::cli
