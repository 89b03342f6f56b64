#!/usr/bin/env bash
# Makes the copies behind the halftone numbers of docs/QUALITY.md, with the `vips` command:
#   tools/guide_halftone_copies.sh IMAGE.png OUTDIR
# writes OUTDIR/ht45_NAME.jpg (45-degree clustered-dot screen, 4.24 px, scanner blur 1.0, noise 3,
# JPEG 75), ht15_NAME.png (15 degrees, 6 px, blur 0.8, noise 3), q10_NAME.jpg (JPEG quality 10)
# and noise_NAME.png (noise sigma 15). Then: hires check --json OUTDIR/* (halftone measure).
# Run over ../shared/datasets/bench/{Set5,Set14,BSD68,Urban100}/*.png; never commit the copies.
set -euo pipefail
in=$1
out=$2
name=$(basename "$in" .png)
w=$(vipsheader -f width "$in")
h=$(vipsheader -f height "$in")
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
vips colourspace "$in" "$t/g.v" b-w
vips extract_band "$t/g.v" "$t/l.v" 0
vips xyz "$t/xy.v" "$w" "$h"
for spec in "45 4.24 1.0 jpg" "15 6 0.8 png"; do
  read -r angle period sigma ext <<<"$spec"
  # Screen coordinates in degrees of the cosine: u, v = rotated x, y * 360 / period.
  read -r c s < <(python3 -c "import math; a = math.radians($angle); \
print(math.cos(a) * 360 / $period, math.sin(a) * 360 / $period)")
  printf "2 2 1 0\n%s %s\n-%s %s\n" "$c" "$s" "$s" "$c" >"$t/m.mat"
  vips recomb "$t/xy.v" "$t/uv.v" "$t/m.mat"
  vips math "$t/uv.v" "$t/cos.v" cos
  vips bandmean "$t/cos.v" "$t/cm.v"
  vips linear "$t/cm.v" "$t/th.v" 127.5 127.5  # threshold 0..255: dots grow with darkness
  vips relational "$t/l.v" "$t/th.v" "$t/ht.v" more
  vips gaussblur "$t/ht.v" "$t/hb.v" "$sigma"
  vips gaussnoise "$t/n.v" "$w" "$h" --sigma 3
  vips add "$t/hb.v" "$t/n.v" "$t/hn.v"
  vips cast "$t/hn.v" "$t/hc.v" uchar
  if [ "$ext" = jpg ]; then
    vips jpegsave "$t/hc.v" "$out/ht${angle}_$name.jpg" --Q 75
  else
    vips pngsave "$t/hc.v" "$out/ht${angle}_$name.png"
  fi
done
vips jpegsave "$in" "$out/q10_$name.jpg" --Q 10
if [ "$(vipsheader -f bands "$in")" -ge 3 ]; then
  vips gaussnoise "$t/n1.v" "$w" "$h" --sigma 15
  vips bandjoin "$t/n1.v $t/n1.v $t/n1.v" "$t/n3.v"
  vips extract_band "$in" "$t/c.v" 0 --n 3
  vips add "$t/c.v" "$t/n3.v" "$t/x.v"
  vips cast "$t/x.v" "$t/xc.v" uchar
  vips pngsave "$t/xc.v" "$out/noise_$name.png"
fi
