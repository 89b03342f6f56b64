#!/usr/bin/env bash
# hires vs PyTorch on realesr-general-x4v3's architecture (64 features, 32 convs, PReLU, x4),
# 256x256 -> 1024x1024, same thread count, interleaved in one run. Three numbers per round:
#   torch   PyTorch warm forward pass (median of 3 inside one python process)
#   engine  hires engine warm forward pass, random weights (bench_engine_srvgg, median of 3)
#   process the whole `hires upscale` process on a 256x256 PNG with the real ncnn model from
#           ../shared (load, decode, infer, encode), when ../shared is present
# Usage: bench/srvgg_vs_torch.sh [rounds=5] [threads=nproc]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"
rounds=${1:-5}
threads=${2:-$(nproc)}
[ -x "$root/build/bench/bench_engine_srvgg" ] || cmake --build "$root/build"
require_torch
model="$root/../shared/models/realesr-general-x4v3-ncnn/realesr-general-x4v3.param"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
noise_png "$tmp" "$tmp/in.png" 256
torch_t=() engine_t=() process_t=()
for ((i = 0; i < rounds; i++)); do
  torch_t+=("$(/usr/bin/python3 "$root/bench/torch_srvgg.py" 256 3 "$threads")")
  engine_t+=("$(OMP_NUM_THREADS=$threads "$root/build/bench/bench_engine_srvgg" 256 3 |
    sed -n 's/.*median=\([0-9.]*\).*/\1/p')")
  if [ -f "$model" ]; then
    s=$(date +%s.%N)
    "$root/build/hires" "$tmp/in.png" -o "$tmp/out.png" -m "$model" --threads "$threads" \
      --overwrite --quiet
    e=$(date +%s.%N)
    process_t+=("$(echo "$e - $s" | bc -l)")
  fi
done
mt=$(median "${torch_t[@]}")
me=$(median "${engine_t[@]}")
echo "threads=$threads rounds=$rounds"
echo "torch   warm forward: median ${mt} s  (${torch_t[*]})"
echo "engine  warm forward: median ${me} s  (${engine_t[*]})  torch/engine = $(echo "$mt / $me" | bc -l | cut -c1-5)"
if ((${#process_t[@]})); then
  mp=$(median "${process_t[@]}")
  echo "process hires upscale: median ${mp} s  torch/process = $(echo "$mt / $mp" | bc -l | cut -c1-5)"
fi
