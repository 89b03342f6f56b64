#!/usr/bin/env bash
# Runs clang-tidy (config: .clang-tidy) over the library and CLI; fails on any warning.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
command -v clang-tidy >/dev/null || "$root/scripts/apt-install.sh" tidy clang-tidy
[ -f build/compile_commands.json ] || scripts/setup.sh
mapfile -t files < <(git ls-files -- 'src/*.cpp' 'cli/*.cpp' 'server/*.cpp')
# Four files per clang-tidy, as many at once as there are cores. gcc's -Wno-restrict is unknown to
# clang, and FFmpeg's macros (AV_TIME_BASE_Q) are C99 compound literals that clang flags in C++.
out=$(printf '%s\0' "${files[@]}" |
  xargs -0 -n 4 -P "$(nproc)" clang-tidy -p build --quiet \
    --extra-arg=-Wno-unknown-warning-option --extra-arg=-Wno-c99-extensions 2>/dev/null |
  grep -E "(warning|error):" | sort -u || true)
if [ -n "$out" ]; then
  echo "$out" >&2
  echo "tidy: $(echo "$out" | wc -l) warning(s)" >&2
  exit 1
fi
echo "tidy: ${#files[@]} files clean"
