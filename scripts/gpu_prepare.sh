#!/usr/bin/env bash
# Run on the build machine before a GPU lease: puts googletest's sources (Debian's googletest package)
# into .deps/googletest and yaml-cpp's headers and static library into .deps/yaml-cpp, so that
# scripts/gpu_check.sh can build the tests and zf_bench (which reads configs/zfnet.yaml) on the GPU
# machine, which has none of Debian's packages. .deps/ is ignored by git; pass carry [".deps"] to the
# device tool.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
rm -rf .deps/googletest
mkdir -p .deps
cp -r /usr/src/googletest .deps/googletest
echo ".deps/googletest ready ($(du -sh .deps/googletest | cut -f1))"
rm -rf .deps/yaml-cpp
mkdir -p .deps/yaml-cpp/include .deps/yaml-cpp/lib
cp -r /usr/include/yaml-cpp .deps/yaml-cpp/include/
cp /usr/lib/x86_64-linux-gnu/libyaml-cpp.a .deps/yaml-cpp/lib/
echo ".deps/yaml-cpp ready ($(du -sh .deps/yaml-cpp | cut -f1))"
