#!/usr/bin/env bash
# Regenerates docs/crops/restore-*.png: 100 % crops of real old and compressed photos
# (../shared/datasets/real, SwinIR's test set, Apache-2.0) upscaled 4x, so that anyone can see
# what the restoration does. Panels: the input (nearest), lanczos, photo-x4, restore-x4 at 0.5,
# restore-x4 at 1, hires' default (the content-aware choice), Real-ESRGAN realesr-general-x4v3.
# Usage: tools/make_restore_crops.sh   (needs build/hires, ../shared; vips from libvips-tools)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
hires="$root/build/hires"
real="$root/../shared/datasets/real"
general="$root/../shared/models/realesr-general-x4v3-ncnn/realesr-general-x4v3.param"
[ -d "$real" ] || { echo "make_restore_crops: $real is absent: nothing to do" >&2; exit 0; }
out="$root/docs/crops"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
# name file x y w h (the region, in input pixels: faces)
regions=("lincoln Lincoln.png 40 34 80 60" "0014 0014.jpg 44 40 80 60"
  "oldphoto2 oldphoto2.png 40 44 80 60")
for spec in "${regions[@]}"; do
  read -r name file x y w h <<<"$spec"
  panels=()
  for m in input lanczos photo-x4 restore-0.5 restore-1 default general; do
    case $m in
      input) args=(-m nearest) ;;
      restore-0.5) args=(-m restore-x4 --restore 0.5) ;;
      restore-1) args=(-m restore-x4 --restore 1) ;;
      default) args=() ;;
      general) [ -f "$general" ] || continue; args=(-m "$general") ;;
      *) args=(-m "$m") ;;
    esac
    "$hires" "$real/$file" -o "$tmp/$m.png" -s 4 "${args[@]}" --quiet --overwrite
    vips crop "$tmp/$m.png" "$tmp/c.v" $((x * 4)) $((y * 4)) $((w * 4)) $((h * 4))
    vips colourspace "$tmp/c.v" "$tmp/c3.v" srgb
    label=$m
    [ "$m" = general ] && label=realesr-general-x4v3
    [ "$m" = default ] && label="default ($("$hires" "$real/$file" -o "$tmp/d.png" -s 4 --json \
      --overwrite | python3 -c 'import json,sys
for l in sys.stdin:
    j = json.loads(l)
    if j["event"] == "done": print(j["model"])'))"
    vips text "$tmp/t.v" "$label" --dpi 110 --font "sans bold"
    vips embed "$tmp/t.v" "$tmp/te.v" 6 4 $((w * 4)) 24
    vips bandjoin "$tmp/te.v $tmp/te.v $tmp/te.v" "$tmp/tl.v"
    vips invert "$tmp/tl.v" "$tmp/label.v"  # black text on white
    vips join "$tmp/label.v" "$tmp/c3.v" "$tmp/panel-$m.v" vertical
    panels+=("$tmp/panel-$m.v")
  done
  vips arrayjoin "${panels[*]}" "$out/restore-$name.png" --across 4 --shim 4 --background 255
  echo "wrote $out/restore-$name.png"
done
