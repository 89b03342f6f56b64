#!/usr/bin/env bash
# The main job on a fresh machine: set up, build, and upscale the sample image 4x.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh"
mkdir -p "$root/out"
"$root/build/hires" "$root/samples/sample.png" -o "$root/out/sample-x4.png" -s 4 --overwrite "$@"
