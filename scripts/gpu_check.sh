#!/usr/bin/env bash
# The one script for a lent GPU machine (one H200, nvcc, CMake, ninja, PyTorch wheels with cuDNN; none
# of Debian's -dev packages). Builds the CUDA targets, runs the CUDA tests (CPU-vs-CUDA equivalence
# and the rest of zf_tests), the conv_forward kernel variants of cuda/dev (checked, then timed beside
# cuDNN), a 1-rank NCCL training (zf_train --nccl against the same run without it, where the machine
# can build zf_train), then zf_bench on the GPU at batch 128 beside cuDNN (FP32 and TF32 rows, on
# random data), once more with ZF_CONV_MATH=tf32 (our convolutions on TF32 tensor cores: the conv
# layers and the step), scripts/gpu_model.sh (its main-loop counts from the SASS there), and prints a short
# table last. Budget: under 8 minutes.
#
# Before the lease, on the build machine: scripts/gpu_prepare.sh (copies googletest's sources,
# yaml-cpp's headers + static library and zf_train's other libraries (HDF5, CLI11, nlohmann_json,
# zlib, libpng, turbojpeg) into .deps/, which the device tool carries: carry [".deps"]).
# Then, through the device tool:
#   bash scripts/gpu_check.sh            (results also land in $OUT when the tool sets it)
set -uo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
out=${OUT:-/tmp/zf_gpu_check}
mkdir -p "$out"
build=build-gpu
log() { echo "[gpu_check $(($(date +%s) - start))s] $*"; }

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -2

# cuDNN: the toolkit's, else the nvidia-cudnn wheel's.
if [[ -z "${CUDNN_ROOT:-}" ]]; then
  for py in python3 /usr/bin/python3; do
    root=$($py -c 'import os, nvidia.cudnn as m; print(os.path.dirname(m.__file__))' 2>/dev/null) && break
  done
  [[ -n "${root:-}" ]] && export CUDNN_ROOT=$root
fi
if [[ -n "${CUDNN_ROOT:-}" ]]; then
  export LD_LIBRARY_PATH=$CUDNN_ROOT/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  # The wheel ships libcudnn.so.9 only; give the linker the unversioned name it looks for.
  if [[ ! -e $CUDNN_ROOT/lib/libcudnn.so && -e $CUDNN_ROOT/lib/libcudnn.so.9 ]]; then
    mkdir -p .deps/cudnn-link && ln -sf "$CUDNN_ROOT/lib/libcudnn.so.9" .deps/cudnn-link/libcudnn.so
    export LIBRARY_PATH=$PWD/.deps/cudnn-link${LIBRARY_PATH:+:$LIBRARY_PATH}
  fi
  log "cuDNN from $CUDNN_ROOT"
fi

# NCCL: the toolkit's, else the nvidia-nccl wheel's (which ships libnccl.so.2 only).
if [[ -z "${NCCL_ROOT:-}" && ! -e /usr/local/cuda/include/nccl.h ]]; then
  for py in python3 /usr/bin/python3; do
    nroot=$($py -c 'import os, nvidia.nccl as m; print(os.path.dirname(m.__file__))' 2>/dev/null) && break
  done
  if [[ -n "${nroot:-}" ]]; then
    export NCCL_ROOT=$nroot LD_LIBRARY_PATH=$nroot/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    log "NCCL from $NCCL_ROOT"
  fi
fi

gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
# zf_train's libraries from .deps/net (scripts/gpu_prepare.sh), first in every search; without it the
# trainer is not configured and its check below is skipped.
net=()
[[ -d .deps/net ]] && net=(-DCMAKE_PREFIX_PATH="$PWD/.deps/net" -DHDF5_ROOT="$PWD/.deps/net"
  -DHDF5_USE_STATIC_LIBRARIES=ON)
log "configure"
cmake -S . -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DZF_CUDA=ON -DZF_CUDA_EMULATOR=OFF -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DZF_WERROR=OFF -DZF_GTEST_SOURCE="$PWD/.deps/googletest" -DZF_YAML_CPP_ROOT="$PWD/.deps/yaml-cpp" \
  "${net[@]}" >"$out/configure.log" 2>&1 \
  || { tail -30 "$out/configure.log"; exit 1; }
grep -E "zfnet|zf_bench" "$out/configure.log"
# zf_train needs HDF5 (and yaml-cpp, CLI11, libpng, turbojpeg); where the machine lacks them the
# 1-rank NCCL training below is skipped, saying so.
targets=(zf_tests zf_bench zf_dev_conv_forward)
have_trainer=0
grep -q "trainer are not built" "$out/configure.log" || { have_trainer=1; targets+=(zf_train); }
log "build"
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}" >"$out/build.log" 2>&1 \
  || { grep -E "error" -A3 "$out/build.log" | head -40; exit 1; }

log "tests"
timeout 240 "$build/tests/zf_tests" --gtest_brief=1 >"$out/tests.log" 2>&1
tests_rc=$?
grep -E "FAILED|PASSED|SKIPPED|Failure|Expected|Which is|error" "$out/tests.log" | head -60
log "zf_tests exit code $tests_rc"

log "cuda/dev conv_forward variants (batch 128)"
timeout 90 "$build/cuda/dev/zf_dev_conv_forward" --batch 128 --reps 10 >"$out/dev_conv.txt" 2>&1
dev_rc=$?
tail -25 "$out/dev_conv.txt"
log "zf_dev_conv_forward exit code $dev_rc"

# The NCCL path of data-parallel training (train/comm_nccl.cpp: bucketed all-reduces on their own
# stream) in one process: `zf_train --nccl` against the same run without it, on random 28x28 IDX
# data (the machine has no data sets). With one rank the sum is the identity, so the weights and
# the metrics must be the same bits.
nccl_rc=0
if ((have_trainer)) && grep -q "zfnet: NCCL" "$out/configure.log"; then
  log "1-rank NCCL training (configs/tiny.yaml, 40 steps)"
  data=$out/nccl_data
  mkdir -p "$data"
  python3 - "$data" <<'PY'
import os, struct, sys
d = sys.argv[1]
for name, n in (("train", 1024), ("val", 256)):
    with open(f"{d}/{name}-images-idx3-ubyte", "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, 28, 28) + os.urandom(n * 28 * 28))
    with open(f"{d}/{name}-labels-idx1-ubyte", "wb") as f:
        f.write(struct.pack(">II", 0x801, n) + bytes(b % 10 for b in os.urandom(n)))
PY
  common=(configs/tiny.yaml --device cuda --max-iters 40 --limit-train 1024 --limit-val 256
    --train-data "$data/train" --val-data "$data/val")
  timeout 120 "$build/zf_train" "${common[@]}" --out "$out/nccl_plain" >"$out/nccl_plain.log" 2>&1 &&
    timeout 120 "$build/zf_train" "${common[@]}" --nccl --out "$out/nccl_one" >"$out/nccl_one.log" 2>&1
  nccl_rc=$?
  tail -3 "$out/nccl_one.log"
  if ((nccl_rc == 0)); then
    python3 - "$out/nccl_plain/ckpt/last.h5" "$out/nccl_one/ckpt/last.h5" <<'PY' || nccl_rc=1
import sys
try:
    import h5py, numpy as np
except ImportError:
    print("h5py missing: weights not compared")
    sys.exit(0)
a, b = (h5py.File(p, "r") for p in sys.argv[1:3])
names = []
a.visit(lambda n: names.append(n) if isinstance(a[n], h5py.Dataset) and n.startswith("params") else None)
same = all(np.array_equal(a[n][()], b[n][()]) for n in names)
print(f"--nccl vs plain after 40 steps: {len(names)} tensors {'bit-identical' if same else 'DIFFER'}")
sys.exit(0 if same and names else 1)
PY
    cmp -s <(cut -d, -f1-7 "$out/nccl_plain/metrics.csv") <(cut -d, -f1-7 "$out/nccl_one/metrics.csv") ||
      { echo "--nccl: metrics.csv differs"; nccl_rc=1; }
  fi
  log "1-rank NCCL training exit code $nccl_rc"
else
  log "1-rank NCCL training skipped: $( ((have_trainer)) && echo "no NCCL found (set NCCL_ROOT)" ||
    echo "zf_train not configured (no HDF5/yaml-cpp on this machine)")"
fi

log "bench (batch 128)"
timeout 240 "$build/bench/zf_bench" --device cuda --batch 128 --reps 5 --json >"$out/bench.jsonl" 2>"$out/bench.txt"
bench_rc=$?
cat "$out/bench.txt"
log "bench, our convolutions in TF32 (ZF_CONV_MATH=tf32)"
ZF_CONV_MATH=tf32 timeout 180 "$build/bench/zf_bench" --device cuda --batch 128 --reps 5 --json \
  --layers conv1,conv2,conv3,conv4,conv5,step >"$out/bench_tf32.jsonl" 2>"$out/bench_tf32.txt"
rc=$?
((rc == 0)) || bench_rc=$rc
cat "$out/bench_tf32.txt"

log "static model (scripts/gpu_model.sh; SASS counts where this toolkit has cuobjdump)"
timeout 60 bash scripts/gpu_model.sh >"$out/gpu_model.txt" 2>&1
cat "$out/gpu_model.txt"

log "summary"
python3 - "$out/bench.jsonl" "$out/bench_tf32.jsonl" <<'PY' || true
import json, os, sys
def load(path):
    if not os.path.exists(path):
        return []
    return [json.loads(l) for l in open(path) if l.startswith("{") and "layer" in l]
rows, rows32 = load(sys.argv[1]), load(sys.argv[2])
ours = {(r["layer"], r["pass"]): r for r in rows if "impl" not in r}
ours32 = {(r["layer"], r["pass"]): r for r in rows32 if "impl" not in r}
ref = {(r["layer"], r["pass"]): r for r in rows if r.get("impl") == "cudnn"}
tf32 = {(r["layer"], r["pass"]): r for r in rows if r.get("impl") == "cudnn_tf32"}
def ms(d, k):
    return f"{d[k]['ms_median']:9.3f}" if k in d else f"{'-':>9}"
print(f"{'layer':6} {'pass':4} {'ours ms':>9} {'cuDNN ms':>9} {'ours/cuDNN':>10} "
      f"{'ours TF32':>9} {'cuDNN TF32':>10} {'TF32 ratio':>10}")
for k, r in ours.items():
    if k in ref:
        t = tf32[k]["ms_median"] if k in tf32 else None
        o = ours32[k]["ms_median"] if k in ours32 else None
        ratio = f"{o / t:10.2f}" if o and t else f"{'-':>10}"
        print(f"{k[0]:6} {k[1]:4} {r['ms_median']:9.3f} {ref[k]['ms_median']:9.3f} "
              f"{r['ms_median'] / ref[k]['ms_median']:10.2f} {ms(ours32, k)} {ms(tf32, k):>10} {ratio}")
for name, rs in (("FP32", rows), ("TF32", rows32)):
    step = next((r for r in rs if r["layer"] == "step"), None)
    if step:
        print(f"training step at batch {step['batch']}, convolutions in {name}: "
              f"{step['ms_median']:.1f} ms = {step.get('img_s', 0):.0f} img/s")
PY
log "done: tests rc=$tests_rc, dev rc=$dev_rc, nccl rc=$nccl_rc, bench rc=$bench_rc"
exit $((tests_rc != 0 || dev_rc != 0 || nccl_rc != 0 || bench_rc != 0))
