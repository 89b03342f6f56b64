#!/usr/bin/env bash
# Peak RSS and wall time for extreme image shapes (issue 17: a 1x1,000,000 PNG took 945 MB where
# a 1000x1000 one takes 50 MB): the same pixel count as a square, a line and a column, at 2x with
# lanczos and nearest. Usage: bench/memory_shapes.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
hires="$root/build/hires"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
vips black "$tmp/square.png" 1000 1000
vips black "$tmp/column.png" 1 1000000
vips black "$tmp/line.png" 1000000 1
printf '| input | method | seconds | peak RSS |\n|---|---|---|---|\n'
for shape in square column line; do
  for m in lanczos nearest; do
    /usr/bin/time -f "%e %M" -o "$tmp/t" "$hires" "$tmp/$shape.png" -o "$tmp/out.png" -m "$m" \
      -s 2 --overwrite --quiet
    read -r secs kb < "$tmp/t"
    printf '| %s | %s | %s | %d MB |\n' "$shape" "$m" "$secs" $((kb / 1024))
  done
done
