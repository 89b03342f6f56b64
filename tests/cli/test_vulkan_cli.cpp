// `hires --backend vulkan` end to end: the built-in default model on a small image, tiled, close
// to the cpu backend's output (measured as PSNR); `hires devices`; --gpu errors. On lavapipe in
// CI; skipped visibly without a Vulkan device.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "hires/devices.hpp"
#include "support/test_support.hpp"
#include "support/vulkan_skip.hpp"

namespace hires {
namespace {

namespace fs = std::filesystem;
using test::run_hires;
using test::TempDir;

// A 16-bit photo-like image (so the output is 16-bit too, and small differences show): a
// smooth pattern with noise, so every tile has detail.
fs::path textured(const TempDir& dir, int w, int h) {
  test::init_vips();
  vips::VImage noise = vips::VImage::gaussnoise(w, h, vips::VImage::option()->set("sigma", 8000.0));
  vips::VImage base = test::pattern_image(w, h, 3, true).cast(VIPS_FORMAT_FLOAT);
  const fs::path p = dir / "in.png";
  (base * 0.7 + noise * 0.3 + 5000)
      .cast(VIPS_FORMAT_USHORT)
      .copy(vips::VImage::option()->set("interpretation", VIPS_INTERPRETATION_RGB16))
      .pngsave(p.c_str());
  return p;
}

TEST(VulkanCli, DefaultModelMatchesTheCpuBackend) {
  HIRES_REQUIRE_VULKAN();
  TempDir dir;
  const fs::path in = textured(dir, 61, 47);
  std::vector<vips::VImage> outs;
  for (const char* backend : {"cpu", "vulkan"}) {
    const fs::path out = dir / fmt::format("{}.png", backend);
    // 24-pixel tiles: many tiles, in four shapes (inside, edges, corner).
    const auto r =
        run_hires({in.string(), "-o", out.string(), "--backend", backend, "-t", "24", "-v"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find(fmt::format("engine: {}: ", backend)), std::string::npos) << r.err;
    outs.push_back(test::load(out));
  }
  ASSERT_EQ(outs[0].width(), 61 * 4);
  ASSERT_EQ(outs[1].width(), outs[0].width());
  ASSERT_EQ(outs[1].height(), outs[0].height());
  ASSERT_EQ(outs[0].format(), VIPS_FORMAT_USHORT);
  const double db = test::psnr(outs[0], outs[1], 65535.0);
  RecordProperty("psnr_vulkan_vs_cpu_db", fmt::format("{:.1f}", db));
  std::cout << fmt::format("[ vulkan ] PSNR vulkan vs cpu: {:.1f} dB\n", db);
  EXPECT_GE(db, 50.0);
}

// A transformer from .pth through the whole pipeline on vulkan: HAT (window and overlapping
// attention, channel attention's means shared by the tiles of a first pass) in 24-pixel tiles,
// against the cpu backend.
TEST(VulkanCli, TransformerModelMatchesTheCpuBackend) {
  HIRES_REQUIRE_VULKAN();
  TempDir dir;
  const fs::path in = textured(dir, 53, 41);
  const fs::path model = fs::path(HIRES_SOURCE_DIR) / "tests" / "archs" / "hat_tiny_x2.pth";
  std::vector<vips::VImage> outs;
  for (const char* backend : {"cpu", "vulkan"}) {
    const fs::path out = dir / fmt::format("{}.png", backend);
    const auto r = run_hires({in.string(), "-o", out.string(), "-m", model.string(), "--backend",
                              backend, "-t", "24", "-v"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find(fmt::format("engine: {}: ", backend)), std::string::npos) << r.err;
    outs.push_back(test::load(out));
  }
  ASSERT_EQ(outs[0].width(), 53 * 2);
  ASSERT_EQ(outs[1].width(), outs[0].width());
  ASSERT_EQ(outs[1].height(), outs[0].height());
  const double db = test::psnr(outs[0], outs[1], 65535.0);
  RecordProperty("psnr_vulkan_vs_cpu_db", fmt::format("{:.1f}", db));
  std::cout << fmt::format("[ vulkan ] HAT: PSNR vulkan vs cpu: {:.1f} dB\n", db);
  EXPECT_GE(db, 50.0);
}

TEST(VulkanCli, DevicesListsEveryDevice) {
  const auto r = run_hires({"devices", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  const GpuList gpus = list_gpus();
  EXPECT_EQ(j.at("vulkan_built").get<bool>(), gpus.vulkan_built);
  ASSERT_EQ(j.at("devices").size(), gpus.devices.size());
  for (std::size_t i = 0; i < gpus.devices.size(); ++i) {
    EXPECT_EQ(j["devices"][i]["name"], gpus.devices[i].name);
    EXPECT_EQ(j["devices"][i]["type"], gpus.devices[i].type);
    EXPECT_GT(j["devices"][i]["memory_bytes"].get<std::uint64_t>(), 0U);
    EXPECT_EQ(j["devices"][i]["fp16_storage"].get<bool>(), gpus.devices[i].fp16_storage);
  }
  const auto text = run_hires({"devices"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  if (gpus.devices.empty()) {
    EXPECT_NE(text.out.find("no Vulkan device"), std::string::npos) << text.out;
  } else {
    EXPECT_NE(text.out.find(gpus.devices[0].name), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("GiB"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find(" FP16 "), std::string::npos) << text.out;
  }
}

TEST(VulkanCli, UnknownGpuIsAUsageError) {
  HIRES_REQUIRE_VULKAN();
  TempDir dir;
  const fs::path in = textured(dir, 8, 8);
  const auto r = run_hires(
      {in.string(), "-o", (dir / "o.png").string(), "--backend", "vulkan", "--gpu", "63"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--gpu: device 63 does not exist"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "o.png"));
}

// eval, serve and video take --backend and --gpu from the option table and check them before
// any work, as an upscale does; a device that exists runs (eval on lavapipe, by its index).
TEST(VulkanCli, EvalServeAndVideoTakeTheGpuChoice) {
  HIRES_REQUIRE_VULKAN();
  TempDir dir;
  const fs::path hr = dir / "hr";
  fs::create_directory(hr);
  fs::rename(textured(dir, 32, 32), hr / "a.png");
  const std::vector<std::vector<std::string>> commands{
      {"eval", hr.string(), "-s", "2", "-m", "photo-x2"},
      {"serve", "--port", "0"},
      {"video", (dir / "clip.mp4").string(), "-o", (dir / "out.mp4").string()}};
  for (std::vector<std::string> args : commands) {
    args.insert(args.end(), {"--backend", "vulkan", "--gpu", "63"});
    const auto r = run_hires(args);
    EXPECT_EQ(r.exit_code, 2) << args.front() << ": " << r.err;
    EXPECT_NE(r.err.find("hires: error: --gpu: device 63 does not exist"), std::string::npos)
        << args.front() << ": " << r.err;
  }
  const auto ok = run_hires({"eval", hr.string(), "-s", "2", "-m", "photo-x2", "--backend",
                             "vulkan", "--gpu", "0", "--json"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_FALSE(test::json_event(ok.out, "summary").is_null()) << ok.out;
}

// Sets an environment variable for the scope (for the hires processes the test starts).
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// No Vulkan driver (the loader pointed at none), or a build without Vulkan: --backend vulkan is
// a usage error saying why, before any file is touched; auto runs on the cpu.
TEST(VulkanCli, WithoutADeviceVulkanIsAUsageError) {
  const ScopedEnv icd("VK_ICD_FILENAMES", "/nonexistent/hires-test-icd.json");
  const ScopedEnv driver("VK_DRIVER_FILES", "/nonexistent/hires-test-icd.json");
  TempDir dir;
  const fs::path in = textured(dir, 8, 8);
  const auto r = run_hires({in.string(), "-o", (dir / "o.png").string(), "--backend", "vulkan"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--backend vulkan: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("or use --backend cpu"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "o.png"));
  const auto devices = run_hires({"devices"});
  EXPECT_EQ(devices.exit_code, 0) << devices.err;
  EXPECT_NE(devices.out.find("no Vulkan device: "), std::string::npos) << devices.out;
  const auto automatic = run_hires({in.string(), "-o", (dir / "a.png").string(), "-v"});
  ASSERT_EQ(automatic.exit_code, 0) << automatic.err;
  EXPECT_NE(automatic.err.find("engine: cpu: "), std::string::npos) << automatic.err;
}

TEST(VulkanCli, BackendNamesVulkanInItsHelpAndErrors) {
  const auto r = run_hires({"x.png", "--backend", "gpu"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("expected auto, cpu, vulkan or reference"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace hires
