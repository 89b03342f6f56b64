#!/usr/bin/env bash
# The vulkan backend against the cpu backend: whole `hires` process (start, decode, model,
# encode) on a SIZE x SIZE photo-like input made 4x, with the built-in photo-x4 and, when
# ../shared has it, Real-ESRGAN's realesr-general-x4v3 (ncnn); then warm forward passes of
# realesr-general-x4v3's structure (SRVGG 64 features, 32 convs, random weights) through
# bench_engine_srvgg, with GFLOP/s. Rounds are interleaved (cpu, vulkan) so the machine's drift
# hits both alike. On a machine without a GPU, vulkan runs on Mesa's lavapipe (a CPU driver):
# that only shows correctness and overhead, not GPU speed. Prints a markdown table.
# Usage: bench/vulkan_vs_cpu.sh [size=128] [rounds=3] [gpu=-1 (the best device)]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
size=${1:-128}
rounds=${2:-3}
gpu=${3:--1}
hires="$root/build/hires"
engine="$root/build/bench/bench_engine_srvgg"
[ -x "$hires" ] && [ -x "$engine" ] || cmake --build "$root/build"
source "$root/bench/lib.sh"
general="$root/../shared/models/realesr-general-x4v3-ncnn/realesr-general-x4v3.param"
gpu_args=()
[ "$gpu" -ge 0 ] && gpu_args=(--gpu "$gpu")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
vips resize "$root/samples/sample.png" "$tmp/big.v" 3.2 --vscale 3.2
vips crop "$tmp/big.v" "$tmp/crop.v" 0 0 "$size" "$size"
vips cast "$tmp/crop.v" "$tmp/in.png" uchar
run() {  # prints the wall time of one hires run
  local s e
  s=$(date +%s.%N)
  "$hires" "$tmp/in.png" -o "$tmp/out.png" --overwrite --quiet "$@"
  e=$(date +%s.%N)
  echo "$e - $s" | bc -l
}
echo "device: $("$hires" devices | sed -n 2p)"
echo
echo "| model | input | cpu (s) | vulkan (s) | vulkan / cpu |"
echo "|---|---|---:|---:|---:|"
models=(photo-x4)
[ -f "$general" ] && models+=("$general")
for m in "${models[@]}"; do
  cpu=() vk=()
  for ((i = 0; i < rounds; i++)); do
    cpu+=("$(run -m "$m" --backend cpu)")
    vk+=("$(run -m "$m" --backend vulkan "${gpu_args[@]}")")
  done
  c=$(median "${cpu[@]}")
  v=$(median "${vk[@]}")
  printf '| %s | %sx%s | %.2f | %.2f | %.1f |\n' "$(basename "$m" .param)" "$size" "$size" \
    "$c" "$v" "$(echo "$v / $c" | bc -l)"
done
echo
echo "Warm forward passes, SRVGG 64 features x 32 convs x4 on ${size}x${size} (median of $rounds):"
echo
for b in cpu vulkan; do
  echo "- $b: $("$engine" "$size" "$rounds" 64 32 "$b" | head -1)"
done
