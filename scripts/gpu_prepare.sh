#!/usr/bin/env bash
# Run on the build machine before a GPU lease: puts googletest's sources (Debian's googletest package)
# into .deps/googletest, so that scripts/gpu_check.sh can build the tests on the GPU machine, which has
# none of Debian's packages. .deps/ is ignored by git; pass carry [".deps"] to the device tool.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
rm -rf .deps/googletest
mkdir -p .deps
cp -r /usr/src/googletest .deps/googletest
echo ".deps/googletest ready ($(du -sh .deps/googletest | cut -f1))"
