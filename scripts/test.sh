#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine (scripts/setup.sh), configures, builds everything and runs the whole
# test suite through ctest. Builds into build/ (override with ZF_BUILD_DIR). Extra arguments go to ctest.
#   scripts/test.sh [--sanitize] [CTEST ARGS]
# --sanitize: the same suite built with AddressSanitizer + UndefinedBehaviorSanitizer (gcc; LeakSanitizer
# included) in build-asan/, the CUDA emulator included (ZF_CUDA=OFF, ZF_CUDA_EMULATOR=ON: the emulator
# announces its fiber switches to ASan). The first report stops the test that made it, which fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
jobs=$(nproc)
if [[ "${1:-}" == "--sanitize" ]]; then
  shift
  build=${ZF_BUILD_DIR:-build-asan}
  # -Wno-maybe-uninitialized: gcc 12 under -fsanitize warns falsely inside <regex> and <functional>
  # (the instrumentation hides what its flow analysis needs); -Werror would stop there.
  flags="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -Wno-maybe-uninitialized"
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DZF_CUDA=OFF -DZF_CUDA_EMULATOR=ON \
    -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined"
  export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
  export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/scripts/lsan.supp:print_suppressions=0}
else
  build=${ZF_BUILD_DIR:-build}
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" --output-on-failure -j "$jobs" "$@"
