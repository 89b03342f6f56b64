#!/usr/bin/env bash
# Peak memory of a model upscale that is large on both ends: a 4096x4096 input at x4
# (16384x16384 = 268 MP out), streamed to a JPEG. The model is the tiny x4 test net
# (tests/golden/srvgg_tiny_leaky_x4.safetensors) so that the run takes minutes, not hours: memory
# is set by the tile bands and the encoder, not by the net's width (the band cache and one tile's
# activations are bounded by --memory-budget).
# Usage: bench/memory_4k_x4.sh [budget=1G]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ -x "$root/build/hires" ] || "$root/scripts/setup.sh"
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
vips gaussnoise "$tmp/n.v" 4096 4096 --sigma 40 --mean 128
vips bandjoin "$tmp/n.v $tmp/n.v $tmp/n.v" "$tmp/c.v"
vips cast "$tmp/c.v" "$tmp/in.jpg[Q=90]" uchar
budget=${1:-1G}
/usr/bin/time -f '%e s wall, %M KB peak RSS' "$root/build/hires" "$tmp/in.jpg" -o "$tmp/out.jpg" \
  -m "$root/tests/golden/srvgg_tiny_leaky_x4.safetensors" --memory-budget "$budget" --quiet 2>&1 |
  tail -1
vipsheader "$tmp/out.jpg"
