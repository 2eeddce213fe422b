#!/usr/bin/env bash
# Times zfnet against PyTorch on the CPU in one run, under the environment the PyTorch reference
# prescribes (shared/reference/pytorch/README.md: OpenBLAS, tuned glibc malloc, 2 threads), and prints
# the ratio of their training-step medians last. Timings drift between runs on shared machines; the
# ratio from one run is what to compare.
#
#   scripts/bench_cpu.sh [extra zf_bench options]
#   env: ZF_BUILD_DIR (default build), BATCH (16), REPS (5), ZF_BENCH_JSON (keep zf_bench's JSON lines there)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${ZF_BUILD_DIR:-$repo/build}
[[ $build = /* ]] || build=$repo/$build
bench=$build/bench/zf_bench
ref=$(dirname "$repo")/shared/reference/pytorch
batch=${BATCH:-16}
reps=${REPS:-5}
py=/usr/bin/python3
[[ -x $py ]] || py=python3

if [[ ! -x $bench ]]; then
  echo "bench_cpu.sh: $bench not found; build it first: cmake --build $build --target zf_bench" >&2
  exit 1
fi

export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=4294967296
export BENCH_THREADS=2 OMP_NUM_THREADS=2 PYTHONDONTWRITEBYTECODE=1

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
zf_json=${ZF_BENCH_JSON:-$tmp/zf.jsonl}
torch_json=$tmp/torch.jsonl
: > "$torch_json"

echo "== zf_bench --batch $batch --reps $reps (OMP_NUM_THREADS=2): JSON on stdout, table on stderr"
"$bench" --batch "$batch" --reps "$reps" --json "$@" | tee "$zf_json"

echo
echo "== PyTorch reference: bench_train.py --batches $batch --reps $reps (BENCH_THREADS=2)"
if [[ ! -f $ref/bench_train.py ]]; then
  echo "skipped: $ref/bench_train.py not found"
elif ! "$py" -c 'import torch' 2>/dev/null; then
  echo "skipped: $py cannot import torch (apt-get install python3-torch)"
else
  (cd "$ref" && "$py" bench_train.py --batches "$batch" --reps "$reps") | tee "$torch_json"
fi

echo
"$py" - "$zf_json" "$torch_json" "$batch" <<'EOF'
import json, statistics, sys

def rows(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.lstrip().startswith("{")]

zf_rows, torch_rows, batch = rows(sys.argv[1]), rows(sys.argv[2]), int(sys.argv[3])
zf = next((r["ms_median"] for r in zf_rows if r.get("layer") == "step"), None)
tr = next((r for r in torch_rows if r.get("bench") == "train_step" and r.get("batch") == batch), None)
pt = statistics.median(tr["ms"]) if tr else None
fmt = lambda v: "n/a" if v is None else f"{v:.1f} ms"
ratio = f"{zf / pt:.2f}" if zf and pt else "n/a"
blas = f" (PyTorch BLAS: {tr['blas']}, malloc: {tr['malloc']})" if tr else ""
print(f"summary: batch {batch} training step median: zfnet {fmt(zf)}, PyTorch {fmt(pt)}, "
      f"zfnet/PyTorch {ratio}{blas}")
EOF
