#!/usr/bin/env bash
# Command-line behaviour of zf_train: --help documents every option, bad input gives exit code != 0 and
# one clear line on stderr naming the file or key at fault, and a short real run writes its outputs.
# Then zf_project and zf_evolve on that run: their outputs, and their one-line refusals.
# usage: cli_test.sh ZF_TRAIN REPO_DIR [ZF_PROJECT ZF_EVOLVE]
set -u
bin=$1
repo=$2
project=${3:-}
evolve=${4:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

# expect_fail NAME PATTERN -- COMMAND...: the command exits != 0 and its stderr has exactly one
# non-empty line, which matches PATTERN.
expect_fail() {
  local name=$1 pattern=$2
  shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  local lines
  lines=$(grep -c . "$tmp/err")
  if [[ $rc -eq 0 ]] || [[ $lines -ne 1 ]] || ! grep -Eq "$pattern" "$tmp/err"; then
    echo "FAIL $name: rc=$rc, $lines stderr lines:"
    cat "$tmp/err"
    fails=$((fails + 1))
  else
    echo "ok   $name: $(cat "$tmp/err")"
  fi
}

"$bin" --help >"$tmp/help" || { echo "FAIL --help exits != 0"; fails=$((fails + 1)); }
for opt in --out --device --resume --max-iters --epochs --seed --limit-train --limit-val; do
  grep -q -- "$opt" "$tmp/help" || { echo "FAIL --help lacks $opt"; fails=$((fails + 1)); }
done

expect_fail missing-config "nope.yaml: cannot open config" -- "$bin" "$tmp/nope.yaml"
sed 's/kernel: 3, pad: 1/kernel: 3, stride: 0, pad: 1/' "$repo/configs/tiny.yaml" >"$tmp/stride.yaml"
expect_fail bad-stride "stride.yaml: layers\[4\]\.stride: must be >= 1" -- "$bin" "$tmp/stride.yaml"
sed "s|/usr/share/datasets/fashion-mnist/train|$tmp/nodata/train|" "$repo/configs/tiny.yaml" >"$tmp/nodata.yaml"
expect_fail missing-data "nodata/train-images-idx3-ubyte: no such file" -- "$bin" "$tmp/nodata.yaml" --out "$tmp/r0"
expect_fail bad-device "device" -- "$bin" "$repo/configs/tiny.yaml" --device tpu
expect_fail resume-nothing "last.h5 does not exist" -- "$bin" "$repo/configs/tiny.yaml" --out "$tmp/empty" --resume

if [[ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]]; then
  if "$bin" "$repo/configs/tiny.yaml" --out "$tmp/run" --limit-train 128 --limit-val 64 \
      >"$tmp/out" 2>"$tmp/err"; then
    for f in ckpt/last.h5 ckpt/epoch_001.h5 ckpt/epoch_002.h5 metrics.csv; do
      [[ -s "$tmp/run/$f" ]] || { echo "FAIL run: no $f"; fails=$((fails + 1)); }
    done
    grep -q "^done: 2 epochs" "$tmp/out" || { echo "FAIL run: no summary line"; fails=$((fails + 1)); }
  else
    echo "FAIL run: exit code $?"
    cat "$tmp/err"
    fails=$((fails + 1))
  fi
  # A checkpoint of another architecture is refused with one line.
  sed 's/filters: 16/filters: 12/' "$repo/configs/tiny.yaml" >"$tmp/other.yaml"
  expect_fail other-arch "checkpoint of another architecture" -- "$bin" "$tmp/other.yaml" --out "$tmp/run" --resume \
    --limit-train 128 --limit-val 64

  if [[ -n $project && -n $evolve ]]; then
    ck=$tmp/run/ckpt/last.h5
    if "$project" --checkpoint "$ck" --out "$tmp/proj" --limit 300 >"$tmp/out" 2>"$tmp/err"; then
      for f in conv1.h5 conv1.png conv2.h5 conv2.png; do
        [[ -s "$tmp/proj/$f" ]] || { echo "FAIL zf_project: no $f"; fails=$((fails + 1)); }
      done
    else
      echo "FAIL zf_project run"; cat "$tmp/err"; fails=$((fails + 1))
    fi
    if ! "$evolve" --checkpoints "$tmp/run/ckpt" --out "$tmp/evo" --limit 200 >"$tmp/out" 2>"$tmp/err" ||
        [[ ! -s "$tmp/evo/conv2.png" || ! -s "$tmp/evo/conv1_filters.png" ]]; then
      echo "FAIL zf_evolve run"; cat "$tmp/err"; fails=$((fails + 1))
    fi
    # --layers names any layer: here an fc layer (its units see the whole 28x28 image, through the
    # ReLU after it) and a pool, from a data set and from an image file.
    if "$project" --checkpoint "$ck" --layers fc3,pool2 --k 4 --limit 100 --out "$tmp/pfc" \
        >"$tmp/out" 2>"$tmp/err"; then
      for f in fc3.h5 fc3.png pool2.h5 pool2.png; do
        [[ -s "$tmp/pfc/$f" ]] || { echo "FAIL zf_project --layers fc3: no $f"; fails=$((fails + 1)); }
      done
      grep -q "fc3.png (32 features, field 28x28)" "$tmp/out" ||
        { echo "FAIL zf_project --layers fc3: not 32 features of field 28x28"; cat "$tmp/out"; fails=$((fails + 1)); }
    else
      echo "FAIL zf_project --layers fc3,pool2 run"; cat "$tmp/err"; fails=$((fails + 1))
    fi
    if ! "$project" --checkpoint "$ck" --image "$tmp/proj/conv1.png" --layers fc3 --top 3 \
        --out "$tmp/pimg" >"$tmp/out" 2>"$tmp/err" || [[ ! -s "$tmp/pimg/conv1_fc3.h5" ]]; then
      echo "FAIL zf_project --image --layers fc3"; cat "$tmp/err"; fails=$((fails + 1))
    fi
    expect_fail project-layer "no layer named 'conv9' \(layers: conv1, relu1, pool1, norm1, conv2, .*, fc4\)" -- \
      "$project" --checkpoint "$ck" --layers conv9 --out "$tmp/p2"
    expect_fail project-loss "layer 'loss' is the loss layer" -- \
      "$project" --checkpoint "$ck" --layers loss --out "$tmp/p2"
    expect_fail project-k "k = 90 is larger than the data set \(50 images" -- \
      "$project" --checkpoint "$ck" --k 90 --limit 50 --out "$tmp/p2"
    expect_fail project-config "checkpoint of another architecture" -- \
      "$project" --checkpoint "$ck" --config "$tmp/other.yaml" --out "$tmp/p2"
    expect_fail project-missing "nope.h5: cannot open checkpoint" -- "$project" --checkpoint "$tmp/nope.h5"
    : >"$tmp/empty-images-idx3-ubyte"
    : >"$tmp/empty-labels-idx1-ubyte"
    expect_fail project-empty "empty-images-idx3-ubyte: not an IDX image file" -- \
      "$project" --checkpoint "$ck" --data "$tmp/empty" --out "$tmp/p2"
    expect_fail evolve-none "no snapshots \(epoch_NNN.h5\) found" -- "$evolve" --checkpoints "$tmp"
  fi
fi

if [[ $fails -ne 0 ]]; then
  echo "$fails failure(s)"
  exit 1
fi
echo "all zf_train CLI checks passed"
