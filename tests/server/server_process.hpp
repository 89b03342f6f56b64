// `hires serve` as the tests use it: the real binary on a free port, its address read from its
// first line, stopped with SIGTERM at the end; and an HTTP client that carries the token.
#pragma once

#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "support/test_support.hpp"

namespace hires::test {

class ServerProcess {
 public:
  // Starts `hires serve --port 0 ARGS...` with TMPDIR set to `tmp` (so the test can look at
  // what it stores).
  ServerProcess(const std::filesystem::path& tmp, const std::vector<std::string>& args = {}) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], 1);
      close(fds[0]);
      setenv("TMPDIR", tmp.c_str(), 1);
      std::vector<std::string> all{HIRES_BINARY, "serve", "--port", "0"};
      all.insert(all.end(), args.begin(), args.end());
      std::vector<char*> argv;
      for (auto& a : all) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(fds[1]);
    // The first line: "hires: serving http://127.0.0.1:PORT/?token=TOKEN".
    std::string line;
    char c = 0;
    while (read(fds[0], &c, 1) == 1 && c != '\n') line += c;
    out_fd_ = fds[0];
    const auto at = line.find("http://");
    if (at == std::string::npos) throw std::runtime_error("no address from hires serve: " + line);
    url = line.substr(at);
    const auto colon = url.find(':', 7);
    const auto slash = url.find('/', colon);
    host = url.substr(7, colon - 7);
    port = std::stoi(url.substr(colon + 1, slash - colon - 1));
    token = url.substr(url.find("token=") + 6);
  }
  ~ServerProcess() { stop(); }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // SIGTERM, then waits; the exit status.
  int stop() {
    if (pid_ <= 0) return status_;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = 0;
    close(out_fd_);
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return status_;
  }
  bool running() const { return pid_ > 0 && kill(pid_, 0) == 0; }

  // Peak resident memory of the server so far, in MB (VmHWM).
  double peak_rss_mb() const {
    const std::string status = read_file("/proc/" + std::to_string(pid_) + "/status");
    const auto at = status.find("VmHWM:");
    return at == std::string::npos ? 0 : std::stod(status.substr(at + 6)) / 1024.0;
  }

  // A client with the token in a header.
  httplib::Client client() const {
    httplib::Client c(host, port);
    c.set_default_headers({{"X-Hires-Token", token}});
    c.set_read_timeout(120, 0);
    return c;
  }

  std::string url, host, token;
  int port = 0;

 private:
  pid_t pid_ = 0;
  int out_fd_ = -1;
  int status_ = -1;
};

inline nlohmann::json body_of(const httplib::Result& r) {
  if (!r) return nullptr;
  return nlohmann::json::parse(r->body, nullptr, false);
}

// Polls a job until it is no longer queued or running (at most `limit`).
inline nlohmann::json wait_for_job(httplib::Client& c, const std::string& job,
                                   std::chrono::seconds limit = std::chrono::seconds(120)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  for (;;) {
    nlohmann::json j = body_of(c.Get(("/api/jobs/" + job).c_str()));
    const std::string state = j.is_object() ? j.value("state", "") : "";
    if ((state != "queued" && state != "running") || std::chrono::steady_clock::now() > until) {
      return j;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace hires::test
