#!/usr/bin/env bash
# Issue 2 benchmark: `hires upscale -m lanczos -s 4` against libvips's own CLI
# (`vips resize ... 4 --kernel lanczos3`) on a ~12 MP photo, PNG and JPEG output.
#
#   bench/resize_vs_vips.sh [RESULTS.md]
#
# Both tools run in the same invocation, interleaved per repetition
# (hires png, vips png, hires jpg, vips jpg, then again), so slow drift on a shared machine hits
# both alike. Each run is timed with `/usr/bin/time -f '%e %M %U %S'` (wall seconds, peak RSS in
# KiB, user and system CPU seconds; CPU time is the steadier number on a busy shared machine).
# Prints a markdown report to stdout; with RESULTS.md given, also appends it there.
#
# Environment:
#   BENCH_REPS   repetitions per command (default 5)
#   BENCH_MP     input size in megapixels (default 12)
#   BENCH_KEEP   1 = keep the temp folder (input and last outputs) for inspection
#   TMPDIR       where the temp folder goes (default /tmp); needs ~0.5 GB free
#
# Input: the first .jpg/.jpeg/.png (by name) in ../shared/datasets/train/wikipedia (relative to
# the repo root), enlarged with `vips resize` to about BENCH_MP megapixels (aspect kept) and saved
# as JPEG Q92. Without ../shared the benchmark is skipped (exit 0).
#
# Fairness notes:
# - JPEG: hires writes Q90 with optimized Huffman coding by default; vips's default is Q75, so vips
#   is asked for the same thing (`OUT.jpg[Q=90]`: hires drops optimize_coding above 50 MP of
#   output, since libjpeg then buffers every coefficient). PNG: both use compression 6.
# - Threads: hires uses all cores (--threads 0); vips uses its default concurrency (all cores
#   unless VIPS_CONCURRENCY is set; the report says which).
# - libvips 8.14 upsizes with its bicubic interpolator whatever --kernel says; the report
#   checks and states this, since hires really applies Lanczos-3.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
data="$root/../shared/datasets/train/wikipedia"
results="${1:-}"
reps="${BENCH_REPS:-5}"
target_mp="${BENCH_MP:-12}"
hires="$root/build/hires"

log() { printf '%s\n' "$*" >&2; }
die() { log "resize_vs_vips: error: $*"; exit 1; }

[[ "$reps" =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPS must be a positive integer, got '$reps'"
[[ "$target_mp" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "BENCH_MP must be a number, got '$target_mp'"

if [[ ! -d "$data" ]]; then
  echo "SKIP: ../shared/datasets/train/wikipedia absent (looked for $data)"
  exit 0
fi
data="$(cd "$data" && pwd -P)"

command -v vips >/dev/null || die "the vips CLI is missing (apt-get install libvips-tools)"
command -v vipsheader >/dev/null || die "vipsheader is missing (apt-get install libvips-tools)"

if [[ ! -x /usr/bin/time ]]; then
  log "installing GNU time (/usr/bin/time) with apt-get ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q time >&2 || { apt-get update -q >&2 && apt-get install -y -q time >&2; } ||
    die "could not install the 'time' package; install it and rerun"
  [[ -x /usr/bin/time ]] || die "/usr/bin/time still missing after installing 'time'"
fi

if [[ ! -x "$hires" ]]; then
  log "build/hires missing; running cmake --build build ..."
  cmake --build "$root/build" >&2 || die "cmake --build build failed"
  [[ -x "$hires" ]] || die "build/hires still missing after the build"
fi

src="$(find "$data" -maxdepth 1 -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' \) |
  LC_ALL=C sort | head -n 1)"
[[ -n "$src" ]] || die "no .jpg/.png in $data"

work="$(mktemp -d "${TMPDIR:-/tmp}/hires-bench.XXXXXX")"
if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
  log "keeping $work"
else
  trap 'rm -rf "$work"' EXIT
fi

# --- the ~12 MP input -------------------------------------------------------------------------
sw="$(vipsheader -f width "$src")"
sh="$(vipsheader -f height "$src")"
prep_scale="$(awk -v w="$sw" -v h="$sh" -v mp="$target_mp" 'BEGIN { printf "%.6f", sqrt(mp * 1e6 / (w * h)) }')"
input="$work/input.jpg"
log "building input: $src (${sw}x${sh}) x$prep_scale -> $input"
vips resize "$src" "${input}[Q=92]" "$prep_scale" --kernel lanczos3
iw="$(vipsheader -f width "$input")"
ih="$(vipsheader -f height "$input")"
ib="$(vipsheader -f bands "$input")"

# --- does vips really use lanczos3 when enlarging? ----------------------------------------------
small="$work/kcheck-in.png"
vips resize "$input" "$small" 0.05 --kernel lanczos3
vips resize "$small" "$work/kcheck-cubic.png" 4 --kernel cubic
vips resize "$small" "$work/kcheck-lanczos3.png" 4 --kernel lanczos3
md5_cubic="$(md5sum <"$work/kcheck-cubic.png" | cut -d' ' -f1)"
md5_lanczos="$(md5sum <"$work/kcheck-lanczos3.png" | cut -d' ' -f1)"
if [[ "$md5_cubic" == "$md5_lanczos" ]]; then
  kernel_note="identical (md5 $md5_cubic): this libvips enlarges with its bicubic interpolator even when asked for lanczos3"
else
  kernel_note="different (cubic $md5_cubic, lanczos3 $md5_lanczos): this libvips honours --kernel when enlarging"
fi

# --- timed runs -------------------------------------------------------------------------------
# run NAME OUTFILE CMD... : times one command, appends "wall_s peak_kib cpu_s" to $work/NAME.times
run() {
  local name="$1" out="$2"
  shift 2
  rm -f "$out"
  sync
  local tf="$work/last.time"
  if ! /usr/bin/time -f '%e %M %U %S' -o "$tf" "$@" >"$work/last.log" 2>&1; then
    cat "$work/last.log" >&2
    die "$name failed: $*"
  fi
  [[ -s "$out" ]] || die "$name wrote no $out"
  tail -n 1 "$tf" | awk '{ printf "%s %s %.2f\n", $1, $2, $3 + $4 }' >>"$work/$name.times"
  log "  $name: $(tail -n 1 "$work/$name.times") (wall s, peak KiB, CPU s)"
}

vips_jpg_opts="Q=90"
for i in $(seq 1 "$reps"); do
  log "repetition $i/$reps"
  run hires_png "$work/hires.png" "$hires" upscale "$input" -m lanczos -s 4 -o "$work/hires.png" --overwrite --quiet
  run vips_png "$work/vips.png" vips resize "$input" "$work/vips.png" 4 --kernel lanczos3
  run hires_jpg "$work/hires.jpg" "$hires" upscale "$input" -m lanczos -s 4 -o "$work/hires.jpg" --overwrite --quiet
  run vips_jpg "$work/vips.jpg" vips resize "$input" "$work/vips.jpg[$vips_jpg_opts]" 4 --kernel lanczos3
done

# --- statistics -------------------------------------------------------------------------------
# median of column COL (1 = wall s, 2 = peak KiB, 3 = CPU s) of NAME.times
median() {
  cut -d' ' -f"$2" "$work/$1.times" | sort -g |
    awk '{ a[NR] = $1 } END { printf "%.2f\n", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
maxcol() { cut -d' ' -f"$2" "$work/$1.times" | sort -g | tail -n 1; }
mincol() { cut -d' ' -f"$2" "$work/$1.times" | sort -g | head -n 1; }
runs() { cut -d' ' -f"$2" "$work/$1.times" | paste -sd' ' -; }
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
fsize() { stat -c %s "$1" | awk '{ printf "%.1f MB", $1 / 1e6 }'; }

ow="$(vipsheader -f width "$work/hires.png")"
oh="$(vipsheader -f height "$work/hires.png")"
vw="$(vipsheader -f width "$work/vips.png")"
vh="$(vipsheader -f height "$work/vips.png")"
size_note=""
[[ "$ow" == "$vw" && "$oh" == "$vh" ]] || size_note=" (vips wrote ${vw}x${vh}: sizes differ!)"

cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
rev="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
dirty=""
[[ -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null || true)" ]] && dirty=" (+ local changes)"

report() {
  echo "### resize_vs_vips: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- machine: $(nproc) cores (nproc), ${cpu:-unknown CPU}, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM; $(uname -sr)"
  echo "- hires: HEAD $rev$dirty, build/hires built $(date -u -r "$hires" '+%Y-%m-%d %H:%M UTC'); $("$hires" --version 2>/dev/null | head -n 1 || echo 'version n/a'); libvips CLI: $(vips --version)"
  echo "- VIPS_CONCURRENCY: ${VIPS_CONCURRENCY:-unset (all cores)}; hires --threads 0 (all cores)"
  echo "- input: ${iw}x${ih}, $ib bands ($(awk -v w="$iw" -v h="$ih" 'BEGIN { printf "%.1f MP", w * h / 1e6 }')), JPEG Q92, from $(basename "$src") (${sw}x${sh}) resized x$prep_scale"
  echo "- output: ${ow}x${oh} ($(awk -v w="$ow" -v h="$oh" 'BEGIN { printf "%.1f MP", w * h / 1e6 }'))$size_note; last sizes: hires.png $(fsize "$work/hires.png"), vips.png $(fsize "$work/vips.png"), hires.jpg $(fsize "$work/hires.jpg"), vips.jpg $(fsize "$work/vips.jpg")"
  echo "- repetitions: $reps each, interleaved (hires png, vips png, hires jpg, vips jpg)"
  echo "- vips --kernel cubic vs lanczos3 when enlarging x4: $kernel_note"
  echo
  echo "| output | hires wall (s) | vips wall (s) | **hires / vips wall** | hires CPU (s) | vips CPU (s) | hires / vips CPU | hires peak RSS (MiB) | vips peak RSS (MiB) |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  local f hm vm hc vc
  for f in png jpg; do
    hm="$(median "hires_$f" 1)"
    vm="$(median "vips_$f" 1)"
    hc="$(median "hires_$f" 3)"
    vc="$(median "vips_$f" 3)"
    echo "| $f | $hm | $vm | **$(ratio "$hm" "$vm")** | $hc | $vc | $(ratio "$hc" "$vc") | $(mib "$(maxcol "hires_$f" 2)") | $(mib "$(maxcol "vips_$f" 2)") |"
  done
  echo
  echo "Wall and CPU (user + system) are medians; peak RSS is the largest of the runs. Per run (s):"
  echo
  for f in png jpg; do
    echo "- hires $f wall: $(runs "hires_$f" 1) (min $(mincol "hires_$f" 1), max $(maxcol "hires_$f" 1)); CPU: $(runs "hires_$f" 3)"
    echo "- vips $f wall: $(runs "vips_$f" 1) (min $(mincol "vips_$f" 1), max $(maxcol "vips_$f" 1)); CPU: $(runs "vips_$f" 3)"
  done
  echo
  echo "Commands:"
  echo
  echo '```'
  echo "build/hires upscale INPUT.jpg -m lanczos -s 4 -o OUT.png --overwrite --quiet"
  echo "vips resize INPUT.jpg OUT.png 4 --kernel lanczos3"
  echo "build/hires upscale INPUT.jpg -m lanczos -s 4 -o OUT.jpg --overwrite --quiet"
  echo "vips resize INPUT.jpg 'OUT.jpg[$vips_jpg_opts]' 4 --kernel lanczos3"
  echo '```'
}

out="$(report)"
printf '%s\n' "$out"
if [[ -n "$results" ]]; then
  printf '%s\n\n' "$out" >>"$results"
  log "appended to $results"
fi
