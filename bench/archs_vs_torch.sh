#!/usr/bin/env bash
# hires vs PyTorch on SPAN (48 features, 6 blocks), PLKSR (64 dim, 28 blocks, 17x17) and
# RealPLKSR (also: swinir-light, swinir, dat-light, omnisr, srformer-light, mosr, hat-s, drct,
# rgt-s) at x4,
# 256x256 -> 1024x1024, random weights, same thread count, interleaved:
# per round PyTorch's warm forward pass (median of REPS in one python process), then hires'
# (bench_engine_model, median of REPS, which also checks its output against PyTorch's).
# Usage: bench/archs_vs_torch.sh [rounds=3] [threads=nproc] [archs="span plksr realplksr"] [reps=1]
#        [size=256] (the large transformers, hat-s, drct and rgt-s, take minutes a pass here at 256)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"
rounds=${1:-3}
threads=${2:-$(nproc)}
archs=${3:-span plksr realplksr}
reps=${4:-1}
size=${5:-256}
[ -x "$root/build/bench/bench_engine_model" ] || cmake --build "$root/build" -t bench_engine_model
require_torch
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "threads=$threads rounds=$rounds reps=$reps input ${size}x${size} x4"
for arch in $archs; do
  /usr/bin/python3 "$root/bench/torch_archs.py" make "$arch" "$tmp" "$size"
  torch_t=() engine_t=() diff=""
  for ((i = 0; i < rounds; i++)); do
    torch_t+=("$(/usr/bin/python3 "$root/bench/torch_archs.py" time "$arch" "$tmp" "$reps" "$threads")")
    line=$(OMP_NUM_THREADS=$threads "$root/build/bench/bench_engine_model" "$tmp/$arch.pth" \
      "$tmp/$arch.io.safetensors" "$reps" "$threads")
    engine_t+=("$(echo "$line" | sed -n 's/.*median=\([0-9.]*\).*/\1/p')")
    diff=$line
  done
  mt=$(median "${torch_t[@]}")
  me=$(median "${engine_t[@]}")
  echo "$arch: torch median ${mt} s (${torch_t[*]}), hires median ${me} s (${engine_t[*]}), torch/hires = $(echo "$mt / $me" | bc -l | cut -c1-5); last hires run: $diff"
done
