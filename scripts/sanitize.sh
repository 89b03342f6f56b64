#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer over the code that reads untrusted bytes and the
# engine, as a step of the test command. One clang build in build-san/ (the library with the
# sanitizers and libFuzzer's coverage hooks) serves both halves:
#   1. each fuzz target of fuzz/ for a short time (about $1 seconds per target, default 20: a
#      fixed number of inputs from seed 1, the same on every machine) on its seeds
#      (tools/make_fuzz_seeds.py) and the inputs that once failed (fuzz/regressions/);
#   2. the unit, io, models and ops tests (option and size parsers, decoding with the loader
#      policy and the hostile-image corpus, ncnn/safetensors readers, every op on every backend).
# Any sanitizer report, crash, hang or multi-line error fails it. About 10 minutes on 2 cores
# from nothing; scripts/fuzz.sh runs the fuzzers for longer.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-20}
build=${HIRES_SAN_BUILD:-$root/build-san}
packages=(libclang-rt-14-dev libomp-14-dev)
command -v clang++ >/dev/null || packages+=(clang)
"$root/scripts/apt-install.sh" sanitize "${packages[@]}"
if [ ! -f "$build/build.ninja" ]; then
  # -O1 with line tables: quick to build, readable reports.
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS_DEBUG="-O1 -gline-tables-only" -DHIRES_FUZZ=ON -DHIRES_WERROR=OFF \
    -DHIRES_BUILD_BENCH=OFF -DHIRES_BUILD_TRAIN=OFF >/dev/null
fi
tests=(test_unit test_io test_models test_ops)
ninja -C "$build" -j"$(nproc)" "${tests[@]}" fuzz_models fuzz_image fuzz_options fuzz_request \
  fuzz_video >/dev/null
HIRES_FUZZ_BUILD="$build" "$root/scripts/fuzz.sh" all "$seconds" fixed
export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:handle_abort=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in "${tests[@]}"; do
  echo "sanitize: $t" >&2
  (cd "$build/tests" && "./$t" --gtest_brief=1 >"$build/$t.log" 2>&1) || {
    tail -40 "$build/$t.log" >&2
    echo "sanitize: $t failed under ASan + UBSan (log: $build/$t.log)" >&2
    exit 1
  }
done
echo "sanitize: fuzz targets ${seconds}s each and ${tests[*]}: no reports" >&2
