#!/usr/bin/env bash
# Regenerates samples/sample.png: a small synthetic scene (sky gradient, sun, hills, fence,
# lettering) with soft edges and fine lines, so that the difference between methods shows.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
w=240 h=160
vips text "$tmp/t.v" "hires" --dpi 160 --font "sans bold"
vips embed "$tmp/t.v" "$tmp/text.v" 16 98 $w $h
vips copy "$tmp/text.v" "$tmp/text.pgm"
python3 - "$tmp/text.pgm" "$tmp/scene.ppm" $w $h <<'PY'
import math, sys
src, dst, w, h = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
data = open(src, "rb").read()
# PGM: P5\n<w> <h>\n<max>\n<bytes>
parts = data.split(b"\n", 3)
text = parts[3]
def cov(d):  # antialiased coverage from a signed distance in pixels
    return max(0.0, min(1.0, 0.5 - d))
out = bytearray()
for y in range(h):
    for x in range(w):
        t = y / h
        c = [120 - 90 * t, 170 - 50 * t, 235 - 10 * t]
        sun = cov(math.hypot(x - 182, y - 42) - 22)
        c = [a * (1 - sun) + b * sun for a, b in zip(c, (255, 214, 90))]
        hill = cov((112 + 14 * math.sin(x / 23.0) + 6 * math.sin(x / 7.0)) - y)
        c = [a * (1 - hill) + b * hill for a, b in zip(c, (46, 120 + 20 * math.sin(x / 11.0), 60))]
        fence = 0.0
        if 128 <= y <= 156:
            fence = max(cov(abs(x - px) - 0.8) for px in range(10, 80, 12))
        if abs(y - 134) < 1.5 and 6 <= x <= 78:
            fence = 1.0
        c = [a * (1 - fence) + b * fence for a, b in zip(c, (90, 60, 40))]
        m = text[y * w + x] / 255.0
        c = [a * (1 - m) + 250 * m for a in c]
        out += bytes(int(max(0, min(255, round(v)))) for v in c)
open(dst, "wb").write(b"P6\n%d %d\n255\n" % (w, h) + bytes(out))
PY
vips copy "$tmp/scene.ppm" "$root/samples/sample.png[strip]"
echo "wrote samples/sample.png"
