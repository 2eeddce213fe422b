#!/usr/bin/env bash
# One epoch of configs/fashion.yaml with zf_train beside one epoch of PyTorch's reference script for the
# same architecture (shared/reference/pytorch/fmnist_train.py), one after the other in the same run,
# under the environment that reference prescribes (OpenBLAS, tuned malloc, 2 threads).
#   scripts/compare_fashion.sh       env: ZF_BUILD_DIR (default build)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${ZF_BUILD_DIR:-$repo/build}
ref=$(dirname "$repo")/shared/reference/pytorch
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=4294967296
export OMP_NUM_THREADS=2 BENCH_THREADS=2 PYTHONDONTWRITEBYTECODE=1

echo "== zf_train configs/fashion.yaml --epochs 1"
s=$(date +%s.%N)
"$build/zf_train" "$repo/configs/fashion.yaml" --epochs 1 --out "$tmp/zf" 2>&1 | tr '\r' '\n' | grep -E "^epoch 1:|^done"
zf=$(awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')

echo "== PyTorch fmnist_train.py --epochs 1"
s=$(date +%s.%N)
(cd "$ref" && LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp /usr/bin/python3 fmnist_train.py --epochs 1)
pt=$(awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')
printf "summary: one Fashion-MNIST epoch incl. evaluation and start-up: zfnet %.1f s, PyTorch %.1f s, ratio %.2f\n" \
  "$zf" "$pt" "$(awk -v a="$zf" -v b="$pt" 'BEGIN{print a/b}')"
