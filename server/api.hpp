// The web app's JSON API: the routes and what they share.
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <semaphore>
#include <string>

#include "jobs.hpp"
#include "serve.hpp"
#include "store.hpp"

namespace hires::server {

struct Context {
  const ServeOptions& options;
  Store& store;
  JobQueue& jobs;
  std::counting_semaphore<64> decode_slots{2};  // uploads decoded at once (bounded memory)
  Context(const ServeOptions& o, Store& s, JobQueue& j) : options(o), store(s), jobs(j) {}
};

void add_api_routes(httplib::Server& server, Context& context);

// A reply {"error": message} with this status.
void reply_error(httplib::Response& res, int status, const std::string& message);

// The request's options (the page's form) as the library's: model, restore, size, polish and
// encode fields, validated by the library's own parsers (errors name the field). Sets `format`
// (the page's choice, or the input's own format when it can be written, else PNG).
struct ParsedOptions {
  UpscaleOptions options;
  Format format = Format::png;
};
ParsedOptions parse_options(const nlohmann::json& body, const StoredImage& image,
                            const ServeOptions& serve);

}  // namespace hires::server
