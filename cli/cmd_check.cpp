// `hires check IMAGE...`: is the image worth upscaling, and how?
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.hpp"
#include "hires/error.hpp"
#include "hires/guide.hpp"
#include "json_line.hpp"
#include "option_table.hpp"
#include "sizing.hpp"

namespace hires::cli {
namespace {

using nlohmann::json;

struct CheckArgs {
  std::vector<std::string> inputs;
  SizingArgs target;
  bool json = false;
};

std::string format_value(const Finding& f) {
  switch (f.kind) {
    case FindingKind::small:
      return fmt::format("{:.0f} px", f.value);
    case FindingKind::noise:
      return fmt::format("{:.1f} lv", f.value);
    case FindingKind::dark:
      return fmt::format("{:.0f}/255", f.value);
    case FindingKind::bright:
      return fmt::format("{:.1f} %", f.value);
    default:
      return fmt::format("{:.2f}", f.value);
  }
}

void print_text(const std::string& input, const CheckResult& r) {
  fmt::print("{}: {}x{} {}: {}\n", input, r.size.width, r.size.height, content_name(r.content),
             verdict_label(r.verdict));
  if (r.measured) {
    fmt::print(
        "  measured on the centre {}x{} (the whole image at full resolution would take "
        "too much memory)\n",
        r.measured->width, r.measured->height);
  }
  for (const auto& f : r.findings) {
    const std::string_view mark = f.severity == Severity::bad    ? "BAD "
                                  : f.severity == Severity::warn ? "warn"
                                                                 : "  ok";
    fmt::print("  {} {:<8} {:>10}  {}\n", mark, finding_kind_name(f.kind), format_value(f),
               f.message);
  }
  const Recommendation& rec = r.recommendation;
  fmt::print("  recommendation: {}\n", rec.plan);
  fmt::print("  why: {}\n", rec.reason);
}

int run_check(const CheckArgs& a) {
  CheckOptions options;
  options.target = parse_sizing(a.target, "conflict: choose one target size");
  if (options.target) (void)plan_size({1000, 1000}, *options.target);  // validate early
  UpscaleOptions request;  // the table's options check takes: the limits
  a.target.options.apply(request);
  const Limits limits = request.limits;
  int failed = 0;
  for (const auto& input : a.inputs) {
    try {
      const CheckResult r = check_file(input, options, limits);
      if (a.json) {
        std::cout << check_json(input, r) << '\n' << std::flush;
      } else {
        print_text(input, r);
      }
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::usage) throw;
      ++failed;
      if (a.json) {
        std::cout << json_line(json{{"input", input}, {"error", for_cli(e).what()}}) << '\n'
                  << std::flush;
      }
      fmt::print(stderr, "hires: error: {}\n", for_cli(e).what());
    }
  }
  return failed > 0 ? 1 : 0;
}

}  // namespace

Command add_check_command(CLI::App& app) {
  auto args = std::make_shared<CheckArgs>();
  CLI::App* cmd = app.add_subcommand(
      "check",
      "Before upscaling: size, blur, blockiness, banding, noise, exposure, halftone; a verdict");
  cmd->add_option("inputs", args->inputs, "Image files")->required();
  add_sizing_options(*cmd->add_option_group("target", "What the image is for (default: 4x)"),
                     args->target);
  cmd->add_flag("--json", args->json, "One JSON object per image on stdout");
  args->target.options.add_keys(*cmd, {"max_pixels"});
  return {cmd, [args] { return run_check(*args); }};
}

}  // namespace hires::cli
