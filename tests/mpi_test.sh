#!/usr/bin/env bash
# Data-parallel zf_train under mpirun (train/comm.h), on configs/tiny.yaml (batch 32):
#   - 2 CPU ranks and 1 process (no mpirun) see the same global batches: the weights agree within
#     1e-5 relative after 5 steps (the gradients are summed in another order: nothing else differs);
#   - two 2-rank runs are bit-identical (the sum over ranks is in a fixed order);
#   - a 2-rank run stopped mid-epoch (--max-iters) and resumed equals the uninterrupted one bit for
#     bit; a resume with another number of ranks works and says so;
#   - the ranks split the evaluation (each its slice of every batch): its loss and accuracies agree
#     with one process's;
#   - a bad config is reported once (by rank 0);
#   - a failure one rank meets alone mid-run (rank 0 cannot write its checkpoint) ends every rank
#     within 60 s, reported once by that rank;
#   - a rank killed mid-run makes the others exit non-zero within 60 s.
# Skipped (exit 77) without mpirun or Fashion-MNIST.
# usage: mpi_test.sh ZF_TRAIN REPO_DIR [mpi|none: whether ZF_TRAIN was built with MPI]
set -u
bin=$1
repo=$2
py=/usr/bin/python3
if [[ ${3:-mpi} != mpi ]]; then
  echo "skipped: zf_train was built without MPI (install libopenmpi-dev and configure again)"
  exit 77
fi
if ! command -v mpirun >/dev/null; then
  echo "skipped: mpirun not found (apt-get install openmpi-bin libopenmpi-dev)"
  exit 77
fi
if [[ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]]; then
  echo "skipped: dataset-fashion-mnist not installed"
  exit 77
fi
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Under scripts/test.sh --sanitize, LeakSanitizer reports what Open MPI's plugins allocate and never
# free (from libraries unloaded at MPI_Finalize, so no suppression can name them): leak checks are off
# for the ranks only; every other test keeps them.
asan=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
mpi=(env "ASAN_OPTIONS=$asan" mpirun --oversubscribe --allow-run-as-root -x OMP_NUM_THREADS)
cfg=$repo/configs/tiny.yaml
args=(--device cpu)

# Prints the largest difference of the parameters and momenta of two checkpoints relative to the
# largest magnitude of each tensor, and "same" when every tensor and the train state are equal.
compare() {
  "$py" - "$1" "$2" <<'PY'
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r") for p in sys.argv[1:3])
worst, same = 0.0, True
def walk(name, obj):
    global worst, same
    if isinstance(obj, h5py.Dataset) and name.startswith(("params", "optim")):
        x, y = obj[()], b[name][()]
        same = same and np.array_equal(x, y)
        worst = max(worst, float(np.abs(x - y).max() / max(np.abs(x).max(), 1e-30)))
a.visititems(walk)
for k in ("position", "run_loss", "run_correct", "run_seen"):
    same = same and a["state"].attrs[k] == b["state"].attrs[k]
print(worst, "same" if same else "differ")
PY
}

# 1 process against 2 ranks, 5 steps.
"$bin" "$cfg" "${args[@]}" --out "$tmp/one" --max-iters 5 2>"$tmp/one.err" || fail "1 process: $(cat "$tmp/one.err")"
"${mpi[@]}" -np 2 "$bin" "$cfg" "${args[@]}" --out "$tmp/two" --max-iters 5 2>"$tmp/two.err" ||
  fail "2 ranks: $(cat "$tmp/two.err")"
read -r rel _ < <(compare "$tmp/one/ckpt/last.h5" "$tmp/two/ckpt/last.h5")
echo "1 process vs 2 ranks after 5 steps: max relative difference $rel"
"$py" -c "import sys; sys.exit(0 if float('$rel') <= 1e-5 else 1)" || fail "2 ranks differ from 1 process by $rel"

# Two 2-rank runs: bit-identical.
"${mpi[@]}" -np 2 "$bin" "$cfg" "${args[@]}" --out "$tmp/two_again" --max-iters 5 2>/dev/null
read -r _ same < <(compare "$tmp/two/ckpt/last.h5" "$tmp/two_again/ckpt/last.h5")
[[ $same == same ]] || fail "two 2-rank runs are not bit-identical"
echo "two 2-rank runs: $same"

# Stopped mid-epoch (16 steps an epoch) and resumed = never stopped, over an epoch's end.
"${mpi[@]}" -np 2 "$bin" "$cfg" "${args[@]}" --out "$tmp/full" --max-iters 20 2>/dev/null
"${mpi[@]}" -np 2 "$bin" "$cfg" "${args[@]}" --out "$tmp/part" --max-iters 7 2>/dev/null
"${mpi[@]}" -np 2 "$bin" "$cfg" "${args[@]}" --out "$tmp/part" --resume --max-iters 20 2>"$tmp/resume.err" ||
  fail "2-rank resume: $(cat "$tmp/resume.err")"
read -r _ same < <(compare "$tmp/full/ckpt/last.h5" "$tmp/part/ckpt/last.h5")
[[ $same == same ]] || fail "2-rank run stopped at step 7 and resumed differs from the uninterrupted one"
echo "2 ranks stopped at step 7 and resumed to 20 vs uninterrupted: $same"
cmp -s <(cut -d, -f1-7 "$tmp/full/metrics.csv") <(cut -d, -f1-7 "$tmp/part/metrics.csv") ||
  fail "metrics.csv differs after the resume"

# The evaluation after epoch 1, split over the ranks, against one process's over the whole set: the
# same accuracies, and the loss within 1e-4 (the weights differ by the summation order only).
"$bin" "$cfg" "${args[@]}" --out "$tmp/one_full" --max-iters 20 2>/dev/null
read -r one_eval < <(sed -n 2p "$tmp/one_full/metrics.csv" | cut -d, -f5-7)
read -r two_eval < <(sed -n 2p "$tmp/full/metrics.csv" | cut -d, -f5-7)
echo "epoch 1 evaluation (val loss, top-1, top-5): 1 process $one_eval, 2 ranks $two_eval"
"$py" - "$one_eval" "$two_eval" <<'PY' || fail "2-rank evaluation $two_eval differs from 1 process's $one_eval"
import sys
a, b = ([float(v) for v in s.split(",")] for s in sys.argv[1:3])
sys.exit(0 if len(a) == 3 and abs(a[0] - b[0]) <= 1e-4 and a[1:] == b[1:] else 1)
PY

# SIGINT to mpirun (which passes SIGTERM to the ranks): all stop after the same step, rank 0 saves
# and says so once; resumed, the run equals one that was never stopped.
"${mpi[@]}" -np 2 "$bin" "$cfg" "${args[@]}" --out "$tmp/int" --epochs 1000 2>"$tmp/int.err" &
launcher=$!
wait_for 100 0.1 test -e "$tmp/int/ckpt/last.h5" || true
sleep 0.3
kill -INT "$launcher"
wait "$launcher"
it=$(sed -n 's/^zf_train: interrupted by SIG[A-Z]* at iteration \([0-9]*\).*/\1/p' "$tmp/int.err")
if [[ $(grep -c '^zf_train: interrupted' "$tmp/int.err") -ne 1 || -z $it ]]; then
  fail "SIGINT to mpirun: no single 'interrupted' line: $(grep -v '^epoch' "$tmp/int.err")"
else
  "${mpi[@]}" -np 2 "$bin" "$cfg" "${args[@]}" --out "$tmp/int" --epochs 1000 --resume \
    --max-iters $((it + 5)) 2>/dev/null
  "${mpi[@]}" -np 2 "$bin" "$cfg" "${args[@]}" --out "$tmp/int_full" --epochs 1000 \
    --max-iters $((it + 5)) 2>/dev/null
  read -r _ same < <(compare "$tmp/int_full/ckpt/last.h5" "$tmp/int/ckpt/last.h5")
  [[ $same == same ]] || fail "2 ranks stopped by SIGINT at step $it and resumed differ"
  echo "2 ranks stopped by SIGINT at step $it and resumed to $((it + 5)) vs uninterrupted: $same"
fi

# A 2-rank checkpoint resumed by one process, which says so.
cp -r "$tmp/part" "$tmp/mixed"
"$bin" "$cfg" "${args[@]}" --out "$tmp/mixed" --resume --max-iters 22 2>"$tmp/mixed.err" ||
  fail "1 process resuming a 2-rank run: $(cat "$tmp/mixed.err")"
grep -q "resuming with 1 rank a run of 2 ranks wrote" "$tmp/mixed.err" ||
  fail "a resume with another number of ranks does not say so: $(cat "$tmp/mixed.err")"

# A bad config: one line from zf_train (rank 0's), whatever mpirun adds.
echo "bad: [" >"$tmp/bad.yaml"
"${mpi[@]}" -np 2 "$bin" "$tmp/bad.yaml" --out "$tmp/bad" 2>"$tmp/bad.err"
rc=$?
lines=$(grep -c '^zf_train' "$tmp/bad.err")
[[ $rc -ne 0 && $lines -eq 1 ]] || fail "bad config: exit $rc, $lines zf_train lines: $(cat "$tmp/bad.err")"
[[ -e $tmp/bad ]] && fail "bad config left $tmp/bad behind"

# Waits up to 60 s for mpirun (pid $1) to end after what $2 names; kills it when it has not, and
# fails unless it ended non-zero. Prints the exit status and the time taken.
expect_end() {
  local launcher=$1 what=$2 start took rc
  start=$(date +%s)
  for _ in $(seq 600); do
    kill -0 "$launcher" 2>/dev/null || break
    sleep 0.1
  done
  took=$(($(date +%s) - start))
  if kill -0 "$launcher" 2>/dev/null; then
    fail "$what: the run still goes on after ${took} s"
    kill -9 "$launcher"
  fi
  wait "$launcher"
  rc=$?
  echo "$what: mpirun exited $rc after ${took} s"
  [[ $rc -ne 0 ]] || fail "$what: mpirun exited 0"
}

# A failure rank 0 meets alone mid-run: its checkpoint folder replaced by a file, its next save
# fails while rank 1 waits in a collective; both end (MPI_Abort) within 60 s, one line from rank 0.
"${mpi[@]}" -np 2 "$bin" "$cfg" "${args[@]}" --out "$tmp/lone" --epochs 1000 2>"$tmp/lone.err" &
launcher=$!
wait_for 100 0.1 test -e "$tmp/lone/ckpt/last.h5" || true
# The folder becomes a file; retried, since rank 0 can make the folder again between the two steps
# (an epoch of this config takes milliseconds, and a save makes its folder first).
for _ in $(seq 50); do
  rm -rf "$tmp/lone/ckpt" && touch "$tmp/lone/ckpt"
  [[ -f $tmp/lone/ckpt ]] && break
done
expect_end "$launcher" "rank 0 failed alone"
grep '^zf_train' "$tmp/lone.err"
[[ $(grep -c '^zf_train (rank 0 of 2): ' "$tmp/lone.err") -eq 1 ]] ||
  fail "rank 0 failed alone: not one line from rank 0: $(grep -v '^epoch' "$tmp/lone.err")"

# A rank killed mid-run: the other stops, non-zero, within 60 s.
"${mpi[@]}" -np 2 "$bin" "$cfg" "${args[@]}" --out "$tmp/kill" --epochs 1000 2>"$tmp/kill.err" &
launcher=$!
victim=""
for _ in $(seq 100); do  # the rank 1 process, once it has started training
  for p in $(pgrep -P "$launcher" 2>/dev/null); do
    tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=1 && victim=$p
  done
  [[ -n $victim && -e $tmp/kill/ckpt/last.h5 ]] && break
  sleep 0.2
done
if [[ -z $victim ]]; then
  fail "rank 1 of the kill run not found"
  kill "$launcher"
else
  kill -9 "$victim"
  expect_end "$launcher" "rank 1 killed"
  grep 'exited on signal' "$tmp/kill.err"  # Open MPI's one line naming the rank
fi

finish "mpi_test: all passed"
