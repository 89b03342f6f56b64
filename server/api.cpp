// The JSON API: upload, plan, preview, run, progress, cancel, download, review, zip.
#include "api.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "hires/batch.hpp"
#include "hires/error.hpp"
#include "hires/guide.hpp"
#include "hires/options.hpp"
#include "hires/pipeline.hpp"
#include "options_json.hpp"
#include "zip.hpp"

namespace hires::server {
namespace fs = std::filesystem;
using httplib::Request;
using httplib::Response;
using nlohmann::json;

namespace {

constexpr const char* kJson = "application/json";
constexpr int kMaxPreviewSide = 512;
constexpr std::size_t kMaxVariants = 4;

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

void reply(Response& res, const json& j) {
  res.set_content(dump(j), kJson);
}

// True when an error's subject is a form field ("denoise", "scale and width"), not a path.
bool names_fields(const std::string& subject) {
  std::size_t at = 0;
  for (;;) {
    const std::size_t next = subject.find(" and ", at);
    const std::string part = subject.substr(at, next == std::string::npos ? next : next - at);
    if (find_option(part) == nullptr && part != "size" && part != "options") return false;
    if (next == std::string::npos) return true;
    at = next + 5;
  }
}

// An error of the library as the page shows it: the upload's name and the field, never the
// store's path.
std::string message_for(const std::string& name, const Error& e) {
  std::string m = name + ": " + (names_fields(e.subject()) ? e.subject() + ": " : "") + e.problem();
  if (!e.hint().empty()) m += " (" + e.hint() + ")";
  return field_text(m);
}

int status_for(const Error& e) {
  switch (e.kind()) {
    case ErrorKind::usage:
    case ErrorKind::input:
    case ErrorKind::limit:
      return 400;
    default:
      return 500;
  }
}

std::string mime_for(const fs::path& path) {
  const std::string ext = path.extension().string();
  if (ext == ".png") return "image/png";
  if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
  if (ext == ".webp") return "image/webp";
  if (ext == ".avif") return "image/avif";
  if (ext == ".tif" || ext == ".tiff") return "image/tiff";
  if (ext == ".zip") return "application/zip";
  return "application/octet-stream";
}

// Streams a file (results can be large); `attachment` names it for the browser's download.
void send_file(Response& res, const fs::path& path, const std::string& attachment = {}) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) {
    reply_error(res, 404, "the file is gone (it expired or was never made)");
    return;
  }
  if (!attachment.empty()) {
    res.set_header("Content-Disposition", fmt::format("attachment; filename=\"{}\"", attachment));
  }
  auto file = std::make_shared<std::ifstream>(path, std::ios::binary);
  res.set_content_provider(size, mime_for(path),
                           [file](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                             std::vector<char> buffer(std::min<std::size_t>(length, 1 << 20));
                             file->seekg(static_cast<std::streamoff>(offset));
                             file->read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
                             const auto got = file->gcount();
                             if (got <= 0) return false;
                             sink.write(buffer.data(), static_cast<std::size_t>(got));
                             return true;
                           });
}

json body_json(const Request& req) {
  if (req.body.empty()) return json::object();
  json j = json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    throw Error(ErrorKind::usage, "request", "the body is not a JSON object");
  }
  return j;
}

std::string stem_of(const std::string& name) {
  const std::string stem = fs::path(name).stem().string();
  return stem.empty() ? "image" : stem;
}

// The page's text for a variant: "auto", "photo-x4", "restore-x4 @ 0.50".
std::string variant_label(const json& v) {
  std::string model = v.value("model", std::string("auto"));
  if (model.empty()) model = "auto";
  if (v.contains("restore") && v["restore"].is_number()) {
    model += fmt::format(" @ {:.2f}", v["restore"].get<double>());
  }
  return model;
}

class Api {
 public:
  explicit Api(Context& c) : c_(c) {}

  // Reads the body to a file of the store as it arrives: an upload over the limit is refused
  // before it is stored, from its Content-Length, or as soon as it passes the limit.
  void upload(const Request& req, Response& res, const httplib::ContentReader& reader) {
    const std::string name = safe_name(req.get_param_value("name"));
    const std::uint64_t limit = c_.options.max_upload_bytes;
    const std::string length = req.get_header_value("Content-Length");
    if (!length.empty() && std::strtoull(length.c_str(), nullptr, 10) > limit) {
      reply_error(res, 413,
                  fmt::format("{}: {} is over the upload limit of {}", name,
                              format_bytes(std::strtoull(length.c_str(), nullptr, 10)),
                              format_bytes(limit)));
      return;
    }
    if (req.is_multipart_form_data()) {
      reply_error(res, 400, "send the file's bytes as the request body, with ?name=FILE");
      return;
    }
    auto [id, folder] = c_.store.make_folder();
    const fs::path dir = folder;  // a lambda below captures it (not a structured binding)
    const std::string ext = fs::path(name).extension().string();
    const fs::path path = dir / ("input" + (is_image_path(name) ? ext : std::string()));
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    std::uint64_t total = 0;
    bool over = false;
    bool write_failed = fd < 0;
    reader([&](const char* data, std::size_t n) {
      total += n;
      if (total > limit) {
        over = true;
        return false;
      }
      while (n > 0 && !write_failed) {
        const ssize_t w = ::write(fd, data, n);
        if (w <= 0) write_failed = true;
        data += w > 0 ? w : 0;
        n -= w > 0 ? static_cast<std::size_t>(w) : n;
      }
      return !write_failed;
    });
    if (fd >= 0) ::close(fd);
    const auto discard = [&] {
      std::error_code ec;
      fs::remove_all(dir, ec);
    };
    if (over) {
      discard();
      reply_error(res, 413,
                  fmt::format("{}: over the upload limit of {}", name, format_bytes(limit)));
      return;
    }
    if (write_failed || total == 0) {
      discard();
      reply_error(res, total == 0 ? 400 : 500,
                  total == 0 ? name + ": the upload is empty" : name + ": cannot store the upload");
      return;
    }
    auto image = std::make_shared<StoredImage>();
    image->id = id;
    image->name = name;
    image->dir = dir;
    image->path = path;
    try {
      c_.decode_slots.acquire();
      const auto release = std::unique_ptr<void, void (*)(void*)>(
          &c_.decode_slots, [](void* s) { static_cast<decltype(&c_.decode_slots)>(s)->release(); });
      image->facts = read_facts(path, c_.options.limits, true);
      image->facts.name = name;
      image->check_json = check_json(name, check_file(path, {}, c_.options.limits));
    } catch (const Error& e) {
      discard();
      reply_error(res, status_for(e), message_for(name, e));
      return;
    }
    c_.store.add(image);
    reply(res, image_json(*image));
  }

  void plan(const Request& req, Response& res, const StoredImage& image) {
    const ParsedOptions p = parse_options(body_json(req), image, c_.options);
    const UpscalePlan plan = plan_upscale(image.facts, p.options, p.format);
    reply(res, json{{"width", plan.out.width},
                    {"height", plan.out.height},
                    {"scale", plan.scale},
                    {"dpi", plan.dpi ? json(*plan.dpi) : json(nullptr)},
                    {"model", plan.model},
                    {"reason", plan.choice.reason},
                    {"passes", plan.passes},
                    {"format", format_name(p.format)},
                    {"plan", describe_plan(plan)},
                    {"notices", field_texts(plan.notices)}});
  }

  void preview(const Request& req, Response& res, const std::shared_ptr<StoredImage>& image) {
    const json body = body_json(req);
    const json rect = body.value("rect", json::object());
    Rect r{rect.value("x", 0), rect.value("y", 0), rect.value("width", 256),
           rect.value("height", 256)};
    const Size full = image->facts.size;
    r.width = std::min({r.width, kMaxPreviewSide, full.width});
    r.height = std::min({r.height, kMaxPreviewSide, full.height});
    r.x = std::clamp(r.x, 0, full.width - r.width);
    r.y = std::clamp(r.y, 0, full.height - r.height);
    const json variants = body.value("variants", json::array({json::object()}));
    if (!variants.is_array() || variants.empty() || variants.size() > kMaxVariants) {
      throw Error(ErrorKind::usage, "variants", "expected 1 to 4 models to compare");
    }
    auto job = std::make_shared<Job>();
    job->id = random_hex();
    job->preview = true;
    job->image = image;
    for (std::size_t i = 0; i < variants.size(); ++i) {
      json with = body;
      with["options"] = body.value("options", json::object());
      with["options"]["model"] = variants[i].value("model", std::string("auto"));
      with["options"]["restore"] = variants[i].value("restore", json(nullptr));
      with["options"]["format"] = "png";  // exact pixels for the comparison
      with["options"].erase("max_bytes");
      Task task;
      task.options = parse_options(with, *image, c_.options).options;
      task.options.crop = r;
      task.output = image->dir / fmt::format("preview-{}-{}.png", job->id, i);
      task.label = variant_label(variants[i]);
      task.download_name = fmt::format("{}-preview-{}.png", stem_of(image->name), i + 1);
      job->tasks.push_back(std::move(task));
    }
    c_.jobs.submit(job);
    reply(res, json{{"job", job->id},
                    {"rect", {{"x", r.x}, {"y", r.y}, {"width", r.width}, {"height", r.height}}}});
  }

  void run(const Request& req, Response& res, const std::shared_ptr<StoredImage>& image) {
    const ParsedOptions p = parse_options(body_json(req), *image, c_.options);
    auto job = std::make_shared<Job>();
    job->id = random_hex();
    job->image = image;
    Task task;
    task.options = p.options;
    const std::string ext(format_extension(p.format));
    task.output = image->dir / fmt::format("result-{}{}", job->id, ext);
    task.label = "result";
    task.download_name = stem_of(image->name) + "-hires" + ext;
    job->tasks.push_back(std::move(task));
    c_.jobs.submit(job);
    reply(res, json{{"job", job->id}});
  }

  // The review of a finished run: its findings, and a heat map over the original.
  void review(Response& res, const Job& job, const JobSnapshot& now) {
    const fs::path result = now.outputs.at(0).path;
    const ReviewResult r = review_files(job.image->path, result, c_.options.limits);
    const fs::path dir = job.image->dir / ("review-" + job.id);
    std::error_code ec;
    fs::remove_all(dir, ec);
    (void)write_review_report(dir, job.image->path, result, r, c_.options.limits);
    json regions = json::array();
    for (const Region& g : r.regions) {
      regions.push_back({{"x", g.x},
                         {"y", g.y},
                         {"width", g.width},
                         {"height", g.height},
                         {"name", g.name},
                         {"problem", g.problem},
                         {"score", g.score}});
    }
    reply(res, json{{"verdict", review_verdict_name(r.verdict)},
                    {"reasons", r.reasons},
                    {"psnr", r.resemblance_psnr},
                    {"ssim", r.resemblance_ssim},
                    {"artifact_fraction", r.artifact_fraction},
                    {"color_shift", r.color_shift},
                    {"jpeg_quality", r.jpeg_quality},
                    {"regions", regions},
                    {"heatmap", "/api/jobs/" + job.id + "/review/heatmap.png"}});
  }

  // The original, upright, as PNG for the page (made once, on first request).
  void view(Response& res, StoredImage& image, bool thumbnail) {
    const fs::path out = image.dir / (thumbnail ? "thumb.jpg" : "view.png");
    {
      const std::lock_guard<std::mutex> lock(image.mutex);
      if (!fs::exists(out)) {
        UpscaleOptions o;
        o.method = thumbnail ? Method::lanczos : Method::nearest;
        o.size = thumbnail ? SizeRequest::fit_box(320, 320) : SizeRequest::by_scale(1.0);
        o.limits = c_.options.limits;
        if (thumbnail && image.facts.size.width <= 320 && image.facts.size.height <= 320) {
          o.size = SizeRequest::by_scale(1.0);
        }
        (void)upscale_file(image.path, out, o, nullptr);
      }
    }
    send_file(res, out);
  }

  void zip(const Request& req, Response& res) {
    std::vector<ZipEntry> entries;
    std::string ids = req.get_param_value("jobs");
    std::size_t start = 0;
    while (start <= ids.size()) {
      const std::size_t comma = std::min(ids.find(',', start), ids.size());
      const std::string id = ids.substr(start, comma - start);
      start = comma + 1;
      if (id.empty()) continue;
      const auto job = c_.jobs.find(id);
      if (!job || job->preview) continue;
      const JobSnapshot now = c_.jobs.snapshot(*job);
      if (now.state != JobState::done) continue;
      for (const JobOutput& o : now.outputs) {
        if (o.error.empty()) entries.push_back({o.path, o.download_name});
      }
    }
    if (entries.empty()) {
      reply_error(res, 404, "no finished results to put in a zip");
      return;
    }
    const fs::path out = c_.store.root() / ("results-" + random_hex() + ".zip");
    write_zip(out, entries);
    send_file(res, out, "hires-results.zip");
    // The file stays open in the provider; removing the name now frees it once sent.
    std::error_code ec;
    fs::remove(out, ec);
  }

  static json image_json(const StoredImage& image) {
    json check = json::parse(image.check_json, nullptr, false);
    return json{{"id", image.id},
                {"name", image.name},
                {"width", image.facts.size.width},
                {"height", image.facts.size.height},
                {"has_alpha", image.facts.has_alpha},
                {"bits", image.facts.bits},
                {"check", check}};
  }

 private:
  Context& c_;
};

json info_json(const ServeOptions& options) {
  json models = json::array();
  for (const ModelInfo& m : builtin_models()) {
    models.push_back({{"name", m.name},
                      {"scale", m.scale},
                      {"builtin", true},
                      {"architecture", m.architecture}});
  }
  for (const ModelInfo& m : list_models(options.model_dirs)) {
    models.push_back({{"name", m.name},
                      {"scale", m.scale},
                      {"builtin", false},
                      {"architecture", m.architecture},
                      {"license", m.license}});
  }
  return json{{"models", models},
              {"methods", {"nearest", "bilinear", "bicubic", "lanczos"}},
              {"presets", options_json()["presets"]},
              {"limits",
               {{"max_upload_bytes", options.max_upload_bytes},
                {"max_input_pixels", options.limits.max_input_pixels},
                {"max_output_pixels", options.limits.max_output_pixels}}}};
}

}  // namespace

void reply_error(Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(dump(json{{"error", message}}), kJson);
}

void add_api_routes(httplib::Server& server, Context& context) {
  auto api = std::make_shared<Api>(context);
  Context& c = context;
  // Runs a handler for a stored image; the library's errors become one clear line for the page.
  const auto with_image = [&c](auto handler) {
    return [&c, handler](const Request& req, Response& res) {
      const auto image = c.store.find(req.matches[1]);
      if (!image) {
        reply_error(res, 404, "no such image (it expired or was removed): upload it again");
        return;
      }
      try {
        handler(req, res, image);
      } catch (const Error& e) {
        reply_error(res, status_for(e), message_for(image->name, e));
      }
    };
  };
  const auto with_job = [&c](auto handler) {
    return [&c, handler](const Request& req, Response& res) {
      const auto job = c.jobs.find(req.matches[1]);
      if (!job) {
        reply_error(res, 404, "no such job (it expired)");
        return;
      }
      try {
        handler(req, res, job);
      } catch (const Error& e) {
        reply_error(res, status_for(e), message_for(job->image->name, e));
      }
    };
  };
  const std::string id = "([0-9a-f]{32})";

  server.Get("/api/options", [](const Request&, Response& res) { reply(res, options_json()); });
  server.Get("/api/info",
             [&c](const Request&, Response& res) { reply(res, info_json(c.options)); });
  server.Post("/api/images",
              [api](const Request& req, Response& res, const httplib::ContentReader& reader) {
                api->upload(req, res, reader);
              });
  server.Get("/api/images/" + id, with_image([](const Request&, Response& res, const auto& image) {
               reply(res, Api::image_json(*image));
             }));
  server.Delete("/api/images/" + id, [&c](const Request& req, Response& res) {
    if (!c.store.remove(req.matches[1]))
      reply_error(res, 404, "no such image");
    else
      reply(res, json{{"removed", true}});
  });
  server.Get("/api/images/" + id + "/original",
             with_image([api](const Request&, Response& res, const auto& image) {
               api->view(res, *image, false);
             }));
  server.Get("/api/images/" + id + "/thumbnail",
             with_image([api](const Request&, Response& res, const auto& image) {
               api->view(res, *image, true);
             }));
  server.Post("/api/images/" + id + "/plan",
              with_image([api](const Request& req, Response& res, const auto& image) {
                api->plan(req, res, *image);
              }));
  server.Post("/api/images/" + id + "/preview",
              with_image([api](const Request& req, Response& res, const auto& image) {
                api->preview(req, res, image);
              }));
  server.Post("/api/images/" + id + "/run",
              with_image([api](const Request& req, Response& res, const auto& image) {
                api->run(req, res, image);
              }));
  server.Get("/api/jobs/" + id, with_job([&c](const Request&, Response& res, const auto& job) {
               res.set_content(c.jobs.status_json(*job), kJson);
             }));
  server.Delete("/api/jobs/" + id, with_job([&c](const Request&, Response& res, const auto& job) {
                  c.jobs.cancel(job->id);
                  res.set_content(c.jobs.status_json(*job), kJson);
                }));
  server.Get("/api/jobs/" + id + "/outputs/([0-9])",
             with_job([&c](const Request& req, Response& res, const auto& job) {
               const auto n = static_cast<std::size_t>(std::stoi(req.matches[2]));
               const JobSnapshot now = c.jobs.snapshot(*job);
               if (n >= now.outputs.size() || !now.outputs[n].error.empty()) {
                 reply_error(res, 404,
                             fmt::format("that result is not there (the job is {})",
                                         job_state_name(now.state)));
                 return;
               }
               const JobOutput& o = now.outputs[n];
               send_file(res, o.path, req.has_param("download") ? o.download_name : "");
             }));
  server.Post("/api/jobs/" + id + "/review",
              with_job([api, &c](const Request&, Response& res, const auto& job) {
                const JobSnapshot now = c.jobs.snapshot(*job);
                if (job->preview || now.state != JobState::done) {
                  reply_error(res, 409, "review a finished run");
                  return;
                }
                api->review(res, *job, now);
              }));
  server.Get("/api/jobs/" + id + "/review/heatmap.png",
             with_job([](const Request&, Response& res, const auto& job) {
               send_file(res, job->image->dir / ("review-" + job->id) / "heatmap.png");
             }));
  server.Get("/api/zip", [api](const Request& req, Response& res) { api->zip(req, res); });
}

}  // namespace hires::server
