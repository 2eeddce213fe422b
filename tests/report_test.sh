#!/usr/bin/env bash
# zf_report (scripts/zf_report.py) end to end on a short run of configs/tiny.yaml: zf_project, zf_evolve
# and zf_analyze (occlusion, invariance, filters, correspondence) write their dumps, the report is built (its shapes and
# receptive fields agree with the checkpoint and the dumps: no warning), a rerun replaces it, and
# tests/report_check.py opens every page in headless Chromium (console errors, images, local links,
# one unit page per feature, no request off the machine) and writes screenshots of index.html and of
# a unit page to SHOTS_DIR. Then a run folder holding only a checkpoint: the report of what exists, one
# line per missing part naming its command, exit 0. Skipped (77) without Fashion-MNIST, Debian's
# chromium + chromium-driver + python3-selenium, or the Python modules. About 15 s.
# usage: report_test.sh ZF_TRAIN ZF_PROJECT ZF_EVOLVE ZF_ANALYZE REPO_DIR SHOTS_DIR
set -u
T=$1 P=$2 E=$3 A=$4 repo=$5 shots=$6
fm=/usr/share/datasets/fashion-mnist
py=/usr/bin/python3
if [[ ! -e $fm/t10k-images-idx3-ubyte.gz ]]; then
  echo "skipped: needs Fashion-MNIST in $fm"
  exit 77  # ctest's SKIP_RETURN_CODE
fi
if ! "$py" -c 'import h5py, numpy, matplotlib, jinja2, yaml, selenium' 2>/dev/null; then
  echo "skipped: needs python3-h5py, -numpy, -matplotlib, -jinja2, -yaml and -selenium (scripts/setup.sh)"
  exit 77
fi
if [[ ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver ]]; then
  echo "skipped: needs Debian's chromium and chromium-driver (scripts/setup.sh)"
  exit 77
fi
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

r=$tmp/run
ck=$r/ckpt/last.h5
classes=$repo/configs/fashion_classes.txt
report=$repo/scripts/zf_report.py
run train "$T" "$repo/configs/tiny.yaml" --out "$r" --limit-train 64 --limit-val 64
[[ -s $ck ]] || { echo "FAIL: the run wrote no checkpoint"; exit 1; }
run project "$P" --checkpoint "$ck" --limit 128 --out "$r/project"
run evolve "$E" --checkpoints "$r/ckpt" --limit 128 --out "$r/evolve"
run occlusion "$A" occlusion --checkpoint "$ck" --samples 0,1 --classes "$classes" --others-limit 128 \
  --out "$r/analyze"
run invariance "$A" invariance --checkpoint "$ck" --samples 0 --classes "$classes" \
  --range translate=-4:4,scale=1:1.4,rotate=0:90 --steps translate=1,scale=0.1,rotate=30 --out "$r/analyze"
run filters "$A" filters --checkpoints "$r"/ckpt/epoch_*.h5 --out "$r/analyze"
# correspondence needs photos of the net's channels: test samples 0 and 1 as grey PNGs, a parts file.
"$py" - "$r/analyze" "$tmp" <<'PY' || fail "writing the parts file's images"
import struct, sys, zlib, h5py
for i in (0, 1):
    px = h5py.File(f"{sys.argv[1]}/sample{i}_occlusion.h5", "r")["pixels"][0]  # [28, 28] uint8
    raw = b"".join(b"\x00" + bytes(row.tolist()) for row in px)
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    ihdr = struct.pack(">IIBBBBB", px.shape[1], px.shape[0], 8, 0, 0, 0, 0)
    open(f"{sys.argv[2]}/s{i}.png", "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
                                               chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
PY
cat >"$tmp/parts.json" <<'EOT'
{"images": [{"file": "s0.png", "object": [2, 2, 24, 24], "parts": {"top": [6, 6, 6, 6], "bottom": [10, 14, 8, 6]}},
            {"file": "s1.png", "object": [1, 1, 26, 26], "parts": {"top": [8, 5, 6, 6], "bottom": [9, 15, 8, 6]}}]}
EOT
run correspondence "$A" correspondence --checkpoint "$ck" --parts "$tmp/parts.json" --random 3 \
  --out "$r/analyze"

run report "$py" "$report" "$r"
sed 's/^/     /' "$tmp/report.out"
if grep -q '^warning' "$tmp/report.out"; then fail "report: warnings"; fi
if grep -q '^missing' "$tmp/report.out"; then fail "report: parts named missing that exist"; fi
for f in index.html style.css curves.svg layers/conv1.html layers/conv2.html units/conv2/0.html \
  occlusion.html invariance.html filters.html correspondence.html; do
  [[ -s $r/report/$f ]] || fail "report: $f missing"
done
run rerun "$py" "$report" "$r"
[[ ! -e $r/report.tmp ]] || fail "rerun: report.tmp left behind"
mkdir -p "$tmp/other" && touch "$tmp/other/keep"
if "$py" "$report" "$r" --out "$tmp/other" >"$tmp/refuse.out" 2>&1; then
  fail "a non-empty folder zf_report did not write was replaced"
fi
[[ -e $tmp/other/keep ]] || fail "refusal: the folder's file is gone"

run browser "$py" "$repo/tests/report_check.py" "$r/report" "$r" "$shots"
sed 's/^/     /' "$tmp/browser.out"

# A run folder with a checkpoint only: what exists, and a line per missing part with its command.
mkdir -p "$tmp/bare/ckpt" && cp "$ck" "$tmp/bare/ckpt/last.h5"
run bare "$py" "$report" "$tmp/bare"
for part in 'project/' 'evolve/' 'analyze/\*_occlusion.h5' 'analyze/\*_invariance.h5' 'analyze/filters.h5' \
  'analyze/correspondence.h5'; do
  grep -q "^missing: $part.*build/zf_" "$tmp/bare.out" || fail "bare: no missing line for $part"
done
grep -q 'Not in this report' "$tmp/bare/report/index.html" || fail "bare: the index does not list what is missing"
run bare-browser "$py" "$repo/tests/report_check.py" "$tmp/bare/report" "$tmp/bare" "$tmp/bare_shots"
# Broken dumps: one line each, the report of the rest, exit 0, and the pages still check out.
cp -r "$tmp/bare" "$tmp/junk" && rm -rf "$tmp/junk/report" && cp -r "$r/project" "$r/evolve" "$r/analyze" "$tmp/junk/"
truncate -s 4000 "$tmp/junk/project/conv2.h5"
head -c 3000 /dev/urandom >"$tmp/junk/evolve/conv1.h5"
echo junk >"$tmp/junk/analyze/sample0_occlusion.png"
echo junk >"$tmp/junk/analyze/filters.h5"
run junk "$py" "$report" "$tmp/junk"
[[ $(grep -c '^warning: .*junk/\(project/conv2.h5\|evolve/conv1.h5\|analyze/sample0_occlusion.png\|analyze/filters.h5\)' \
  "$tmp/junk.out") == 4 ]] || fail "junk: not a warning per broken file"
run junk-browser "$py" "$repo/tests/report_check.py" "$tmp/junk/report" "$tmp/junk" "$tmp/junk_shots" --any-units
if "$py" "$report" "$tmp/none" >"$tmp/none.out" 2>&1; then fail "a missing run folder gave exit code 0"; fi
[[ $(wc -l <"$tmp/none.out") == 1 ]] || fail "a missing run folder: not one line"

finish
