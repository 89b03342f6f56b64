// `hires serve`: the local web app. A real HTTP server (cpp-httplib) serving one page, embedded at
// build time, and a JSON API over the same library calls as the CLI (check_file, plan_upscale,
// upscale_file, review_files).
//
//   hires::server::ServeOptions o;          // 127.0.0.1:8080, a random access token
//   hires::server::Service service(o);
//   service.bind();                         // the port (0 = any free one)
//   std::cout << service.url() << "\n";     // http://127.0.0.1:8080/?token=...
//   service.run();                          // until service.stop() (from another thread)
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "hires/hires.hpp"

namespace hires::server {

struct ServeOptions {
  std::string host = "127.0.0.1";  // anything else exposes the app on the network
  int port = 8080;                 // 0: any free port
  std::string token;               // every request must carry it; empty: a random one
  std::vector<std::filesystem::path> model_dirs;  // besides the built-in models
  std::uint64_t max_upload_bytes = 200'000'000;
  Limits limits;                      // pixels in and out, as the CLI's
  int jobs = 1;                       // full runs at once (the rest queue); previews have their own
  std::chrono::seconds ttl{3600};     // uploads and results unused this long are deleted
  std::filesystem::path temp_parent;  // where the private folder goes (default: $TMPDIR)
  int threads = 0;                    // worker threads per job (0 = all cores)
  BackendKind backend = BackendKind::automatic;  // for every job
  int gpu = -1;                                  // the Vulkan device (-1 = the best one)
};

class Service {
 public:
  explicit Service(ServeOptions options);
  ~Service();  // stops serving, cancels jobs, deletes the private folder
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Binds the address; returns the port. Throws Error(usage) when it cannot.
  int bind();
  // The address to open, with the access token: "http://127.0.0.1:8080/?token=...".
  std::string url() const;
  // Serves until stop() is called (from another thread or a signal handler's thread).
  void run();
  void stop();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace hires::server
