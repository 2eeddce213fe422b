#!/usr/bin/env bash
# The tools end to end with --device cuda, built on the CUDA emulator (cuda/emu/): a short zf_train
# run on the "GPU", then zf_project and zf_evolve on its checkpoints, also on the "GPU". Checks exit
# codes and outputs; the numbers are compared with the CPU by the emu.TrainCuda tests.
# usage: emu_cli_test.sh ZF_TRAIN ZF_PROJECT ZF_EVOLVE REPO_DIR
set -u
train=$1 project=$2 evolve=$3 repo=$4
if [[ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]]; then
  echo "dataset-fashion-mnist not installed: skipped"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
run() {  # run NAME COMMAND...: the command succeeds
  local name=$1
  shift
  if "$@" >"$tmp/out" 2>"$tmp/err"; then
    echo "ok   $name"
  else
    echo "FAIL $name: exit code $?"
    cat "$tmp/err"
    fails=$((fails + 1))
  fi
}
need() {  # need FILE...: each exists and is not empty
  for f in "$@"; do [[ -s $f ]] || { echo "FAIL no $f"; fails=$((fails + 1)); }; done
}

run train "$train" "$repo/configs/tiny.yaml" --device cuda --out "$tmp/run" --limit-train 128 --limit-val 64
grep -q "cuda\|CUDA" "$tmp/out" "$tmp/err" || { echo "FAIL train: the run does not say it is on CUDA"; fails=$((fails + 1)); }
need "$tmp/run/ckpt/last.h5" "$tmp/run/ckpt/epoch_002.h5" "$tmp/run/metrics.csv"
run train_tf32 "$train" "$repo/configs/tiny.yaml" --device cuda --conv-math tf32 --out "$tmp/run32" \
  --limit-train 128 --limit-val 64 --max-iters 2
grep -q "convolutions in tf32" "$tmp/err" || { echo "FAIL train_tf32: the run does not say it is in TF32"; fails=$((fails + 1)); }
need "$tmp/run32/ckpt/last.h5"
"$train" "$repo/configs/tiny.yaml" --device cuda --conv-math fp16 >"$tmp/out" 2>"$tmp/err"
[[ $? -eq 2 ]] || { echo "FAIL --conv-math fp16 is not refused with exit code 2"; fails=$((fails + 1)); }
run project "$project" --device cuda --checkpoint "$tmp/run/ckpt/last.h5" --out "$tmp/proj" --limit 200 --k 4
need "$tmp/proj/conv1.h5" "$tmp/proj/conv1.png" "$tmp/proj/conv2.h5" "$tmp/proj/conv2.png"
run evolve "$evolve" --device cuda --checkpoints "$tmp/run/ckpt" --out "$tmp/evo" --limit 100
need "$tmp/evo/conv2.png" "$tmp/evo/conv1_filters.png"
[[ $fails -eq 0 ]] && echo "all emulated-GPU tool runs passed"
exit $((fails > 0))
