#!/usr/bin/env bash
# Fails when any C++ file differs from .clang-format's layout. `scripts/check-format.sh --fix` rewrites them.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
mapfile -t files < <(git ls-files -co --exclude-standard -- '*.cpp' '*.hpp' '*.h' |
  sort -u | while read -r f; do [ -f "$f" ] && echo "$f"; done)
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
if ! clang-format --dry-run --Werror "${files[@]}" 2>/tmp/hires-format.log; then
  { grep -E "clang-format-violations" /tmp/hires-format.log || true; } | cut -d: -f1 | sort -u |
    sed 's/^/unformatted: /' >&2
  echo "format check failed: run scripts/check-format.sh --fix" >&2
  exit 1
fi
echo "format check: ${#files[@]} files ok"
