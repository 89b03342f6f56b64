// The offline HTML report of `hires review --report DIR`.
#include <fmt/format.h>

#include <algorithm>
#include <fstream>

#include "hires/guide.hpp"
#include "io/atomic_file.hpp"
#include "io/guide_io.hpp"

namespace hires {
namespace {

namespace fs = std::filesystem;

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

Pixels crop(const Pixels& in, int x0, int y0, int w, int h) {
  Pixels out(w, h, in.channels);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      for (int c = 0; c < in.channels; ++c) out.at(x, y, c) = in.at(x0 + x, y0 + y, c);
    }
  }
  return out;
}

// `in` enlarged with nearest neighbour to w x h (the original's pixels as they are).
Pixels nearest(const Pixels& in, int w, int h) {
  Pixels out(w, h, in.channels);
  for (int y = 0; y < h; ++y) {
    const int sy = std::min(in.height - 1, static_cast<int>(static_cast<long>(y) * in.height / h));
    for (int x = 0; x < w; ++x) {
      const int sx = std::min(in.width - 1, static_cast<int>(static_cast<long>(x) * in.width / w));
      for (int c = 0; c < in.channels; ++c) out.at(x, y, c) = in.at(sx, sy, c);
    }
  }
  return out;
}

// The original in grey with invented texture in red and halos in yellow over it.
Pixels heat_image(const Pixels& original, const Pixels& heat) {
  Pixels out(original.width, original.height, 3);
  for (int y = 0; y < original.height; ++y) {
    for (int x = 0; x < original.width; ++x) {
      float grey = 0;
      for (int c = 0; c < original.channels; ++c) grey += original.at(x, y, c);
      grey = 0.25F + 0.35F * grey / static_cast<float>(original.channels);
      const float t = heat.at(x, y, 0);
      const float o = heat.at(x, y, 1);
      out.at(x, y, 0) = std::min(1.0F, grey * (1 - t) + t + o);
      out.at(x, y, 1) = std::min(1.0F, grey * (1 - t) * (1 - o) + o * 0.9F);
      out.at(x, y, 2) = grey * (1 - t) * (1 - o);
    }
  }
  const int k = std::max(1, 512 / std::max(original.width, original.height));
  return nearest(out, original.width * k, original.height * k);
}

// Marks a folder as a hires review report: only such a folder (or a new or empty one) is written.
constexpr const char* kReportMarker = "hires-review.txt";

// Creates `dir` or checks that it may be written: a report never replaces a file that is not its
// own (inputs above all).
void prepare_report_folder(const fs::path& dir, const std::vector<fs::path>& inputs) {
  std::error_code ec;
  const fs::path marker = dir / kReportMarker;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) {
      throw Error(ErrorKind::output, dir.string(), "exists and is not a folder",
                  "give `report` a new folder name");
    }
    const bool empty = fs::is_empty(dir, ec);
    if (!empty && !fs::is_regular_file(marker, ec)) {
      throw Error(ErrorKind::output, dir.string(),
                  fmt::format("is a folder with other files in it, not a hires report (no {})",
                              kReportMarker),
                  "give `report` a new or empty folder: the report never writes over other files");
    }
    for (const fs::path& in : inputs) {
      if (fs::equivalent(in.parent_path().empty() ? "." : in.parent_path(), dir, ec)) {
        throw Error(ErrorKind::output, dir.string(), "holds an input of the review",
                    "give `report` a new folder");
      }
    }
  } else {
    fs::create_directories(dir, ec);
    if (ec) {
      throw Error(ErrorKind::output, dir.string(),
                  "cannot create the report folder: " + ec.message());
    }
  }
  io::TempFile temp(marker);
  std::ofstream f(temp.path());
  f << "This folder holds a report of `hires review`; a later --report may replace its files.\n";
  f.close();
  if (!f) throw Error(ErrorKind::output, marker.string(), "cannot write the report");
  temp.publish(true);
}

}  // namespace

fs::path write_review_report(const fs::path& dir, const fs::path& original,
                             const fs::path& upscaled, const ReviewResult& result,
                             const Limits& limits) {
  prepare_report_folder(dir, {original, upscaled});
  const Pixels o = io::load_pixels(original, limits);
  Limits big = limits;
  big.max_input_pixels = std::max(limits.max_input_pixels, limits.max_output_pixels);
  const Pixels u = io::load_pixels(upscaled, big);
  io::save_png(o, dir / "original.png");
  io::save_png(u, dir / "upscaled.png");
  io::save_png(heat_image(o, result.heat), dir / "heatmap.png");

  std::string crops;
  int n = 0;
  for (const Region& g : result.regions) {
    ++n;
    const int cw = std::min(u.width, std::max(g.width, 256));
    const int ch = std::min(u.height, std::max(g.height, 256));
    const int cw2 = std::min(cw, 512), ch2 = std::min(ch, 512);
    const int x0 = std::clamp(g.x + g.width / 2 - cw2 / 2, 0, u.width - cw2);
    const int y0 = std::clamp(g.y + g.height / 2 - ch2 / 2, 0, u.height - ch2);
    io::save_png(crop(u, x0, y0, cw2, ch2), dir / fmt::format("crop-{}-upscaled.png", n));
    const double sx = static_cast<double>(o.width) / u.width;
    const double sy = static_cast<double>(o.height) / u.height;
    const int ox0 = static_cast<int>(x0 * sx), oy0 = static_cast<int>(y0 * sy);
    const int ow = std::clamp(static_cast<int>(std::ceil(cw2 * sx)), 1, o.width - ox0);
    const int oh = std::clamp(static_cast<int>(std::ceil(ch2 * sy)), 1, o.height - oy0);
    io::save_png(nearest(crop(o, ox0, oy0, ow, oh), cw2, ch2),
                 dir / fmt::format("crop-{}-original.png", n));
    crops += fmt::format(
        "<h3>{}. {} &mdash; {}</h3>\n<p>x {}&ndash;{}, y {}&ndash;{} of the upscaled image "
        "(100 % crop; the original's pixels enlarged beside it)</p>\n<div class=pair>"
        "<figure><img src=\"crop-{}-original.png\"><figcaption>original</figcaption></figure>"
        "<figure><img src=\"crop-{}-upscaled.png\"><figcaption>upscaled</figcaption></figure>"
        "</div>\n",
        n, html_escape(g.problem), html_escape(g.name), x0, x0 + cw2, y0, y0 + ch2, n, n);
  }
  std::string reasons;
  for (const auto& r : result.reasons) reasons += "<li>" + html_escape(r) + "</li>\n";
  if (reasons.empty()) reasons = "<li>no problems found</li>\n";

  fs::path page = dir / "index.html";
  io::TempFile temp(page);
  std::ofstream f(temp.path());
  f << fmt::format(
      R"(<!doctype html>
<html lang=en><head><meta charset=utf-8><title>hires review: {title}</title>
<style>
body{{font-family:sans-serif;margin:1.5em;background:#fafafa;color:#222}}
.verdict{{font-size:1.4em;font-weight:bold}} .ok{{color:#186a18}} .warn{{color:#a66300}} .fail{{color:#b00}}
.pair{{display:flex;gap:1em;flex-wrap:wrap}} figure{{margin:0}} img{{max-width:100%;border:1px solid #ccc}}
.side{{flex-wrap:nowrap}} .side figure{{flex:1 1 0;min-width:0;max-width:800px}}
.side img{{width:100%}} .orig{{image-rendering:pixelated}}
@media (max-width:899px){{.side{{flex-wrap:wrap}} .side figure{{flex-basis:100%}}}}
table{{border-collapse:collapse}} td{{padding:2px 10px}}
</style></head><body>
<h1>hires review</h1>
<p>{original} ({ow}x{oh}) &rarr; {upscaled} ({uw}x{uh})</p>
<p class="verdict {verdict}">{verdict}</p>
<ul>
{reasons}</ul>
<table>
<tr><td>resemblance PSNR</td><td>{psnr:.2f} dB</td></tr>
<tr><td>resemblance SSIM</td><td>{ssim:.4f}</td></tr>
<tr><td>artifact fraction</td><td>{artifacts:.4f}</td></tr>
<tr><td>colour shift (delta E)</td><td>{colour:.2f}</td></tr>
</table>
<h2>Side by side</h2>
<div class="pair side"><figure><img class=orig src="original.png"><figcaption>original</figcaption></figure>
<figure><img src="upscaled.png"><figcaption>upscaled</figcaption></figure></div>
<h2>Heat map</h2>
<p>Red: texture the original does not have (flat areas such as sky and walls). Yellow: halos,
ringing and over-sharpening along edges.</p>
<img class=orig src="heatmap.png">
<h2>Worst regions</h2>
{crops}
</body></html>
)",
      fmt::arg("title", html_escape(upscaled.filename().string())),
      fmt::arg("original", html_escape(original.string())), fmt::arg("ow", o.width),
      fmt::arg("oh", o.height), fmt::arg("upscaled", html_escape(upscaled.string())),
      fmt::arg("uw", u.width), fmt::arg("uh", u.height),
      fmt::arg("verdict", review_verdict_name(result.verdict)), fmt::arg("reasons", reasons),
      fmt::arg("psnr", result.resemblance_psnr), fmt::arg("ssim", result.resemblance_ssim),
      fmt::arg("artifacts", result.artifact_fraction), fmt::arg("colour", result.color_shift),
      fmt::arg("crops", crops.empty() ? "<p>none</p>" : crops));
  f.close();
  if (!f) throw Error(ErrorKind::output, page.string(), "cannot write the report");
  temp.publish(true);
  return page;
}

}  // namespace hires
