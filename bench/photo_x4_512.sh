#!/usr/bin/env bash
# The built-in models on the issues' speed case: a 512x512 input made 4x (2048x2048 PNG),
# whole `hires` process (start, decode, model, encode), interleaved in one run with Lanczos (the
# floor: same decode/encode, no model) and with Real-ESRGAN's realesr-general-x4v3 (ncnn, from
# ../shared, when present) - the model people would otherwise use. Budget: 3 s on 2 cores for
# photo-x4; the restore model (an interpolated one, --restore 0.5) and the default (the chooser's
# measuring plus its model) within 2.5x photo-x4.
# Usage: bench/photo_x4_512.sh [rounds=5] [threads=nproc]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=${1:-5}
threads=${2:-$(nproc)}
hires="$root/build/hires"
[ -x "$hires" ] || cmake --build "$root/build"
general="$root/../shared/models/realesr-general-x4v3-ncnn/realesr-general-x4v3.param"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# A photo-like input: the sample scene enlarged to 512x512 plus mild noise.
vips resize "$root/samples/sample.png" "$tmp/big.v" 3.2 --vscale 3.2
vips crop "$tmp/big.v" "$tmp/crop.v" 0 0 512 512
vips gaussnoise "$tmp/n.v" 512 512 --sigma 4 --mean 0
vips add "$tmp/crop.v" "$tmp/n.v" "$tmp/sum.v"
vips cast "$tmp/sum.v" "$tmp/in.png" uchar
run() {  # prints the wall time of one hires run
  local s e
  s=$(date +%s.%N)
  "$hires" "$tmp/in.png" -o "$tmp/out.png" --threads "$threads" --overwrite --quiet "$@"
  e=$(date +%s.%N)
  echo "$e - $s" | bc -l
}
photo=() lanczos=() general_t=() restore=() auto=()
for ((i = 0; i < rounds; i++)); do
  photo+=("$(run -m photo-x4)")
  restore+=("$(run -m restore-x4 --restore 0.5)")
  auto+=("$(run)")
  lanczos+=("$(run -m lanczos)")
  [ -f "$general" ] && general_t+=("$(run -m "$general")")
done
ratio() { printf '%.2f' "$(echo "$1 / $2" | bc -l)"; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
mp=$(median "${photo[@]}")
ml=$(median "${lanczos[@]}")
echo "threads=$threads rounds=$rounds input=512x512 output=2048x2048 PNG"
echo "photo-x4:           median ${mp} s  (${photo[*]})  budget 3 s: $(ratio "$mp" 3) of it"
mr=$(median "${restore[@]}")
ma=$(median "${auto[@]}")
echo "restore-x4@0.5:     median ${mr} s  (${restore[*]})  restore/photo-x4 = $(ratio "$mr" "$mp") (budget 2.5)"
echo "default (chooser):  median ${ma} s  (${auto[*]})  default/photo-x4 = $(ratio "$ma" "$mp")"
echo "lanczos:            median ${ml} s  (${lanczos[*]})  photo-x4/lanczos = $(ratio "$mp" "$ml")"
if ((${#general_t[@]})); then
  mg=$(median "${general_t[@]}")
  echo "realesr-general-x4v3: median ${mg} s  (${general_t[*]})  general/photo-x4 = $(ratio "$mg" "$mp")"
fi
