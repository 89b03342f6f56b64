#!/usr/bin/env bash
# Issue 13 benchmark: `hires video` frames per second on a 640x360 clip at 2x, with the default
# model and with -m lanczos, against FFmpeg's own Lanczos scaling of the same clip when the
# ffmpeg program is installed (it is used for this comparison only).
#
#   bench/video.sh [RESULTS.md]
#
# The clip is made by build/bench/bench_make_clip (a moving square over gradients, H.264 at
# 24 fps, one AAC track). Every run encodes H.264 with libx264 at CRF 18 (preset medium), so the
# encoder's share is the same in all rows. Each command runs BENCH_REPS times, interleaved; the
# report gives median wall seconds, frames/s and peak RSS (`/usr/bin/time -f '%e %M'`), and for
# hires the share of each stage's busy time (decode, upscale, encode; `--json` stage_seconds).
# FFmpeg's program is installed for the comparison when missing (Debian's ffmpeg package; hires
# itself uses only FFmpeg's libraries).
#
# Environment:
#   BENCH_REPS          repetitions (default 3)
#   BENCH_FRAMES        frames for lanczos and ffmpeg (default 48)
#   BENCH_MODEL_FRAMES  frames for the default model (default 12; it is ~100x slower)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
results="${1:-}"
reps="${BENCH_REPS:-3}"
frames="${BENCH_FRAMES:-48}"
model_frames="${BENCH_MODEL_FRAMES:-12}"
hires="$root/build/hires"
make_clip="$root/build/bench/bench_make_clip"
[ -x "$hires" ] && [ -x "$make_clip" ] || { echo "build first (cmake --build build)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$make_clip" "$work/in.mp4" 640 360 "$frames"
model_seconds=$(awk -v n="$model_frames" 'BEGIN { printf "%.4f", n / 24 }')

declare -A wall rss stages
run() {  # run NAME COMMAND...
  local name=$1; shift
  rm -f "$work/out.mp4"
  /usr/bin/time -f '%e %M' -o "$work/time" "$@" >"$work/stdout" 2>/dev/null
  read -r w m <"$work/time"
  wall[$name]+="$w "
  rss[$name]+="$m "
  # hires --json: the done event's stage busy times, as shares of their sum
  stages[$name]=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    try: e = json.loads(line)
    except ValueError: continue
    if e.get("event") == "done":
        s = e["stage_seconds"]; t = sum(s.values()) or 1
        print("/".join("%.0f" % (100 * s[k] / t) for k in ("decode", "upscale", "encode")) + " %")
' "$work/stdout" 2>/dev/null || true)
}
command -v ffmpeg >/dev/null || "$root/scripts/apt-install.sh" bench ffmpeg || true
have_ffmpeg=0
command -v ffmpeg >/dev/null && have_ffmpeg=1
for ((i = 0; i < reps; i++)); do
  run lanczos "$hires" video "$work/in.mp4" -o "$work/out.mp4" -m lanczos -s 2 --json
  run model "$hires" video "$work/in.mp4" -o "$work/out.mp4" -s 2 --duration "$model_seconds" --json
  if ((have_ffmpeg)); then
    run ffmpeg ffmpeg -nostdin -y -i "$work/in.mp4" -vf scale=1280:720:flags=lanczos \
      -c:v libx264 -crf 18 -preset medium -c:a copy "$work/out.mp4"
  fi
done

row() {  # row NAME LABEL FRAMES
  # shellcheck disable=SC2086
  local w m
  w=$(median ${wall[$1]})
  m=$(median ${rss[$1]})
  awk -v l="$2" -v w="$w" -v n="$3" -v m="$m" -v s="${stages[$1]:--}" \
    'BEGIN { printf "| %s | %d | %.2f | %.2f | %.0f | %s |\n", l, n, w, n / w, m / 1024, s }'
}
{
  echo "### hires video, 640x360 -> 1280x720 (2x), H.264 CRF 18 ($(date -u +%Y-%m-%d), $(nproc) cores)"
  echo
  echo "Median of $reps runs; wall time includes start-up, decode and encode."
  echo
  echo "| command | frames | seconds | frames/s | peak RSS (MiB) | decode/upscale/encode busy |"
  echo "|---|---|---|---|---|---|"
  row lanczos "hires video -m lanczos -s 2" "$frames"
  row model "hires video -s 2 (default model: $("$hires" video "$work/in.mp4" -o "$work/m.mp4" -s 2 --duration 0.04 --json 2>/dev/null | sed -n 's/.*"model":"\([^"]*\)".*/\1/p'))" "$model_frames"
  if ((have_ffmpeg)); then
    row ffmpeg "ffmpeg -vf scale=...:flags=lanczos" "$frames"
  else
    echo "| ffmpeg lanczos | - | - | - | - | (ffmpeg program not installed) |"
  fi
  echo
} | tee -a "${results:-/dev/null}"
