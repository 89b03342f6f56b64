// `hires review ORIGINAL UPSCALED`: does the result still look like the original?
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.hpp"
#include "hires/error.hpp"
#include "hires/guide.hpp"
#include "hires/video.hpp"
#include "json_line.hpp"
#include "option_table.hpp"

namespace hires::cli {
namespace {

using nlohmann::json;

struct ReviewArgs {
  std::string original;
  std::string upscaled;
  std::string report;
  bool json = false;
  std::int64_t max_frames = 0;
};

json region_json(const Region& g) {
  return {{"x", g.x},           {"y", g.y},       {"width", g.width},
          {"height", g.height}, {"name", g.name}, {"problem", g.problem},
          {"score", g.score}};
}

}  // namespace

int print_review(const std::string& original, const std::string& upscaled, const ReviewResult& r,
                 bool as_json, const std::string& report) {
  if (as_json) {
    json regions = json::array();
    for (const auto& g : r.regions) regions.push_back(region_json(g));
    json j{{"original", original},
           {"upscaled", upscaled},
           {"resemblance_psnr", r.resemblance_psnr},
           {"resemblance_ssim", r.resemblance_ssim},
           {"artifact_fraction", r.artifact_fraction},
           {"color_shift", r.color_shift},
           {"verdict", review_verdict_name(r.verdict)},
           {"reasons", r.reasons},
           {"jpeg_quality", r.jpeg_quality},
           {"regions", regions}};
    if (!report.empty()) j["report"] = report;
    std::cout << json_line(j) << '\n' << std::flush;
  } else {
    fmt::print("{} -> {}: {}\n", printable(original), printable(upscaled),
               review_verdict_name(r.verdict));
    fmt::print("  resemblance  PSNR {:.2f} dB, SSIM {:.4f}\n", r.resemblance_psnr,
               r.resemblance_ssim);
    fmt::print("  artifacts    {:.2f} % of the image\n", 100 * r.artifact_fraction);
    fmt::print("  colour shift delta E {:.2f}\n", r.color_shift);
    for (const auto& reason : r.reasons) fmt::print("  - {}\n", reason);
    if (!report.empty()) fmt::print("  report: {}\n", report);
  }
  return 0;
}

void review_after_upscale(const std::filesystem::path& input, const std::filesystem::path& output,
                          bool as_json) {
  try {
    const ReviewResult r = review_files(input, output);
    if (as_json) {
      std::cout << json{{"event", "review"},
                        {"input", input.string()},
                        {"output", output.string()},
                        {"resemblance_psnr", r.resemblance_psnr},
                        {"resemblance_ssim", r.resemblance_ssim},
                        {"artifact_fraction", r.artifact_fraction},
                        {"color_shift", r.color_shift},
                        {"verdict", review_verdict_name(r.verdict)},
                        {"reasons", r.reasons}}
                       .dump()
                << '\n'
                << std::flush;
      return;
    }
    fmt::print(stderr,
               "hires: review: {}: {} (PSNR {:.1f} dB, SSIM {:.3f}, artifacts {:.2f} %, "
               "colour shift {:.1f})\n",
               output.string(), review_verdict_name(r.verdict), r.resemblance_psnr,
               r.resemblance_ssim, 100 * r.artifact_fraction, r.color_shift);
    for (const auto& reason : r.reasons) fmt::print(stderr, "  - {}\n", reason);
  } catch (const Error& e) {
    fmt::print(stderr, "hires: review: cannot review {}: {}\n", output.string(), for_cli(e).what());
  }
}

namespace {

int print_video_review(const ReviewArgs& a, const VideoReview& r) {
  if (a.json) {
    std::cout << json_line(json{{"original", a.original},
                                {"upscaled", a.upscaled},
                                {"frames", r.frames},
                                {"source_change", r.source_change},
                                {"output_change", r.output_change},
                                {"added_flicker", r.added_flicker},
                                {"resemblance_psnr", r.resemblance_psnr},
                                {"verdict", review_verdict_name(r.verdict)},
                                {"reasons", r.reasons}})
              << '\n'
              << std::flush;
    return 0;
  }
  fmt::print("{} -> {}: {}\n", printable(a.original), printable(a.upscaled),
             review_verdict_name(r.verdict));
  fmt::print("  frames       {}\n", r.frames);
  fmt::print("  resemblance  PSNR {:.2f} dB (each frame at the source's size)\n",
             r.resemblance_psnr);
  fmt::print(
      "  flicker      {:.2f} levels of change between frames (source {:.2f}), {:.2f} added\n",
      r.output_change, r.source_change, r.added_flicker);
  for (const auto& reason : r.reasons) fmt::print("  - {}\n", reason);
  return 0;
}

int run_review(const ReviewArgs& a) {
  if (is_video_file(a.original) || is_video_file(a.upscaled)) {
    if (!a.report.empty()) {
      throw Error(ErrorKind::usage, "--report", "is for images; a clip's review is its numbers");
    }
    return print_video_review(a, review_video(a.original, a.upscaled, a.max_frames));
  }
  const ReviewResult r = review_files(a.original, a.upscaled);
  std::string page;
  if (!a.report.empty()) page = write_review_report(a.report, a.original, a.upscaled, r).string();
  return print_review(a.original, a.upscaled, r, a.json, page);
}

}  // namespace

Command add_review_command(CLI::App& app) {
  auto args = std::make_shared<ReviewArgs>();
  CLI::App* cmd = app.add_subcommand(
      "review",
      "After upscaling: resemblance, invented texture, halos and colour shift; for clips, "
      "flicker against the source's");
  cmd->add_option("original", args->original, "The image before upscaling")->required();
  cmd->add_option("upscaled", args->upscaled, "The upscaled result")->required();
  cmd->add_option("--report", args->report,
                  "Write an HTML page (side by side, heat map, worst crops) into this folder");
  cmd->add_flag("--json", args->json, "As one JSON object on stdout");
  cmd->add_option("--frames", args->max_frames, "Clips: compare only the first N frames (0 = all)")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 40));
  return {cmd, [args] { return run_review(*args); }};
}

}  // namespace hires::cli
