#!/usr/bin/env bash
# Installs what hires needs on Debian 12 (when missing), then configures and builds incrementally.
# Usage: scripts/setup.sh [build-dir]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build}

packages=(
  g++ cmake ninja-build pkg-config
  libvips-dev libvips-tools      # image I/O, ICC, EXIF (and `vips` for the benchmark)
  libdnnl-dev                    # oneDNN: CPU convolutions
  zlib1g-dev                     # deflate inside PyTorch .pth archives
  libavformat-dev libavcodec-dev libswscale-dev libavutil-dev  # hires video (FFmpeg's libraries)
  libcli11-dev nlohmann-json3-dev libfmt-dev
  libcpp-httplib-dev libzip-dev  # the web app (hires serve): HTTP server, zip downloads
  libvulkan-dev glslc            # the vulkan backend: Vulkan loader and headers, GLSL -> SPIR-V
  mesa-vulkan-drivers            # lavapipe: a CPU Vulkan device, so the vulkan tests run anywhere
  vulkan-tools                   # vulkaninfo, to see what the driver reports
  libgtest-dev libbenchmark-dev
  clang-format clang-tidy
  python3                        # tools/check_layers.py (the floors test)
)
# Optional, not installed here (CI does not need it): libtorch-dev builds the trainer,
# build/train/hires-train (see docs/QUALITY.md).
"$root/scripts/apt-install.sh" setup "${packages[@]}"

if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" -- -j"$(nproc)"
