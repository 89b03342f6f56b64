#!/usr/bin/env bash
# hires vs PyTorch on RealESRGAN_x4plus's architecture (RRDBNet: 23 blocks, 64 features, growth
# 32, x4) with fixed random weights, 128x128 -> 512x512, same thread count, interleaved in one
# run. The weights (67 MB .pth, BasicSR names) are generated into a temp dir by
# bench/torch_rrdbnet.py, never committed. Three numbers per round:
#   torch   PyTorch warm forward pass, float32, inference mode (one pass after a warm-up)
#   engine  hires engine warm forward pass on the same .pth and input (bench_engine_model), which
#           also prints the max abs difference from PyTorch's float32 output
#   process the whole `hires upscale` process on a 128x128 PNG with the .pth (load the 67 MB
#           checkpoint, decode, infer, encode)
# The environment is passed through to all three (e.g. OMP_WAIT_POLICY, see docs/BENCHMARKS.md).
# Usage: bench/rrdbnet_vs_torch.sh [rounds=3] [threads=2]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"
rounds=${1:-3}
threads=${2:-2}
[ -x "$root/build/bench/bench_engine_model" ] || cmake --build "$root/build" -- -j2
require_torch
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 "$root/bench/torch_rrdbnet.py" make "$tmp" 128
noise_png "$tmp" "$tmp/in.png" 128
torch_t=() engine_t=() process_t=() diff=""
for ((i = 0; i < rounds; i++)); do
  torch_t+=("$(/usr/bin/python3 "$root/bench/torch_rrdbnet.py" time "$tmp" 1 "$threads")")
  line=$("$root/build/bench/bench_engine_model" "$tmp/rrdbnet_x4.pth" \
    "$tmp/rrdbnet_x4.io.safetensors" 1 "$threads" | head -1)
  engine_t+=("$(echo "$line" | sed -n 's/.*median=\([0-9.]*\).*/\1/p')")
  diff=$(echo "$line" | sed -n 's/.*max_abs_diff=\([0-9.e+-]*\).*/\1/p')
  s=$(date +%s.%N)
  "$root/build/hires" "$tmp/in.png" -o "$tmp/out.png" -m "$tmp/rrdbnet_x4.pth" -s 4 \
    --threads "$threads" --overwrite --quiet
  e=$(date +%s.%N)
  process_t+=("$(echo "$e - $s" | bc -l | cut -c1-6)")
done
mt=$(median "${torch_t[@]}")
me=$(median "${engine_t[@]}")
mp=$(median "${process_t[@]}")
echo "threads=$threads rounds=$rounds OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset} load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "torch   warm forward: median ${mt} s  (${torch_t[*]})"
echo "engine  warm forward: median ${me} s  (${engine_t[*]})  torch/engine = $(echo "$mt / $me" | bc -l | cut -c1-5)"
echo "process hires upscale: median ${mp} s  (${process_t[*]})  torch/process = $(echo "$mt / $mp" | bc -l | cut -c1-5)"
echo "engine vs torch float32 output: max abs diff ${diff}"
