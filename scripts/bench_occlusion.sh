#!/usr/bin/env bash
# Times zf_analyze occlusion's computation against PyTorch's batched occlusion in one run (the
# same work: ZFNet, one random 224x224 image, a 48 px square of zeros every 8 px = 529 positions,
# batches of 64), under the environment the PyTorch reference prescribes (OpenBLAS, tuned glibc
# malloc, 2 threads), and prints the ratio of the medians last. Only ratios from one run mean
# anything on these shared machines.
#
#   scripts/bench_occlusion.sh [extra zf_bench_occlusion options]
#   env: ZF_BUILD_DIR (default build), REPS (3)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${ZF_BUILD_DIR:-$repo/build}
[[ $build = /* ]] || build=$repo/$build
bench=$build/bench/zf_bench_occlusion
ref=$(dirname "$repo")/shared/reference/pytorch
reps=${REPS:-3}
py=/usr/bin/python3
[[ -x $py ]] || py=python3
if [[ ! -x $bench ]]; then
  echo "bench_occlusion.sh: $bench not found; build it first: cmake --build $build --target zf_bench_occlusion" >&2
  exit 1
fi
export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=4294967296
export BENCH_THREADS=2 OMP_NUM_THREADS=2 PYTHONDONTWRITEBYTECODE=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== zf_bench_occlusion --reps $reps $*"
"$bench" --reps "$reps" --json "$@" | tee "$tmp/zf.txt"
echo
echo "== PyTorch reference: bench_occlusion.py --reps $reps"
if [[ ! -f $ref/bench_occlusion.py ]] || ! "$py" -c 'import torch' 2>/dev/null; then
  echo "skipped: $ref/bench_occlusion.py or torch (scripts/setup.sh --bench) missing"
  : > "$tmp/torch.txt"
else
  (cd "$ref" && "$py" bench_occlusion.py --reps "$reps") | tee "$tmp/torch.txt"
fi
echo
"$py" - "$tmp/zf.txt" "$tmp/torch.txt" <<'PY'
import json, sys
rows = lambda p: [json.loads(l) for l in open(p) if l.startswith("{")]
zf = {r["method"]: r for r in rows(sys.argv[1])}
pt = next(iter(rows(sys.argv[2])), None)
for m in ("full", "incremental"):
    r = zf.get(m)
    if r and pt:
        print(f"summary: occlusion ({r['positions']} positions) {m}: zfnet {r['ms_median']:.0f} ms, "
              f"PyTorch {pt['ms_median']:.0f} ms, zfnet/PyTorch {r['ms_median'] / pt['ms_median']:.2f}")
PY
