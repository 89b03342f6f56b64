// The HTTP server: security checks on every request, the page, the API and the sweeper.
#include "serve.hpp"

#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <condition_variable>
#include <thread>

#include "api.hpp"
#include "assets.hpp"
#include "hires/error.hpp"

namespace hires::server {
namespace {

constexpr const char* kCookie = "hires_token";

bool is_loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host == "[::1]";
}

// Compares without stopping at the first difference (the token is a secret).
bool same_secret(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string cookie_token(const httplib::Request& req) {
  const std::string cookies = req.get_header_value("Cookie");
  const std::string key = std::string(kCookie) + "=";
  std::size_t at = 0;
  while ((at = cookies.find(key, at)) != std::string::npos) {
    if (at == 0 || cookies[at - 1] == ' ' || cookies[at - 1] == ';') {
      const std::size_t start = at + key.size();
      return cookies.substr(start, cookies.find(';', start) - start);
    }
    at += key.size();
  }
  return {};
}

}  // namespace

struct Service::State {
  ServeOptions options;
  Store store;
  JobQueue jobs;
  Context context;
  httplib::Server http;
  int port = 0;
  std::thread sweeper;
  std::mutex mutex;
  std::condition_variable stop_sweeping;
  bool stopping = false;

  explicit State(ServeOptions o)
      : options(std::move(o)),
        store(options.temp_parent, options.ttl),
        jobs(options.jobs),
        context(options, store, jobs) {}

  // The Host header names this server (a page of another site that rebinds its name to
  // 127.0.0.1 sends its own name); on 0.0.0.0 any name, the token being the guard.
  bool host_allowed(const std::string& host) const {
    if (options.host == "0.0.0.0" || options.host == "::") return true;
    const std::string port_text = ":" + std::to_string(port);
    if (host == options.host + port_text) return true;
    if (!is_loopback(options.host)) return false;
    return host == "127.0.0.1" + port_text || host == "localhost" + port_text ||
           host == "[::1]" + port_text;
  }

  httplib::Server::HandlerResponse guard(const httplib::Request& req, httplib::Response& res) {
    const std::string host = req.get_header_value("Host");
    if (!host_allowed(host)) {
      reply_error(res, 403, fmt::format("Host '{}' is not this server's address", host));
      return httplib::Server::HandlerResponse::Handled;
    }
    const std::string origin = req.get_header_value("Origin");
    if (!origin.empty() && origin != "http://" + host) {
      reply_error(res, 403, fmt::format("requests from '{}' are not allowed", origin));
      return httplib::Server::HandlerResponse::Handled;
    }
    std::string token = req.get_param_value("token");
    if (token.empty()) token = req.get_header_value("X-Hires-Token");
    if (token.empty()) token = cookie_token(req);
    if (!same_secret(token, options.token)) {
      reply_error(res, 401,
                  "missing or wrong access token: open the address `hires serve` printed");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.has_param("token")) {
      res.set_header("Set-Cookie", fmt::format("{}={}; Path=/; HttpOnly; SameSite=Strict", kCookie,
                                               options.token));
    }
    return httplib::Server::HandlerResponse::Unhandled;
  }

  void sweep_until_stopped() {
    std::unique_lock<std::mutex> lock(mutex);
    // Often enough that nothing outlives its TTL by more than half of it (at most 30 s).
    const auto every =
        std::clamp(options.ttl / 2, std::chrono::seconds(1), std::chrono::seconds(30));
    while (!stop_sweeping.wait_for(lock, every, [this] { return stopping; })) {
      lock.unlock();
      jobs.forget_older_than(options.ttl);
      store.sweep();
      lock.lock();
    }
  }
};

Service::Service(ServeOptions options) {
  if (options.token.empty()) options.token = random_hex();
  state_ = std::make_unique<State>(std::move(options));
  State& s = *state_;
  // NOLINTNEXTLINE(cppcoreguidelines-owning-memory): cpp-httplib takes ownership of the pool
  s.http.new_task_queue = [] { return new httplib::ThreadPool(8); };
  s.http.set_payload_max_length(s.options.max_upload_bytes + (1U << 20));
  s.http.set_default_headers({
      {"X-Content-Type-Options", "nosniff"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "no-referrer"},
      {"Cache-Control", "no-store"},
      {"Content-Security-Policy",
       "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; frame-ancestors 'none'"},
  });
  s.http.set_pre_routing_handler(
      [&s](const httplib::Request& req, httplib::Response& res) { return s.guard(req, res); });
  s.http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, const std::exception_ptr& ep) {
        std::string what = "unknown error";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        reply_error(res, 500, "internal error: " + what);
      });
  s.http.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        reply_error(res, res.status,
                    res.status == 404   ? "not found"
                    : res.status == 413 ? "the request is over the upload limit"
                                        : fmt::format("bad request (HTTP {})", res.status));
        return httplib::Server::HandlerResponse::Handled;
      }));
  for (const Asset& a : web_assets()) {
    s.http.Get(std::string(a.path), [&a](const httplib::Request&, httplib::Response& res) {
      res.set_content(a.body.data(), a.body.size(), std::string(a.mime).c_str());
    });
  }
  add_api_routes(s.http, s.context);
}

Service::~Service() {
  stop();
  if (state_->sweeper.joinable()) state_->sweeper.join();
}

int Service::bind() {
  State& s = *state_;
  s.port = s.options.port == 0
               ? s.http.bind_to_any_port(s.options.host)
               : (s.http.bind_to_port(s.options.host, s.options.port) ? s.options.port : -1);
  if (s.port <= 0) {
    throw Error(ErrorKind::usage, fmt::format("{}:{}", s.options.host, s.options.port),
                "cannot listen there", "the port may be in use: try --port 0 for any free one");
  }
  return s.port;
}

std::string Service::url() const {
  const State& s = *state_;
  const bool v6 = s.options.host.find(':') != std::string::npos;
  const std::string host = v6 ? "[" + s.options.host + "]" : s.options.host;
  return fmt::format("http://{}:{}/?token={}", host, s.port, s.options.token);
}

void Service::run() {
  State& s = *state_;
  s.sweeper = std::thread([&s] { s.sweep_until_stopped(); });
  s.http.listen_after_bind();
}

void Service::stop() {
  State& s = *state_;
  {
    const std::lock_guard<std::mutex> lock(s.mutex);
    s.stopping = true;
  }
  s.stop_sweeping.notify_all();
  s.http.stop();
}

}  // namespace hires::server
