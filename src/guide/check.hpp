// The assessment half of `hires check` (findings, content, verdict); the pipeline adds the
// recommendation from its plan (pipeline/check.cpp).
#pragma once

#include "hires/guide.hpp"

namespace hires::guide {

// Measures, content, findings, target size, scale and verdict of an image; no recommendation.
CheckResult assess(const Pixels& image, const CheckOptions& options);
// The --denoise level the measures call for, 0..3.
int denoise_level(const Measures& m);
// A printing screen's dots, which the classical filter should soften before any model.
bool has_halftone(const Measures& m);
// Beyond 8x the picture is mostly invented.
bool is_large_scale(double scale);

}  // namespace hires::guide
