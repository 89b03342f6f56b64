#!/usr/bin/env bash
# Scores a training run's latest export on Set5 every few minutes (appends to RUN/eval.txt).
# Usage: train/watch.sh train/runs/photo-x4 4 [minutes]   (run it with nohup nice -n 19 ... &)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
run=$1
scale=$2
minutes=${3:-10}
bench=${HIRES_SHARED:-$root/../shared}/datasets/bench/Set5
last=""
while true; do
  if [ -f "$run/latest.safetensors" ] && [ -f "$run/state.txt" ]; then
    iter=$(cat "$run/state.txt")
    if [ "$iter" != "$last" ]; then
      cp "$run/latest.safetensors" "$run/scored.safetensors"
      line=$("$root/build/hires" eval "$bench" -s "$scale" -m "$run/scored.safetensors" \
        --threads 1 | tail -1)
      echo "$(date -u +%FT%TZ) iter $iter: $line" >>"$run/eval.txt"
      last=$iter
    fi
  fi
  sleep $((minutes * 60))
done
