#!/usr/bin/env bash
# Runs clang-tidy (config: .clang-tidy) over the library and CLI; fails on any warning.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
command -v clang-tidy >/dev/null || { echo "tidy: clang-tidy missing (apt-get install clang-tidy)" >&2; exit 1; }
[ -f build/compile_commands.json ] || scripts/setup.sh
mapfile -t files < <(git ls-files -- 'src/*.cpp' 'cli/*.cpp')
out=$(clang-tidy -p build --quiet "${files[@]}" 2>/dev/null | grep -E "(warning|error):" | sort -u || true)
if [ -n "$out" ]; then
  echo "$out" >&2
  echo "tidy: $(echo "$out" | wc -l) warning(s)" >&2
  exit 1
fi
echo "tidy: ${#files[@]} files clean"
