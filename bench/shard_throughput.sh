#!/usr/bin/env bash
# Images per hour for one `hires run` worker (docs/SCALE.md): the whole `hires` process on
# photo-like JPEGs of typical sizes made 4x (JPEG out), with the built-in default (no -m: the
# chooser measures, then photo-x4 or restore-x4 runs) and with -m lanczos (no model), interleaved.
# Prints medians, images/hour (3600 / median) and the seconds per megapixel that the manifest's
# cost estimate uses (src/pipeline/manifest.cpp).
# Usage: bench/shard_throughput.sh [rounds=3] [threads=nproc]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=${1:-3}
threads=${2:-$(nproc)}
hires="$root/build/hires"
[ -x "$hires" ] || cmake --build "$root/build"
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sizes=(512x512 1024x768 1600x1200)
for s in "${sizes[@]}"; do  # the sample scene enlarged, mild noise, saved as JPEG quality 90
  w=${s%x*} h=${s#*x}
  vips resize "$root/samples/sample.png" "$tmp/big.v" "$(echo "$w / 160 + 0.1" | bc -l)" \
    --vscale "$(echo "$h / 160 + 0.1" | bc -l)"
  vips crop "$tmp/big.v" "$tmp/crop.v" 0 0 "$w" "$h"
  vips gaussnoise "$tmp/n.v" "$w" "$h" --sigma 4 --mean 0
  vips add "$tmp/crop.v" "$tmp/n.v" "$tmp/sum.v"
  vips cast "$tmp/sum.v" "$tmp/$s.v" uchar
  vips copy "$tmp/$s.v" "$tmp/$s.jpg[Q=90]"
done
run() {  # prints the wall time of one hires run
  local in=$1 st en
  shift
  st=$(date +%s.%N)
  "$hires" "$in" -o "$tmp/out.jpg" --threads "$threads" --overwrite --quiet "$@"
  en=$(date +%s.%N)
  echo "$en - $st" | bc -l
}
declare -A times
for ((i = 0; i < rounds; i++)); do
  for s in "${sizes[@]}"; do
    times[$s.default]+=" $(run "$tmp/$s.jpg")"
    times[$s.lanczos]+=" $(run "$tmp/$s.jpg" -m lanczos)"
  done
done
echo "threads=$threads rounds=$rounds load=$(cut -d' ' -f1-3 /proc/loadavg) 4x, JPEG in and out"
for s in "${sizes[@]}"; do
  w=${s%x*} h=${s#*x}
  in_mp=$(echo "$w * $h / 1000000" | bc -l)
  out_mp=$(echo "$in_mp * 16" | bc -l)
  for m in default lanczos; do
    # shellcheck disable=SC2086
    med=$(median ${times[$s.$m]})
    printf '%-9s %-8s median %6.2f s  %6.0f images/hour  %.3f s per output MP  (%s)\n' \
      "$s" "$m" "$med" "$(echo "3600 / $med" | bc -l)" "$(echo "$med / $out_mp" | bc -l)" \
      "${times[$s.$m]# }"
  done
done
