#!/usr/bin/env bash
# The restoration tables of docs/QUALITY.md: PSNR-Y / SSIM-Y at x4 per degradation recipe and
# method, fixed seed, on the bench sets (../shared/datasets/bench). Prints one TSV line per
# (recipe, set, method): recipe set method psnr ssim seconds-per-image.
# Usage: bench/eval_restore.sh [methods...]   (default: all rows of the tables)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
hires="$root/build/hires"
bench="$root/../shared/datasets/bench"
general="$root/../shared/models/realesr-general-x4v3-ncnn/realesr-general-x4v3.param"
[ -d "$bench" ] || { echo "eval_restore: $bench is absent: skipped" >&2; exit 0; }
methods=("$@")
((${#methods[@]})) || methods=(bicubic lanczos photo-x4 restore-x4@0.5 restore-x4 auto general)
one() {  # recipe set method
  local args=(-m "$3")
  case $3 in
    general) [ -f "$general" ] || return 0; args=(-m "$general") ;;
    restore-x4@*) args=(-m restore-x4 --restore "${3#restore-x4@}") ;;
  esac
  "$hires" eval "$bench/$2" -s 4 --degrade "$1" --seed 1 --json "${args[@]}" |
    python3 -c 'import json,sys
for l in sys.stdin:
    j = json.loads(l)
    if j["event"] == "summary":
        print("\t".join(["'"$1"'", "'"$2"'", "'"$3"'", "%.2f" % j["psnr"], "%.4f" % j["ssim"], "%.2f" % j["seconds"]]))'
}
for m in "${methods[@]}"; do
  for r in light medium heavy; do
    for s in Set14 BSD68; do one "$r" "$s" "$m"; done
  done
  for r in aliased bicubic; do
    for s in Set5 BSD68 Urban100; do one "$r" "$s" "$m"; done
  done
done
