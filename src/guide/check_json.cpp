// check's findings as one JSON object: what `hires check --json` prints and the web app shows.
#include <nlohmann/json.hpp>
#include <string>

#include "hires/guide.hpp"

namespace hires {

using nlohmann::json;

std::string check_json(const std::string& input, const CheckResult& r) {
  json findings = json::array();
  for (const auto& f : r.findings) {
    findings.push_back({{"kind", finding_kind_name(f.kind)},
                        {"value", f.value},
                        {"severity", severity_name(f.severity)},
                        {"message", f.message}});
  }
  json j{{"input", input},
         {"width", r.size.width},
         {"height", r.size.height},
         {"content", content_name(r.content)},
         {"findings", findings},
         {"verdict", verdict_name(r.verdict)},
         {"recommendation",
          {{"model", r.recommendation.model},
           {"restore", r.recommendation.restore},
           {"reason", r.recommendation.reason},
           {"denoise", r.recommendation.denoise},
           {"passes", r.recommendation.passes},
           {"plan", r.recommendation.plan}}}};
  if (r.measured) j["measured"] = {{"width", r.measured->width}, {"height", r.measured->height}};
  const Measures& m = r.measures;
  j["measures"] = {{"blur", m.blur},
                   {"jpeg_grid", m.jpeg_grid},
                   {"fine_detail", m.fine_detail},
                   {"jpeg_quality", m.jpeg_quality},
                   {"staircase", m.staircase},
                   {"staircase_block", m.staircase_block},
                   {"banding", m.banding},
                   {"noise", m.noise},
                   {"mean_luma", m.mean_luma},
                   {"clipped_high", m.clipped_high},
                   {"flat_fraction", m.flat_fraction},
                   {"flat_midtone_fraction", m.flat_midtone_fraction},
                   {"top2_luma_share", m.top2_luma_share},
                   {"colourfulness", m.colourfulness},
                   {"palette", m.palette},
                   {"top32_colour_share", m.top32_colour_share},
                   {"halftone", m.halftone},
                   {"halftone_period", m.halftone_period}};
  if (r.target) {
    j["target"] = {{"width", r.target->width}, {"height", r.target->height}};
    j["scale"] = r.scale;
  }
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace hires
