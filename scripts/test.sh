#!/usr/bin/env bash
# Runs every check: build, formatting, clang-tidy (about 6 minutes on 2 cores), the ASan + UBSan
# build with short fuzzing runs (scripts/sanitize.sh, about 10 minutes), then all tests under CTest.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/setup-web-tests.sh"
"$root/scripts/check-format.sh"
"$root/scripts/tidy.sh"
"$root/scripts/sanitize.sh"
cd "$root/build"
ctest --output-on-failure -j"$(nproc)" "$@"
