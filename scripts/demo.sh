#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: set up, build, and run zf_bench on the CPU.
# (The trainer and visualizer issues extend this to training Fashion-MNIST and drawing its features.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build=${ZF_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j "$(nproc)" --target zf_bench
"$build/bench/zf_bench" --batch 16 --reps 3
