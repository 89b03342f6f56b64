// `hires serve` through its HTTP API, against the real binary on a free port.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "cli/cli_helpers.hpp"
#include "server_process.hpp"

namespace hires::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string upload(httplib::Client& c, const fs::path& file, const std::string& name,
                   int* status = nullptr, std::string* error = nullptr) {
  const std::string bytes = read_file(file);
  const auto r = c.Post(("/api/images?name=" + httplib::detail::encode_query_param(name)).c_str(),
                        bytes, "application/octet-stream");
  if (status != nullptr) *status = r ? r->status : -1;
  const json j = body_of(r);
  if (error != nullptr && j.is_object()) *error = j.value("error", "");
  return j.is_object() ? j.value("id", "") : "";
}

fs::path write_pattern(const TempDir& dir, const std::string& name, int w, int h) {
  const fs::path p = dir / name;
  pattern_image(w, h, 3, false).write_to_file(p.c_str());
  return p;
}

// Sub-folders of TMPDIR other than the server's own private folder's contents.
std::size_t files_under(const fs::path& dir) {
  std::size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) n += e.is_regular_file() ? 1 : 0;
  return n;
}

TEST(Serve, UploadPlanRunDownloadGivesTheCliPixels) {
  TempDir tmp, work;
  const fs::path in = write_pattern(work, "photo.png", 96, 64);
  ServerProcess server(tmp.path());
  auto c = server.client();
  const std::string id = upload(c, in, "photo.png");
  ASSERT_EQ(id.size(), 32U);

  const json image = body_of(c.Get(("/api/images/" + id).c_str()));
  EXPECT_EQ(image["width"], 96);
  EXPECT_EQ(image["check"]["content"].is_string(), true);

  const json options = {{"options", {{"size", {{"mode", "width"}, {"value", "240"}}}}}};
  const json plan =
      body_of(c.Post(("/api/images/" + id + "/plan").c_str(), options.dump(), "application/json"));
  EXPECT_EQ(plan["width"], 240);
  EXPECT_EQ(plan["height"], 160);
  EXPECT_EQ(plan["format"], "png");

  const json started =
      body_of(c.Post(("/api/images/" + id + "/run").c_str(), options.dump(), "application/json"));
  const json done = wait_for_job(c, started["job"]);
  ASSERT_EQ(done["state"], "done") << done.dump();
  const json out = done["outputs"][0];
  EXPECT_EQ(out["download_name"], "photo-hires.png");
  const auto file = c.Get((out["url"].get<std::string>() + "?download=1").c_str());
  ASSERT_EQ(file->status, 200);
  EXPECT_EQ(file->get_header_value("Content-Disposition"),
            "attachment; filename=\"photo-hires.png\"");
  const fs::path web = work / "web.png";
  std::ofstream(web, std::ios::binary) << file->body;

  const fs::path cli = work / "cli.png";
  const RunResult r = run_hires({in.string(), "-o", cli.string(), "--width", "240"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_file(web), read_file(cli)) << "the web app and the CLI made different files";
}

TEST(Serve, ACorruptUploadIsOneClearLineAndTheServerGoesOn) {
  TempDir tmp, work;
  const fs::path bad = work / "broken.jpg";
  std::ofstream(bad, std::ios::binary) << "\xff\xd8\xff\xe0 this is not really a JPEG";
  ServerProcess server(tmp.path());
  auto c = server.client();
  int status = 0;
  std::string error;
  EXPECT_EQ(upload(c, bad, "broken.jpg", &status, &error), "");
  EXPECT_EQ(status, 400);
  EXPECT_EQ(error.rfind("broken.jpg: ", 0), 0U) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos);
  EXPECT_EQ(error.find(tmp.path().string()), std::string::npos) << "leaks the store's path";
  EXPECT_EQ(files_under(tmp.path()), 0U) << "a refused upload was kept";
  // Still serving, and a good image still works.
  EXPECT_EQ(c.Get("/api/info")->status, 200);
  EXPECT_EQ(upload(c, write_pattern(work, "ok.png", 32, 32), "ok.png").size(), 32U);
  EXPECT_TRUE(server.running());
}

TEST(Serve, AnOversizedUploadIsRefusedBeforeItIsStored) {
  TempDir tmp, work;
  const fs::path big = work / "big.png";
  noise_image(400, 400, 3).write_to_file(big.c_str());
  ASSERT_GT(fs::file_size(big), 100'000U);
  ServerProcess server(tmp.path(), {"--max-upload", "100K"});
  auto c = server.client();
  int status = 0;
  std::string error;
  EXPECT_EQ(upload(c, big, "big.png", &status, &error), "");
  EXPECT_EQ(status, 413);
  EXPECT_NE(error.find("big.png: "), std::string::npos) << error;
  EXPECT_NE(error.find("over the upload limit of 100.0 KB"), std::string::npos) << error;
  EXPECT_EQ(files_under(tmp.path()), 0U);
  EXPECT_EQ(c.Get("/api/info")->status, 200);
}

// A library error names the option by its key; the page gets it as plain text, not the CLI's flag.
TEST(Serve, AnUploadOverThePixelLimitNamesTheLimitsField) {
  TempDir tmp, work;
  const fs::path in = write_pattern(work, "wide.png", 200, 100);
  ServerProcess server(tmp.path(), {"--max-pixels", "0.01"});
  auto c = server.client();
  int status = 0;
  std::string error;
  EXPECT_EQ(upload(c, in, "wide.png", &status, &error), "");
  EXPECT_EQ(status, 400);
  EXPECT_EQ(error,
            "wide.png: 200x100 is 0.0 MP, over the input limit of 0.0 MP (raise max_pixels to "
            "accept it)");
  EXPECT_EQ(files_under(tmp.path()), 0U);
}

TEST(Serve, TokenHostOriginAndPathNamesAreChecked) {
  TempDir tmp, work;
  ServerProcess server(tmp.path());
  httplib::Client bare(server.host, server.port);
  auto r = bare.Get("/api/info");
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(body_of(r)["error"],
            "missing or wrong access token: open the address `hires serve` printed");
  EXPECT_EQ(bare.Get("/")->status, 401);
  EXPECT_EQ(bare.Get("/api/info", {{"X-Hires-Token", "0123"}})->status, 401);
  EXPECT_EQ(bare.Get(("/api/info?token=" + server.token).c_str())->status, 200);
  // The page sets the token as a cookie for the requests it makes.
  const auto page = bare.Get(("/?token=" + server.token).c_str());
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->get_header_value("Set-Cookie").find("HttpOnly; SameSite=Strict"),
            std::string::npos);
  EXPECT_EQ(bare.Get("/api/info", {{"Cookie", "hires_token=" + server.token}})->status, 200);

  auto c = server.client();
  // DNS rebinding: a page of another site whose name now points at 127.0.0.1.
  r = c.Get("/api/info", {{"Host", "evil.example:" + std::to_string(server.port)}});
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(body_of(r)["error"],
            "Host 'evil.example:" + std::to_string(server.port) + "' is not this server's address");
  r = c.Get("/api/info", {{"Origin", "http://evil.example"}});
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(
      c.Get("/api/info", {{"Origin", "http://127.0.0.1:" + std::to_string(server.port)}})->status,
      200);

  // A client's name never becomes a path: it is shown, sanitised.
  const std::string id = upload(c, write_pattern(work, "p.png", 16, 16), "../../../escape.png");
  ASSERT_EQ(id.size(), 32U);
  EXPECT_EQ(body_of(c.Get(("/api/images/" + id).c_str()))["name"], "escape.png");
  for (const auto& e : fs::recursive_directory_iterator(tmp.path())) {
    EXPECT_EQ(e.path().filename().string().find("escape"), std::string::npos) << e.path();
  }
  EXPECT_FALSE(fs::exists(tmp.path().parent_path() / "escape.png"));
  EXPECT_EQ(c.Get("/api/images/../../etc/passwd")->status, 404);
  EXPECT_EQ(c.Get("/api/jobs/not-a-job")->status, 404);
}

TEST(Serve, PreviewRendersTheRegionWithEachModelAtTheFullRunsScale) {
  TempDir tmp, work;
  const fs::path in = write_pattern(work, "p.png", 200, 120);
  ServerProcess server(tmp.path());
  auto c = server.client();
  const std::string id = upload(c, in, "p.png");
  const json req = {{"options", {{"size", {{"mode", "scale"}, {"value", "2"}}}}},
                    {"rect", {{"x", 40}, {"y", 30}, {"width", 64}, {"height", 48}}},
                    {"variants", {{{"model", "lanczos"}}, {{"model", "bicubic"}}}}};
  const json started =
      body_of(c.Post(("/api/images/" + id + "/preview").c_str(), req.dump(), "application/json"));
  const json done = wait_for_job(c, started["job"]);
  ASSERT_EQ(done["state"], "done") << done.dump();
  ASSERT_EQ(done["outputs"].size(), 2U);
  EXPECT_EQ(done["outputs"][0]["label"], "lanczos");
  EXPECT_EQ(done["outputs"][1]["label"], "bicubic");
  for (const auto& o : done["outputs"]) {
    EXPECT_EQ(o["width"], 128);
    EXPECT_EQ(o["height"], 96);
  }
  // The lanczos preview is the full run's lanczos result in that region (away from the edges,
  // where the crop's border differs).
  const fs::path full = work / "full.png";
  ASSERT_EQ(run_hires({in.string(), "-o", full.string(), "-s", "2", "-m", "lanczos"}).exit_code, 0);
  const fs::path part = work / "part.png";
  std::ofstream(part, std::ios::binary)
      << c.Get(done["outputs"][0]["url"].get<std::string>().c_str())->body;
  const vips::VImage a = load(full).extract_area(80 + 8, 60 + 8, 128 - 16, 96 - 16);
  const vips::VImage b = load(part).extract_area(8, 8, 128 - 16, 96 - 16);
  EXPECT_GT(psnr(a, b), 45.0);
}

TEST(Serve, ABadOptionIsOneLineNamingIt) {
  TempDir tmp, work;
  ServerProcess server(tmp.path());
  auto c = server.client();
  const std::string id = upload(c, write_pattern(work, "p.png", 16, 16), "p.png");
  const json req = {{"options", {{"size", {{"mode", "width"}, {"value", "wide"}}}}}};
  const auto r = c.Post(("/api/images/" + id + "/run").c_str(), req.dump(), "application/json");
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(body_of(r)["error"].get<std::string>().rfind("p.png: ", 0), 0U);
  EXPECT_NE(body_of(r)["error"].get<std::string>().find("wide"), std::string::npos);
  EXPECT_EQ(body_of(r)["error"],
            "p.png: width: 'wide' is not valid (expected a whole number of pixels above 0, like "
            "1920)");
  // Each field is checked by the option table, and named.
  const auto plan = [&](const json& options) {
    const auto reply = c.Post(("/api/images/" + id + "/plan").c_str(),
                              json{{"options", options}}.dump(), "application/json");
    return body_of(reply).value("error", std::string("no error"));
  };
  EXPECT_EQ(plan({{"denoise", 9}}),
            "p.png: denoise: '9' is not valid (expected a whole number "
            "from 0 to 3)");
  EXPECT_EQ(plan({{"sharpen", "lots"}}),
            "p.png: sharpen: 'lots' is not valid (expected a number from 0 to 5)");
  EXPECT_EQ(plan({{"threads", 4}}),
            "p.png: threads: is not a setting of the web app (GET /api/options lists them)");
  EXPECT_EQ(plan({{"dpi", 300}, {"size", {{"mode", "print"}, {"value", "1x1in@100"}}}}),
            "p.png: dpi and print: conflict: print already sets the DPI");
  EXPECT_EQ(plan({{"preset", "web"}, {"quality", 95}}), "no error");
  const auto bad = c.Post(("/api/images/" + id + "/run").c_str(), "{not json", "application/json");
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(body_of(bad)["error"], "p.png: the body is not a JSON object");
  EXPECT_TRUE(server.running());
}

TEST(Serve, OptionsAreTheTableAsJson) {
  TempDir tmp;
  ServerProcess server(tmp.path());
  auto c = server.client();
  const auto r = c.Get("/api/options");
  ASSERT_EQ(r->status, 200);
  const json table = body_of(r);
  std::map<std::string, json> by_key;
  for (const json& o : table["options"]) by_key[o["key"]] = o;
  EXPECT_EQ(by_key["sharpen"]["min"], 0.0);
  EXPECT_EQ(by_key["sharpen"]["max"], 5.0);
  EXPECT_EQ(by_key["sharpen"]["web"], true);
  EXPECT_EQ(by_key["min_quality"]["default"], 60);
  EXPECT_EQ(by_key["format"]["choices"], json({"jpg", "png", "webp", "tiff", "avif"}));
  EXPECT_EQ(by_key["threads"]["web"], false);
  EXPECT_EQ(by_key["max_bytes"]["help"].get<std::string>().find('`'), std::string::npos);
  json web;
  for (const json& p : table["presets"]) {
    if (p["name"] == "product-web") web = p["values"];
  }
  EXPECT_EQ(web, json({{"width", 2400},
                       {"format", "jpg"},
                       {"max_bytes", 150000},
                       {"srgb", true},
                       {"strip_location", true}}));
}

TEST(Serve, CancelStopsARunAndKeepsNoResult) {
  TempDir tmp, work;
  const fs::path in = write_pattern(work, "large.png", 1200, 900);
  ServerProcess server(tmp.path(), {"--threads", "1"});
  auto c = server.client();
  const std::string id = upload(c, in, "large.png");
  const json req = {{"options", {{"model", "photo-x4"}}}};
  const json started =
      body_of(c.Post(("/api/images/" + id + "/run").c_str(), req.dump(), "application/json"));
  const std::string job = started["job"];
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto asked = std::chrono::steady_clock::now();
  EXPECT_EQ(c.Delete(("/api/jobs/" + job).c_str())->status, 200);
  const json done = wait_for_job(c, job, std::chrono::seconds(60));
  std::cout << "[ info ] cancelled after "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - asked).count()
            << " s\n";
  EXPECT_EQ(done["state"], "cancelled") << done.dump();
  for (const auto& e : fs::recursive_directory_iterator(tmp.path())) {
    EXPECT_EQ(e.path().filename().string().find("result-"), std::string::npos) << e.path();
  }
}

TEST(Serve, RunsQueueBeyondJobsAndAPreviewStillGoesThrough) {
  TempDir tmp, work;
  ServerProcess server(tmp.path(), {"--jobs", "1", "--threads", "1"});
  auto c = server.client();
  const std::string big = upload(c, write_pattern(work, "big.png", 1000, 800), "big.png");
  const std::string small = upload(c, write_pattern(work, "small.png", 32, 32), "small.png");
  const json slow = {{"options", {{"model", "photo-x4"}}}};
  const std::string first = body_of(
      c.Post(("/api/images/" + big + "/run").c_str(), slow.dump(), "application/json"))["job"];
  const std::string second = body_of(
      c.Post(("/api/images/" + small + "/run").c_str(), slow.dump(), "application/json"))["job"];
  for (int i = 0; i < 300 && body_of(c.Get(("/api/jobs/" + first).c_str()))["state"] != "running";
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(body_of(c.Get(("/api/jobs/" + first).c_str()))["state"], "running");
  EXPECT_EQ(body_of(c.Get(("/api/jobs/" + second).c_str()))["state"], "queued");
  // A preview has its own lane: it finishes while the run goes on.
  const json preview = {{"variants", {{{"model", "lanczos"}}}},
                        {"rect", {{"x", 0}, {"y", 0}, {"width", 32}, {"height", 32}}}};
  const std::string p = body_of(c.Post(("/api/images/" + small + "/preview").c_str(),
                                       preview.dump(), "application/json"))["job"];
  EXPECT_EQ(wait_for_job(c, p, std::chrono::seconds(30))["state"], "done");
  EXPECT_EQ(body_of(c.Get(("/api/jobs/" + first).c_str()))["state"], "running");
  c.Delete(("/api/jobs/" + first).c_str());
  EXPECT_EQ(wait_for_job(c, second)["state"], "done");
}

TEST(Serve, DownloadAllIsAZipOfTheResults) {
  TempDir tmp, work;
  ServerProcess server(tmp.path());
  auto c = server.client();
  std::string jobs;
  for (const char* name : {"a.png", "b.png"}) {
    const std::string id = upload(c, write_pattern(work, name, 24, 24), name);
    const json req = {{"options", {{"model", "bicubic"}, {"format", "jpg"}}}};
    const json started =
        body_of(c.Post(("/api/images/" + id + "/run").c_str(), req.dump(), "application/json"));
    ASSERT_EQ(wait_for_job(c, started["job"])["state"], "done");
    jobs += (jobs.empty() ? "" : ",") + started["job"].get<std::string>();
  }
  const auto zip = c.Get(("/api/zip?jobs=" + jobs).c_str());
  ASSERT_EQ(zip->status, 200);
  EXPECT_EQ(zip->get_header_value("Content-Type"), "application/zip");
  EXPECT_EQ(zip->body.rfind("PK\x03\x04", 0), 0U);
  EXPECT_NE(zip->body.find("a-hires.jpg"), std::string::npos);
  EXPECT_NE(zip->body.find("b-hires.jpg"), std::string::npos);
}

TEST(Serve, TwentyUploadsAtOnceFinishWithBoundedMemory) {
  TempDir tmp, work;
  const fs::path in = work / "n.png";
  noise_image(1000, 1000, 7).write_to_file(in.c_str());
  ServerProcess server(tmp.path());
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&, i] {
      auto c = server.client();
      if (upload(c, in, "n" + std::to_string(i) + ".png").size() == 32) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 20);
  const double peak = server.peak_rss_mb();
  std::cout << "[ info ] 20 concurrent 1000x1000 uploads: server peak RSS " << peak << " MB\n";
  // At most two decodes at once: far below 20 images' worth of float pixels (20 x 12 MB).
  EXPECT_LT(peak, 400.0);
}

TEST(Serve, UploadsUnusedForTheTtlAreDeleted) {
  TempDir tmp, work;
  ServerProcess server(tmp.path(), {"--ttl", "2s"});
  auto c = server.client();
  const std::string id = upload(c, write_pattern(work, "p.png", 16, 16), "p.png");
  ASSERT_EQ(id.size(), 32U);
  EXPECT_GT(files_under(tmp.path()), 0U);
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));
  const auto r = c.Get(("/api/images/" + id).c_str());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(body_of(r)["error"], "no such image (it expired or was removed): upload it again");
  EXPECT_EQ(files_under(tmp.path()), 0U);
  EXPECT_EQ(run_hires({"serve", "--ttl", "soon"}).err,
            "hires: error: --ttl: 'soon' is not a duration from 1s to 30d (e.g. 90s, 30m, 2h; a "
            "plain number is minutes)\n");
}

TEST(Serve, StoppingDeletesEverythingItStored) {
  TempDir tmp, work;
  ServerProcess server(tmp.path());
  auto c = server.client();
  ASSERT_EQ(upload(c, write_pattern(work, "p.png", 16, 16), "p.png").size(), 32U);
  EXPECT_GT(files_under(tmp.path()), 0U);
  EXPECT_EQ(server.stop(), 0);
  EXPECT_TRUE(fs::is_empty(tmp.path()));
}

}  // namespace
}  // namespace hires::test
