#!/usr/bin/env bash
# Data for the content-aware default's ramps (src/pipeline/choose.cpp): training images (never the
# bench sets) degraded by each eval recipe, their check measures, and PSNR at each restoration
# strength; then tools/calibrate_choose.py fits the ramps. Usage:
#   tools/calibrate_choose.sh HR_DIR OUT_DIR [hires binary]
# e.g. every 5th of ../shared/datasets/train/bsd200 (40 images) copied to HR_DIR.
set -euo pipefail
hr=$1 out=$2 hires=${3:-build/hires}
mkdir -p "$out"
for r in bicubic aliased light medium heavy; do
  "$hires" eval "$hr" -s 4 -m nearest --degrade $r --seed 7 --save "$out/lr/$r" --save-lr \
    --threads 1 >/dev/null
  "$hires" check --json "$out/lr/$r"/*-lr.png >"$out/check-$r.jsonl" 2>/dev/null
  for s in 0 0.25 0.5 0.75 1; do
    "$hires" eval "$hr" -s 4 -m restore-x4 --restore $s --degrade $r --seed 7 --json \
      --threads 1 >"$out/eval-$r-$s.jsonl"
  done
done
python3 "$(dirname "$0")/calibrate_choose.py" "$out"
