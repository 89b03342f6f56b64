// The resampling filter behind each classic method (shared by upscale and eval).
#pragma once

#include "core/resample.hpp"
#include "hires/hires.hpp"

namespace hires::core {

Filter filter_for(Method m);

}  // namespace hires::core
