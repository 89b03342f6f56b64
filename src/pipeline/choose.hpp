// Facts of the built-in choices, read from their names (no weights loaded).
#pragma once

#include <string>
#include <string_view>

#include "hires/pipeline.hpp"

namespace hires::pipeline {

// The scale of a built-in model of this build named "...-xN" (0: a classic method, or a model
// this build lacks).
int builtin_scale(std::string_view name);
// The name of the model the choice loads: "photo-x4", "restore-x4", "restore-x4@0.60".
std::string choice_name(const ModelChoice& choice);

}  // namespace hires::pipeline
