// libvips side of the guide (check, review, polish): decoding to float pixels, writing PNGs,
// and the polish steps of the upscale path as lazy libvips images.
#pragma once

#include <filesystem>
#include <string>
#include <vips/vips8>

#include "hires/guide.hpp"
#include "hires/hires.hpp"

namespace hires::io {

// Decodes `path` upright, flattened onto white, as gamma-encoded values in [0, 1] (1 channel for
// grey, else 3). Throws Error(input/limit).
Pixels load_pixels(const std::filesystem::path& path, const Limits& limits);

// The centre of a decoded image (at most max_side x max_side, full resolution, so noise and
// JPEG blocks stay measurable) as Pixels for check's measures. Throws Error(input).
Pixels measure_pixels(const vips::VImage& decoded, int max_side, const std::string& name);

// Writes 8-bit PNG (1 or 3 channels). Throws Error(output).
void save_png(const Pixels& pixels, const std::filesystem::path& path);

// `in` (8/16-bit, 1-4 bands, decoded) with its colour denoised at `level` (1..3); alpha and
// metadata kept. The image is computed in memory.
vips::VImage denoise_image(const vips::VImage& in, int level, const std::string& name);

// The final-size image `out` (8/16-bit, 1-4 bands) with the colour fix (towards `source`, the
// decoded input, flattened onto `background` when `out` has no alpha) and the unsharp mask of
// `polish` applied in linear light. Lazy; returns `out` itself when there is nothing to do.
vips::VImage polish_output(const vips::VImage& out, const vips::VImage& source,
                           const PolishOptions& polish, const Rgb& background);

}  // namespace hires::io
