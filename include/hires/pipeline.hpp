// The one decision per image: what `hires IMAGE`, `hires check`, `hires eval -m auto` (and the
// web app and video after them) do with an image, made in one place.
//
//   hires::ImageFacts facts{.name = "in.jpg", .size = {640, 480}};
//   hires::UpscaleOptions opt;                 // the request: size, model, polish, encode
//   opt.size = hires::SizeRequest::by_width(2400);
//   hires::UpscalePlan plan = hires::plan_upscale(facts, opt);
//   // plan.out, plan.model, plan.passes, plan.notices: what upscale_file will do
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hires/guide.hpp"
#include "hires/hires.hpp"

namespace hires {

// ---- choose: the model `hires IMAGE` runs without -m, from what check measures

struct ModelChoice {
  // A built-in model (photo-x4, photo-x2, restore-x4, restore-x2) or a classic method (nearest
  // for pixel art; lanczos when this build has no built-in weights).
  std::string model;
  double restore = 0;  // 0..1 for the restore models: 0 = the photo model, 1 = full clean-up
  std::string reason;  // one line: what was measured and why this model
};

// The choice measures the centre of an image, at most this many pixels square, at full
// resolution (bounded time and memory on huge images; check and upscale measure the same).
inline constexpr int kChooseSide = 1024;
// `hires check` measures images up to this side squared whole, larger ones on their centre square.
inline constexpr int kCheckSide = 4096;

// How much clean-up the measures call for, 0 (clean) .. 1 (heavy JPEG blocks, noise or blur).
double restore_strength(const Measures& m);
// The model for an enlargement by `scale`. `restore` forces the strength (a restore model even
// for a clean image or pixel art); without it the strength comes from restore_strength.
ModelChoice choose_model(const Measures& m, double scale, std::optional<double> restore = {});
// Loads the choice: the photo model, the restore model, or the two interpolated at
// choice.restore; nullptr for a classic method.
std::shared_ptr<Model> load_choice(const ModelChoice& choice);

// ---- plan

// What the plan needs to know of an image.
struct ImageFacts {
  std::string name;  // the file, for messages
  Size size;
  bool has_alpha = false;
  int bits = 8;  // 8 or 16 per sample
  // For the content-aware default (UpscaleOptions::auto_model): the measures of the image's
  // centre, at most kChooseSide pixels square at full resolution, with the file's JPEG quality.
  std::optional<Measures> measures;
};

// Reads the facts of an image file: its header, and with `with_measures` the measures of its
// centre as the content-aware default takes them (the upscale path reads them the same way).
// Throws Error(input) for a file that cannot be decoded, Error(limit) for one over the limits.
ImageFacts read_facts(const std::filesystem::path& path, const Limits& limits, bool with_measures);

struct UpscalePlan {
  Size in;
  Size out;
  double scale = 1;  // the enlargement, the larger of the two axes'
  std::optional<double> dpi;
  // What runs: `passes` passes of a model of scale `model_scale`, then an exact resize to `out`
  // with `resize` (Lanczos-3 after a model; the classic method itself when no model runs).
  std::string model;   // "photo-x4", "restore-x4@0.60", a model file's name, or a method's
  ModelChoice choice;  // with auto_model: the built-in choice, its strength and why
  std::shared_ptr<Model> given;  // the model the request named (UpscaleOptions::model)
  int model_scale = 0;           // 0: no model
  int passes = 0;
  Method resize = Method::lanczos;
  PolishOptions polish;
  std::vector<std::string> notices;  // one line each: what the user should know of the plan
};

// Plans the upscale of an image with these facts. `format`, when known, adds what the output
// format changes (alpha flattened, 16 bits written as 8). Throws Error(limit) when the output
// would be over options.limits.max_output_pixels, Error(usage) for an impossible size request.
UpscalePlan plan_upscale(const ImageFacts& facts, const UpscaleOptions& options,
                         Format format = Format::from_extension);

// The plan's model, loaded (the built-in choice, or blend of photo and restore), the model
// the request named, or nullptr when only a classic resize runs.
std::shared_ptr<Model> load_plan_model(const UpscalePlan& plan);

// "2 4x passes of photo-x4, then an exact Lanczos resize to 5120x3840 (8.00x)".
std::string describe_plan(const UpscalePlan& plan);

// The size a request runs at: `asked` when the user gave one; else the named model's own scale
// (`options.model`, as realesrgan-ncnn and Upscayl do); else `fallback`. Set the model first.
SizeRequest requested_size(const std::optional<SizeRequest>& asked, const UpscaleOptions& options,
                           const SizeRequest& fallback = SizeRequest::by_scale(4.0));

// Sets the request's model from a method or model text as the user gave it: a classic method,
// a built-in or file model (load_model), or empty for the content-aware default; `restore` is the
// strength for the default or for -m restore-xN (a usage error with any other model).
void set_method(UpscaleOptions& options, const std::string& text,
                const std::vector<std::filesystem::path>& model_dirs,
                std::optional<double> restore);

}  // namespace hires
