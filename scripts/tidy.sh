#!/usr/bin/env bash
# Runs clang-tidy (config: .clang-tidy) over the library and CLI; fails on any warning.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
command -v clang-tidy >/dev/null || { echo "tidy: clang-tidy missing (apt-get install clang-tidy)" >&2; exit 1; }
[ -f build/compile_commands.json ] || scripts/setup.sh
mapfile -t files < <(git ls-files -- 'src/*.cpp' 'cli/*.cpp' 'server/*.cpp')
# One clang-tidy per file, as many at once as there are cores.
out=$(printf '%s\0' "${files[@]}" |
  xargs -0 -n 4 -P "$(nproc)" clang-tidy -p build --quiet 2>/dev/null |
  grep -E "(warning|error):" | sort -u || true)
if [ -n "$out" ]; then
  echo "$out" >&2
  echo "tidy: $(echo "$out" | wc -l) warning(s)" >&2
  exit 1
fi
echo "tidy: ${#files[@]} files clean"
