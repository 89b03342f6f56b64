#!/usr/bin/env bash
# Peak RSS and wall time per architecture and --memory-budget (issue 11: every architecture's
# peak must follow the budget): a 256x256 crop of OST_009.png, each model at its own scale.
# Needs ../shared (models and the photo). Usage: bench/memory_per_arch.sh [budgets="1G 256M 64M"]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared="$root/../shared"
budgets=${1:-"1G 256M 64M"}
hires="$root/build/hires"
[ -d "$shared/models" ] || { echo "bench: ../shared is absent: skipping"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
vips crop "$shared/datasets/real/OST_009.png" "$tmp/in.png" 96 192 256 256
models=(
  "photo-x4 (SRVGG, built in)|photo-x4"
  "realesr-general-x4v3 (SRVGG, ncnn)|$shared/models/realesr-general-x4v3-ncnn/realesr-general-x4v3.param"
  "waifu2x noise1 2x (ncnn)|$shared/models/waifu2x-ncnn/noise1_scale2.0x_model.param"
  "Real-CUGAN up4x (U-Net + SE, ncnn)|$shared/models/realcugan-ncnn/up4x-conservative.param"
)
printf '| model | budget | seconds | peak RSS |\n|---|---|---|---|\n'
for entry in "${models[@]}"; do
  name=${entry%%|*}
  model=${entry#*|}
  for b in $budgets; do
    /usr/bin/time -f "%e %M" -o "$tmp/t" "$hires" "$tmp/in.png" -o "$tmp/out.png" -m "$model" \
      --memory-budget "$b" --overwrite --quiet
    read -r secs kb < "$tmp/t"
    printf '| %s | %s | %s | %d MB |\n' "$name" "$b" "$secs" $((kb / 1024))
  done
done
