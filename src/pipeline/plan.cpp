// plan_upscale: the one decision of what happens to an image (size, model, passes, resize,
// polish, notices), shared by upscale, check and eval.
#include <fmt/format.h>
#include <algorithm>
#include <cmath>

#include "hires/error.hpp"
#include "hires/pipeline.hpp"
#include "pipeline/choose.hpp"

namespace hires {

UpscalePlan plan_upscale(const ImageFacts& facts, const UpscaleOptions& options, Format format) {
  UpscalePlan p;
  p.in = facts.size;
  const SizePlan sized = plan_size(facts.size, options.size);
  p.out = sized.out;
  p.dpi = sized.dpi ? sized.dpi : options.encode.dpi;
  const auto out_pixels = static_cast<std::uint64_t>(p.out.width) * p.out.height;
  if (out_pixels > options.limits.max_output_pixels) {
    throw Error(ErrorKind::limit, facts.name,
                fmt::format("the output would be {}x{} ({:.1f} MP), over the output limit of "
                            "{:.1f} MP",
                            p.out.width, p.out.height, out_pixels / 1e6,
                            options.limits.max_output_pixels / 1e6),
                "raise `max_output_pixels` or ask for a smaller size");
  }
  p.scale = std::max(static_cast<double>(p.out.width) / facts.size.width,
                     static_cast<double>(p.out.height) / facts.size.height);
  p.resize = options.method;
  p.polish = options.polish;

  if (options.auto_model) {
    if (!facts.measures) {
      throw Error(ErrorKind::internal, facts.name,
                  "the automatic model needs the image's measures");
    }
    p.choice = choose_model(*facts.measures, p.scale, options.restore);
    p.model_scale = pipeline::builtin_scale(p.choice.model);
    if (p.model_scale == 0) {
      p.resize = parse_method(p.choice.model);
      p.model = p.choice.model;
    } else {
      p.model = pipeline::choice_name(p.choice);
    }
  } else if (options.model) {
    p.given = options.model;
    p.model = model_info(*options.model).name;
    p.model_scale = model_info(*options.model).scale;
  } else {
    p.model = std::string(method_name(options.method));
  }
  if (p.model_scale > 0) {
    p.passes = model_passes(p.scale, p.model_scale);
    // The model's own size comes before the final resize, and can be far larger than the output
    // (a 16x model asked for 2x): it is held to the same limit.
    const double grow = std::pow(static_cast<double>(p.model_scale), p.passes);
    const double inner_w = facts.size.width * grow;
    const double inner_h = facts.size.height * grow;
    if (inner_w * inner_h > static_cast<double>(options.limits.max_output_pixels)) {
      throw Error(
          ErrorKind::limit, facts.name,
          fmt::format("{} ({}x, {} pass{}) makes {:.0f}x{:.0f} ({:.1f} MP) before the "
                      "final resize, over the output limit of {:.1f} MP",
                      p.model, p.model_scale, p.passes, p.passes > 1 ? "es" : "", inner_w, inner_h,
                      inner_w * inner_h / 1e6, options.limits.max_output_pixels / 1e6),
          "raise `max_output_pixels` or use a model of a smaller scale");
    }
    if (p.passes == 0) {
      p.notices.push_back(
          fmt::format("{:.2f}x needs no AI pass: resized with {}", p.scale, method_name(p.resize)));
    }
  }

  if (format != Format::from_extension) {
    if (facts.has_alpha && !format_has_alpha(format)) {
      const Rgb& c = options.encode.background;
      p.notices.push_back(
          fmt::format("{} has no transparency: alpha flattened onto #{:02x}{:02x}{:02x}",
                      format_name(format), c.r, c.g, c.b));
    }
    if (facts.bits > 8 && !format_has_16bit(format)) {
      p.notices.push_back(fmt::format("{} holds 8 bits per sample: 16-bit input written as 8-bit",
                                      format_name(format)));
    }
  }
  return p;
}

std::shared_ptr<Model> load_plan_model(const UpscalePlan& plan) {
  if (plan.passes == 0) return nullptr;
  if (plan.given) return plan.given;
  return load_choice(plan.choice);
}

std::string describe_plan(const UpscalePlan& plan) {
  const std::string size = fmt::format("{}x{}", plan.out.width, plan.out.height);
  if (plan.passes == 0) {
    const std::string method = plan.resize == Method::nearest ? "nearest-neighbour"
                               : plan.resize == Method::lanczos
                                   ? "Lanczos"
                                   : std::string(method_name(plan.resize));
    return fmt::format("a {} resize to {} ({:.2f}x)", method, size, plan.scale);
  }
  const std::string model =
      plan.choice.restore > 0
          ? fmt::format("{} (--restore {:.2f})", plan.choice.model, plan.choice.restore)
          : plan.model;
  return fmt::format("{} {}x pass{} of {}, then an exact Lanczos resize to {} ({:.2f}x)",
                     plan.passes, plan.model_scale, plan.passes > 1 ? "es" : "", model, size,
                     plan.scale);
}

void set_method(UpscaleOptions& options, const std::string& text,
                const std::vector<std::filesystem::path>& model_dirs,
                std::optional<double> restore) {
  if (restore && !(*restore >= 0.0 && *restore <= 1.0)) {
    throw Error(ErrorKind::usage, "restore",
                fmt::format("'{}' is not a strength from 0 to 1", *restore),
                "0 keeps the photo model's faithful look, 1 cleans up fully, e.g. `restore` 0.5");
  }
  options.model = nullptr;
  options.auto_model = text.empty() || text == "auto";
  options.restore.reset();
  if (options.auto_model) {
    options.restore = restore;  // per image, from what check measures, unless given
    return;
  }
  if (auto m = find_method(text)) {
    options.method = *m;
  } else {
    options.model = load_model(text, model_dirs);
  }
  if (!restore) return;
  const std::string name = options.model ? model_info(*options.model).name : text;
  if (name != "restore-x4" && name != "restore-x2") {
    throw Error(ErrorKind::usage, "restore",
                fmt::format("works with the built-in restore models, not '{}'", text),
                "leave out `method`, or use `method` restore-x4 or restore-x2");
  }
  options.model = load_builtin_blend("photo-" + name.substr(8), name, *restore);
}

SizeRequest requested_size(const std::optional<SizeRequest>& asked, const UpscaleOptions& options,
                           const SizeRequest& fallback) {
  if (asked) return *asked;
  if (options.model) return SizeRequest::by_scale(model_info(*options.model).scale);
  return fallback;
}

}  // namespace hires
