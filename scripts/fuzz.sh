#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/) with ASan + UBSan in build-fuzz/ (override with
# ZF_FUZZ_BUILD_DIR) and runs each for SECONDS (default 30) on a scratch copy of its seed corpus
# (tests/fuzz/corpus/<target>/, which stays untouched). Prints one line per target: executions,
# seconds, result; exits 1 when any target crashed or a sanitizer reported, showing the report and
# the input that caused it.
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -ge 1 ]] || { echo "usage: scripts/fuzz.sh [SECONDS]" >&2; exit 2; }
bash scripts/setup.sh --fuzz
build=${ZF_FUZZ_BUILD_DIR:-build-fuzz}
targets=(idx image config checkpoint shard safetensors)
# -fsanitize=fuzzer-no-link instruments the libraries for coverage; each target links libFuzzer.
# RelWithDebInfo: -O2 -g, so that reports carry line numbers. -Wno-pass-failed: the instrumentation
# keeps clang from vectorizing the `omp simd` loops, which -Werror would otherwise stop at.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_C_FLAGS="-fsanitize=address,undefined" \
  -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=all -fno-omit-frame-pointer -Wno-pass-failed" \
  -DZF_CUDA=OFF -DZF_CUDA_EMULATOR=OFF -DZF_BENCH=OFF -DZF_FUZZ=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target "${targets[@]/#/fuzz_}"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export OMP_NUM_THREADS=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
failed=0
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t"
  cp -r "tests/fuzz/corpus/$t" "$scratch/$t/corpus"
  start=$(date +%s%N)
  rc=0
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$scratch/$t/" "$scratch/$t/corpus" >"$scratch/$t/log" 2>&1 || rc=$?
  ms=$((($(date +%s%N) - start) / 1000000))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/$t/log" | tail -1)
  if ((rc == 0)); then
    result=ok
  else
    result="CRASH (exit $rc)"
    failed=1
  fi
  printf 'fuzz %-10s %10s executions %4d.%d s  %s\n' "$t" "${execs:-?}" $((ms / 1000)) $((ms % 1000 / 100)) "$result"
  if ((rc != 0)); then
    tail -n 60 "$scratch/$t/log" >&2
    for a in "$scratch/$t"/crash-* "$scratch/$t"/leak-* "$scratch/$t"/oom-* "$scratch/$t"/timeout-*; do
      [[ -e "$a" ]] && { mkdir -p "$build/artifacts"; cp "$a" "$build/artifacts/$t-$(basename "$a")";
                         echo "input kept in $build/artifacts/$t-$(basename "$a")" >&2; }
    done
  fi
done
exit "$failed"
