#!/usr/bin/env bash
# zf_import, zf_predict, scripts/export_torch.py and scripts/to_torch.py end to end:
#   1. broken safetensors files and name maps: one line naming the tensor or field, exit 1;
#   2. torchvision's AlexNet (random init) exported, imported and run by zf_predict: logits within
#      1e-4 (relative to the largest) of PyTorch's; zf_project, zf_analyze occlusion and zf_evolve on it;
#   3. tiny.yaml's net trained 5 steps in PyTorch, imported without a map: logits likewise;
#   4. a zf_train checkpoint to PyTorch (to_torch.py) and back (export, import): the same bits;
#   5. zf_train --init-from an imported checkpoint with --reinit of the last layer.
# Parts 2-5 need Debian's python3-torch and python3-torchvision (scripts/setup.sh installs them) and
# Fashion-MNIST; without them they are skipped with a message (exit 77 when nothing could run).
#   import_test.sh ZF_IMPORT ZF_PREDICT ZF_TRAIN ZF_PROJECT ZF_ANALYZE ZF_EVOLVE SOURCE_DIR
set -uo pipefail
import=$1 predict=$2 train=$3 project=$4 analyze=$5 evolve=$6 src=$7
py=/usr/bin/python3
check="$py $src/tests/import_check.py"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect_error WHAT PATTERN CMD...: exit 1, one line on stderr, matching PATTERN.
expect_error() {
  local what=$1 pattern=$2
  shift 2
  local err rc=0
  err=$("$@" 2>&1 >/dev/null) || rc=$?
  if [[ $rc -ne 1 ]]; then fail "$what: exit $rc (expected 1): $err"; return; fi
  if [[ $(printf '%s\n' "$err" | wc -l) -ne 1 ]]; then fail "$what: not one line: $err"; return; fi
  if ! grep -qE -- "$pattern" <<<"$err"; then fail "$what: '$err' does not match /$pattern/"; return; fi
  echo "ok   $what: $err"
}

# ---- 1. bad input (numpy only) -----------------------------------------------------------------
$check badfiles "$work" || exit 1
cfg=$src/tests/import_tiny.yaml
imp() { "$import" --config "$cfg" --out "$work/out.h5" "$@"; }
imp --weights "$work/good.safetensors" >/dev/null || fail "good file not imported"
imp --weights "$work/f64.safetensors" >/dev/null || fail "F64 file not imported"
expect_error "missing tensor" "missing tensor 'fc2.bias'" imp --weights "$work/missing.safetensors"
expect_error "extra tensor" "'bn.running_mean' is left over" imp --weights "$work/extra.safetensors"
imp --weights "$work/extra.safetensors" --allow-unused >/dev/null 2>&1 || fail "--allow-unused refused"
expect_error "shape mismatch" "'fc2.weight' is F32 \[3, 33\].*fc2.weight.*\[3, 32\]" \
  imp --weights "$work/shape.safetensors"
expect_error "wrong dtype" "'conv1.bias' has dtype I64" imp --weights "$work/dtype.safetensors"
expect_error "NaN weight" "'conv1.bias' holds NaN" imp --weights "$work/nan.safetensors"
expect_error "truncated file" "'fc2.bias'.*outside the .* data bytes" \
  imp --weights "$work/truncated.safetensors"
expect_error "offsets past the end" "'conv1.bias'.*data_offsets \[72, 4000\] outside" \
  imp --weights "$work/offsets.safetensors"
expect_error "header length > file" "header length 1099511627776 is larger than the file" \
  imp --weights "$work/headerlen.safetensors"
expect_error "overlapping tensors" "tensors 'a' and 'b' overlap" imp --weights "$work/overlap.safetensors"
expect_error "header not JSON" "header is not valid JSON" imp --weights "$work/notjson.safetensors"
expect_error "unknown dtype" "tensor 'a': unknown dtype 'F33'" imp --weights "$work/baddtype.safetensors"
printf 'conv1.weight: conv1.weight\nconv1.bias: conv1.bias\nfc2.weight: fc2.weight\n' >"$work/short_map.yaml"
expect_error "map without a parameter" "no entry for fc2.bias" \
  imp --weights "$work/good.safetensors" --map "$work/short_map.yaml"
printf 'conv1.weight: conv1.weight\nconv1.bias: conv1.bias\nfc2.weight: fc2.weight\nfc2.bias: fc2.bias\nfc9.bias: x\n' >"$work/extra_map.yaml"
expect_error "map naming no parameter" "fc9.bias: the net has no such parameter" \
  imp --weights "$work/good.safetensors" --map "$work/extra_map.yaml"
printf 'conv1.weight: conv1.weight\nconv1.bias: conv1.bias\nfc2.weight: fc2.weight\nfc2.bias: fc2.bias\nadaptive_avgpool: {after: conv1, size: [6, 6]}\n' >"$work/pool_map.yaml"
expect_error "adaptive pool not the identity" "identity only when conv1 gives 6x6" \
  imp --weights "$work/good.safetensors" --map "$work/pool_map.yaml"
expect_error "mean of the wrong length" "--mean: 3 values for the net's 1 channels" \
  imp --weights "$work/good.safetensors" --mean 0.4,0.5,0.6
sed 's/type: relu}/type: relu}\n  - {name: pool1, type: maxpool, kernel: 2, ceil: maybe}/' "$cfg" >"$work/badceil.yaml"
expect_error "maxpool ceil not a boolean" "layers\[2\]\.ceil: 'maybe' is not true or false" \
  "$import" --config "$work/badceil.yaml" --weights "$work/good.safetensors" --out "$work/x.h5"
expect_error "predict: not a checkpoint" "not an HDF5 file" \
  "$predict" --checkpoint "$work/good.safetensors" "$work/good.safetensors"

# ---- 2-5. with PyTorch ---------------------------------------------------------------------------
if ! $py -c "import torch, torchvision, PIL" 2>/dev/null; then
  echo "SKIP: parts 2-5 need python3-torch, python3-torchvision and python3-pil (scripts/setup.sh)"
  exit $((failures ? 1 : 0))
fi
run() { echo "+ ${*##*/}" | cut -c1-160; "$@" || fail "exit $?: $*"; }

# 2. AlexNet
$check alexnet "$work" || fail "alexnet setup"
run $py "$src/scripts/export_torch.py" "$work/alexnet.pth" "$work/alexnet.safetensors"
run "$import" --weights "$work/alexnet.safetensors" --config "$src/configs/alexnet_torchvision.yaml" \
  --map "$src/configs/maps/alexnet_torchvision.yaml" --mean 0.485,0.456,0.406 \
  --std 0.229,0.224,0.225 --out "$work/alexnet.h5"
run "$predict" --checkpoint "$work/alexnet.h5" "$work"/img{0,1,2,3}.png --top 3 \
  --dump "$work/alexnet_logits.h5"
$check compare "$work" alexnet 1e-4 || fail "AlexNet logits"
mkdir -p "$work/folder/a" && cp "$work"/img*.png "$work/folder/a/"
run "$project" --checkpoint "$work/alexnet.h5" --data "$work/folder" --layers conv1 \
  --features 0,1,2,3 --k 4 --out "$work/project"
[[ -s "$work/project/conv1.png" && -s "$work/project/conv1.h5" ]] || fail "zf_project wrote no montage"
run "$analyze" occlusion --checkpoint "$work/alexnet.h5" --image "$work/img0.png" --stride 32 \
  --out "$work/analyze"
[[ -s "$work/analyze/img0_occlusion.png" ]] || fail "zf_analyze occlusion wrote no figure"
run "$evolve" --checkpoints "$work/alexnet.h5" --data "$work/folder" --layers conv1 \
  --features-per-layer 2 --out "$work/evolve"
[[ -s "$work/evolve/conv1.png" ]] || fail "zf_evolve wrote no figure"

# 3. a small ZFNet-shaped net trained in PyTorch (identity names: no map)
$check small "$work" "$src" || fail "small net setup"
run $py "$src/scripts/export_torch.py" "$work/small.pth" "$work/small.safetensors"
run "$import" --weights "$work/small.safetensors" --config "$src/configs/tiny.yaml" --mean 0.5 \
  --std 0.25 --classes "$src/configs/fashion_classes.txt" --out "$work/small.h5"
run "$predict" --checkpoint "$work/small.h5" "$work"/img{0,1,2,3}.png --dump "$work/small_logits.h5"
$check compare "$work" small 1e-4 || fail "small net logits"
"$predict" --checkpoint "$work/small.h5" "$work/img0.png" --top 2 --dump "$work/p.csv" >"$work/p.txt" \
  || fail "zf_predict csv"
grep -qiE "^ +1\. (t-shirt/top|trouser|pullover|dress|coat|sandal|shirt|sneaker|bag|ankle boot) " \
  "$work/p.txt" || fail "zf_predict did not print the stored class names: $(cat "$work/p.txt")"
[[ $(wc -l <"$work/p.csv") -eq 11 ]] || fail "zf_predict csv: $(wc -l <"$work/p.csv") lines (expected 11)"

# 4 and 5 need a training run
if [[ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]]; then
  echo "SKIP: parts 4-5 need Fashion-MNIST (scripts/setup.sh)"
  exit $((failures ? 1 : 0))
fi
# 4. zfnet -> PyTorch -> zfnet
run "$train" "$src/configs/tiny.yaml" --max-iters 3 --out "$work/run"
run $py "$src/scripts/to_torch.py" "$work/run/ckpt/last.h5" --out "$work/rt.pth"
run $py "$src/scripts/export_torch.py" "$work/rt.pth" "$work/rt.safetensors"
run "$import" --weights "$work/rt.safetensors" --config "$src/configs/tiny.yaml" --out "$work/rt.h5"
$check same_params "$work/run/ckpt/last.h5" "$work/rt.h5" || fail "round trip changed the weights"

# 5. fine-tuning from an imported net, the last layer re-initialized
out=$("$train" "$src/configs/tiny.yaml" --init-from "$work/small.h5" --reinit fc4 --max-iters 2 \
  --out "$work/ft" 2>&1) || fail "zf_train --init-from: $out"
grep -q "initialized from .*small.h5: .* weights loaded, re-initialized fc4; its input normalization" \
  <<<"$out" || fail "zf_train --init-from said: $out"
expect_error "--reinit of an unknown layer" "--reinit fc9: no such layer" \
  "$train" "$src/configs/tiny.yaml" --init-from "$work/small.h5" --reinit fc9 --max-iters 1 \
  --out "$work/ft2"

if ((failures)); then
  echo "$failures failure(s)"
  exit 1
fi
echo "all import checks passed"
