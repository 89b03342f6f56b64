// Vulkan tests run on any Vulkan device (Mesa's lavapipe in CI) and skip visibly when there is
// none at all, or when this build has no Vulkan backend.
#pragma once

#include <gtest/gtest.h>

#include "hires/devices.hpp"

#define HIRES_REQUIRE_VULKAN()                                                                     \
  do {                                                                                             \
    const ::hires::GpuList gpus_ = ::hires::list_gpus();                                           \
    if (gpus_.devices.empty()) GTEST_SKIP() << "no Vulkan device: " << gpus_.note << ": skipping"; \
  } while (false)
