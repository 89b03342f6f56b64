#!/usr/bin/env bash
# Regenerates docs/crops/: side-by-side 100 % crops of the README sample upscaled 4x, so that
# anyone can see what the built-in model does against the classic methods without running it.
#   sample-clean.png  samples/sample.png as it is
#   sample-jpeg.png   the same saved as JPEG quality 35 first (an old compressed picture)
# Panels, left to right: nearest (the pixels there are), bicubic, lanczos, photo-x4 (hires'
# default). Each panel is the same 96x64 region of the input, shown at 4x (384x256).
# Usage: tools/make_crops.sh   (needs build/hires; vips from libvips-tools)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
hires="$root/build/hires"
out="$root/docs/crops"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
x=8 y=92 w=96 h=64  # the region: lettering, fence, hill edge
vips copy "$root/samples/sample.png" "$tmp/clean.png"
vips copy "$root/samples/sample.png" "$tmp/jpeg.jpg[Q=35,strip]"
vips copy "$tmp/jpeg.jpg" "$tmp/jpeg.png"
for kind in clean jpeg; do
  panels=()
  for m in nearest bicubic lanczos photo-x4; do
    "$hires" "$tmp/$kind.png" -o "$tmp/$kind-$m.png" -s 4 -m "$m" --quiet --overwrite
    vips crop "$tmp/$kind-$m.png" "$tmp/c.v" $((x * 4)) $((y * 4)) $((w * 4)) $((h * 4))
    vips text "$tmp/t.v" "$m" --dpi 110 --font "sans bold"
    vips embed "$tmp/t.v" "$tmp/te.v" 6 4 $((w * 4)) 24
    vips bandjoin "$tmp/te.v $tmp/te.v $tmp/te.v" "$tmp/tl.v"
    vips invert "$tmp/tl.v" "$tmp/label.v"  # black text on white
    vips join "$tmp/label.v" "$tmp/c.v" "$tmp/panel-$m.v" vertical
    panels+=("$tmp/panel-$m.v")
  done
  vips arrayjoin "${panels[*]}" "$out/sample-$kind.png" --shim 4 --background 255
  echo "wrote $out/sample-$kind.png"
done
