#!/bin/sh
# Rewrites README.md's option table from the option table (src/core/options.cpp) with
# `hires options --markdown`. tests/cli/test_option_table.cpp fails while they differ.
# Usage: scripts/update-readme-options.sh [path/to/hires]   (default: build/hires)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
hires=${1:-$root/build/hires}
table=$(mktemp)
trap 'rm -f "$table"' EXIT
"$hires" options --markdown >"$table"
python3 - "$root/README.md" "$table" <<'PY'
import sys
readme, table = sys.argv[1], open(sys.argv[2]).read()
text = open(readme).read()
begin, end = "<!-- options: made by `hires options --markdown` -->\n", "<!-- options end -->"
a, b = text.index(begin) + len(begin), text.index(end)
open(readme, "w").write(text[:a] + table + text[b:])
PY
