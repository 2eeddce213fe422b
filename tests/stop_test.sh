#!/usr/bin/env bash
# zf_train stopped mid-epoch and resumed ends exactly where an uninterrupted run ends (weights,
# momenta, metrics, metrics.csv): after SIGINT (exit 130, one line saying how to resume), after
# SIGTERM (exit 143), and after SIGKILLs at random moments and during checkpoint writes (mid-epoch
# checkpoints every 8 steps, train.checkpoint_every_iters). A Fashion-MNIST slice of 4096 images,
# 64 steps of configs/fashion.yaml's net, so the run is long enough to be caught mid-epoch.
# usage: stop_test.sh ZF_TRAIN REPO_DIR [KILLS (default 2)]
set -u
bin=$1
repo=$2
kills=${3:-2}
py=/usr/bin/python3
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]]; then
  echo "skipped: dataset-fashion-mnist not installed"
  exit 0
fi
sed -e 's/^  snapshots: .*/  snapshots: [1]\n  checkpoint_every_iters: 8/' "$repo/configs/fashion.yaml" >"$tmp/cfg.yaml"
cp "$repo/configs/fashion_classes.txt" "$tmp/"  # data.classes, looked up beside the config
args=("$tmp/cfg.yaml" --epochs 1 --limit-train 4096 --limit-val 512)

# The same weights, momenta, train state and metrics (but the seconds they took) in two checkpoints,
# and the same metrics.csv but its seconds column.
same_run() {
  "$py" - "$1" "$2" <<'EOF'
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r") for p in sys.argv[1:3])
bad = []
def walk(name, obj):
    if isinstance(obj, h5py.Dataset) and not name.endswith("seconds"):
        if name not in b or not np.array_equal(obj[()], b[name][()]): bad.append(name)
a.visititems(walk)
for k in ("epoch", "iteration"):
    if a.attrs[k] != b.attrs[k]: bad.append(k)
for k, v in a["state"].attrs.items():
    if b["state"].attrs[k] != v: bad.append("state/" + k)
print("identical" if not bad else "differ: " + ", ".join(bad))
sys.exit(1 if bad else 0)
EOF
}
same_csv() {
  diff <(cut -d, -f1-7 "$1") <(cut -d, -f1-7 "$2") >/dev/null
}
wait_for() {  # wait_for FILE PID: until FILE exists (true) or the run ended (false)
  while [[ ! -e $1 ]]; do
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.02
  done
}

"$bin" "${args[@]}" --out "$tmp/ref" >"$tmp/ref.log" 2>&1 || { cat "$tmp/ref.log"; exit 1; }

# stop_and_resume NAME SIGNAL EXPECTED_RC WHEN: WHEN = random (a random moment after the first
# checkpoint) or write (while a later checkpoint is being written).
stop_and_resume() {
  local name=$1 sig=$2 want=$3 when=$4 out=$tmp/$1
  "$bin" "${args[@]}" --out "$out" >"$out.log" 2>"$out.err" &
  local pid=$!
  if ! wait_for "$out/ckpt/last.h5" $pid; then
    fail "$name: the run ended before its first mid-epoch checkpoint"
    return
  fi
  if [[ $when == write ]]; then
    # Spin (no sleep: a write takes milliseconds) until the next checkpoint's temporary file exists.
    while [[ ! -e $out/ckpt/last.h5.tmp ]] && kill -0 $pid 2>/dev/null; do :; done
  else
    sleep "0.$((RANDOM % 9 + 1))"
  fi
  kill "-$sig" $pid 2>/dev/null
  wait $pid 2>/dev/null
  local rc=$?
  if [[ $rc -ne $want ]]; then
    fail "$name: exit code $rc, expected $want"
    cat "$out.err"
    return
  fi
  if [[ $sig != KILL ]]; then
    local lines
    lines=$(grep -c "interrupted by SIG$sig .*saved .*--resume" "$out.err")
    [[ $lines -eq 1 ]] || fail "$name: expected one 'interrupted by SIG$sig ... --resume' line"
  fi
  "$bin" "${args[@]}" --out "$out" --resume >"$out.log2" 2>&1 || { fail "$name: resume failed"; cat "$out.log2"; return; }
  local verdict
  verdict=$(same_run "$tmp/ref/ckpt/last.h5" "$out/ckpt/last.h5")
  [[ $verdict == identical ]] || fail "$name: last.h5 $verdict"
  same_run "$tmp/ref/ckpt/epoch_001.h5" "$out/ckpt/epoch_001.h5" >/dev/null || fail "$name: epoch_001.h5 differs"
  same_csv "$tmp/ref/metrics.csv" "$out/metrics.csv" || fail "$name: metrics.csv differs"
  echo "ok   $name (exit $rc): resumed run $verdict"
}

stop_and_resume sigint INT 130 random
stop_and_resume sigterm TERM 143 random
for ((k = 0; k < kills; ++k)); do
  if ((k % 2)); then
    stop_and_resume "sigkill-$k-during-write" KILL 137 write
  else
    stop_and_resume "sigkill-$k-random" KILL 137 random
  fi
done

finish "all stops resumed to the uninterrupted run"
