#!/usr/bin/env bash
# Builds the fuzz targets (clang, libFuzzer, ASan + UBSan) in build-fuzz/ and runs them.
# Usage: scripts/fuzz.sh [models|image|options|request|video|all] [seconds per target = 60] [fixed]
# With `fixed` (the test command, through scripts/sanitize.sh) each target runs a fixed number of
# inputs from seed 1 instead, about the seconds given on a 2-core machine: the same inputs on
# every machine, so a run that passed once passes again until the code changes.
# Seeds: tools/make_fuzz_seeds.py writes build-fuzz/corpus/<target>/; files in fuzz/regressions/
# <target>/ (inputs that once crashed) run first, every time. New findings are written to
# build-fuzz/findings/<target>/ and the script exits 1.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
which=${1:-all}
seconds=${2:-60}
fixed=${3:-}
# Inputs a second per target on the 2-core development machine under ASan (measured), for `fixed`.
declare -A per_second=([models]=200 [image]=60 [options]=1500 [request]=20000 [video]=35)
build=${HIRES_FUZZ_BUILD:-$root/build-fuzz}  # scripts/sanitize.sh passes its own build-san/
[ -n "${HIRES_FUZZ_BUILD:-}" ] || "$root/scripts/setup.sh" >/dev/null  # the libraries hires needs
packages=(libclang-rt-14-dev libomp-14-dev)
command -v clang++ >/dev/null || packages+=(clang)
"$root/scripts/apt-install.sh" fuzz "${packages[@]}"
if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DHIRES_FUZZ=ON -DHIRES_WERROR=OFF -DHIRES_BUILD_TESTS=OFF -DHIRES_BUILD_BENCH=OFF \
    -DHIRES_BUILD_TRAIN=OFF >/dev/null
fi
targets=(models image options request video)
[ "$which" = all ] || targets=("$which")
cmake --build "$build" --target "${targets[@]/#/fuzz_}" -- -j"$(nproc)"
python3 "$root/tools/make_fuzz_seeds.py" "$build/corpus"
export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:handle_abort=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
for t in "${targets[@]}"; do
  findings="$build/findings/$t"
  mkdir -p "$findings" "$build/corpus/$t"
  regressions=()
  [ -d "$root/fuzz/regressions/$t" ] && regressions=("$root/fuzz/regressions/$t")
  budget=(-max_total_time="$seconds")
  [ "$fixed" = fixed ] && budget=(-seed=1 -runs=$((per_second[$t] * seconds)))
  echo "fuzz: $t: ${budget[*]}" >&2
  if ! "$build/fuzz/fuzz_$t" "${budget[@]}" -rss_limit_mb=2048 -timeout=20 \
      -max_len=65536 -artifact_prefix="$findings/" -print_final_stats=1 \
      "$build/corpus/$t" "${regressions[@]}" 2>"$build/fuzz_$t.log"; then
    echo "fuzz: $t found a problem: $(ls "$findings" | head -1) (log: $build/fuzz_$t.log)" >&2
    tail -30 "$build/fuzz_$t.log" >&2
    status=1
  else
    grep -E "stat::number_of_executed_units|cov:" "$build/fuzz_$t.log" | tail -2 >&2 || true
  fi
done
exit $status
