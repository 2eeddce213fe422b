#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine (scripts/setup.sh), configures, builds everything and runs the whole
# test suite through ctest. Builds into build/ (override with ZF_BUILD_DIR). Extra arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build=${ZF_BUILD_DIR:-build}
jobs=$(nproc)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" --output-on-failure -j "$jobs" "$@"
