#!/usr/bin/env bash
# zf_analyze end to end on a short run of configs/tiny.yaml: occlusion and invariance exit 0, write
# the files they announce (PNGs that are PNGs), and their HDF5 files record the choices made (the
# attributes) and hold arrays of the expected shapes; the full and incremental occlusion methods
# give the same maps; a PNG written from a data-set sample is seen as that sample (the same view).
# Skipped (77) without Fashion-MNIST or python3-h5py. About 10 s.
# usage: analyze_test.sh ZF_TRAIN ZF_ANALYZE REPO_DIR
set -u
T=$1 A=$2 repo=$3
fm=/usr/share/datasets/fashion-mnist
py=/usr/bin/python3
[[ -x $py ]] || py=python3
if [[ ! -e $fm/t10k-images-idx3-ubyte.gz ]]; then
  echo "skipped: needs Fashion-MNIST in $fm"
  exit 77  # ctest's SKIP_RETURN_CODE
fi
if ! "$py" -c 'import h5py, numpy' 2>/dev/null; then
  echo "skipped: needs python3-h5py and python3-numpy (scripts/setup.sh)"
  exit 77
fi
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# files NAME FILE...: every file exists and is not empty; .png files start with PNG's signature.
files() {
  local name=$1 f
  shift
  for f in "$@"; do
    if [[ ! -s $f ]]; then
      fail "$name: $f missing or empty"
    elif [[ $f == *.png && $(head -c 8 "$f" | od -An -tx1 | tr -d ' \n') != 89504e470d0a1a0a ]]; then
      fail "$name: $f is not a PNG"
    fi
  done
}

run train "$T" "$repo/configs/tiny.yaml" --out "$tmp/run" --limit-train 64 --limit-val 64
ck=$tmp/run/ckpt/last.h5
classes=$repo/configs/fashion_classes.txt
[[ -s $ck ]] || { echo "FAIL: the run wrote no checkpoint"; exit 1; }

# Occlusion: defaults (incremental on the CPU), then the full method; then a PNG of sample 0's
# pixels given as a file without a label (the true class is then the prediction).
occ=$tmp/occ
run occlusion "$A" occlusion --checkpoint "$ck" --samples 0,1 --classes "$classes" \
  --others-limit 256 --out "$occ/inc"
files occlusion "$occ"/inc/sample{0,1}_occlusion.{h5,png}
run occlusion-full "$A" occlusion --checkpoint "$ck" --samples 0,1 --method full --others 0 \
  --out "$occ/full"
files occlusion-full "$occ"/full/sample{0,1}_occlusion.{h5,png}
"$py" - "$occ/inc/sample0_occlusion.h5" "$tmp/boot.png" <<'PY' || fail "writing a PNG of sample 0"
import struct, sys, zlib, h5py
px = h5py.File(sys.argv[1], "r")["pixels"][0]  # [28, 28] uint8: the view, = the source (pad 0)
raw = b"".join(b"\x00" + bytes(row.tolist()) for row in px)
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
ihdr = struct.pack(">IIBBBBB", px.shape[1], px.shape[0], 8, 0, 0, 0, 0)
open(sys.argv[2], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
                              chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
PY
run occlusion-image "$A" occlusion --checkpoint "$ck" --image "$tmp/boot.png" --others 2 \
  --size 5 --stride 3 --fill 0 --strongest sum --out "$occ/img"
files occlusion-image "$occ"/img/boot_occlusion.{h5,png}

"$py" - "$occ" <<'PY' || fail "occlusion dumps"
import sys, h5py, numpy as np
occ = sys.argv[1]
bad = []
def check(what, ok):
    if not ok:
        bad.append(what)
def attr(f, k):
    v = f.attrs[k]
    return v.decode() if isinstance(v, bytes) else v
inc, full = (h5py.File(f"{occ}/{m}/sample0_occlusion.h5", "r") for m in ("inc", "full"))
# 28x28 input: square round(28/5) = 6, stride round(8*28/224) = 1, 23 positions per axis.
expect = {"analysis": "occlusion", "method": "incremental", "size": 6, "stride": 1,
          "strongest": "max", "layer": "conv2", "label_source": "dataset", "label": 9,
          "rule": "deconv"}
for k, v in expect.items():
    check(f"inc attr {k} = {attr(inc, k)!r}, expected {v!r}", attr(inc, k) == v)
check(f"fill {attr(inc, 'fill')!r}", attr(inc, "fill").startswith("mean"))
check("others_source", "t10k" in attr(inc, "others_source"))
check(f"full method {attr(full, 'method')!r}", attr(full, "method") == "full")
shapes = {"ys": (23,), "xs": (23,), "map_sum": (23, 23), "p_true": (23, 23),
          "top_class": (23, 23), "top_prob": (23, 23), "clean_probabilities": (10,),
          "pixels": (1, 28, 28), "projection": (1, 28, 28), "others_index": (3,),
          "others_projections": (3, 1, 28, 28)}
for k, s in shapes.items():
    check(f"{k} shape {inc[k].shape if k in inc else None}, expected {s}",
          k in inc and inc[k].shape == s)
check("full has others with --others 0", "others_projections" not in full)
check("ys", list(inc["ys"][()]) == list(range(23)))
p = inc["p_true"][()]
check("p_true outside [0, 1]", np.all((p >= 0) & (p <= 1)))
check("top_prob below p_true somewhere", np.all(inc["top_prob"][()] >= p - 1e-7))
for i in (0, 1):
    a, b = (h5py.File(f"{occ}/{m}/sample{i}_occlusion.h5", "r") for m in ("inc", "full"))
    check(f"sample{i}: the methods' strongest maps differ", a.attrs["feature"] == b.attrs["feature"])
    check(f"sample{i}: top_class differs between full and incremental",
          np.array_equal(a["top_class"][()], b["top_class"][()]))
    d = np.abs(a["p_true"][()] - b["p_true"][()]).max()
    check(f"sample{i}: p_true differs by {d:g} between full and incremental", d <= 1e-5)
    m = np.abs(a["map_sum"][()] - b["map_sum"][()]).max() / max(1.0, np.abs(b["map_sum"][()]).max())
    check(f"sample{i}: map_sum differs by {m:g} (relative)", m <= 1e-4)
img = h5py.File(f"{occ}/img/boot_occlusion.h5", "r")
expect = {"size": 5, "stride": 3, "strongest": "sum", "label_source": "predicted",
          "label": int(attr(img, "predicted")), "fill": "pixel value 0"}
for k, v in expect.items():
    check(f"image attr {k} = {attr(img, k)!r}, expected {v!r}", attr(img, k) == v)
# corners every 3 px from 0, plus one flush with the far edge: 0, 3, ..., 21, 23
check(f"image ys {list(img['ys'][()])}", list(img["ys"][()]) == list(range(0, 22, 3)) + [23])
check("image others", img["others_projections"].shape == (2, 1, 28, 28))
check("image pixels differ from sample 0's",
      np.array_equal(img["pixels"][()], inc["pixels"][()]))
for b in bad:
    print("    ", b)
sys.exit(1 if bad else 0)
PY

# Invariance: small sweeps given, then one default sweep (the paper's, translation scaled to 28 px).
inv=$tmp/inv
run invariance "$A" invariance --checkpoint "$ck" --samples 0 --classes "$classes" \
  --range translate=-4:4,scale=1:1.4,rotate=0:90 --steps translate=1,scale=0.1,rotate=30 \
  --out "$inv"
files invariance "$inv"/sample0_invariance.{csv,h5,png}
run invariance-default "$A" invariance --checkpoint "$ck" --image "$tmp/boot.png" --label 9 \
  --transform translate --layers conv2,fc4 --batch 7 --out "$inv/default"
files invariance-default "$inv"/default/boot_invariance.{csv,h5,png}

"$py" - "$inv" <<'PY' || fail "invariance dumps"
import sys, h5py, numpy as np
inv = sys.argv[1]
bad = []
def check(what, ok):
    if not ok:
        bad.append(what)
def attr(o, k):
    v = o.attrs[k]
    return v.decode() if isinstance(v, bytes) else v
f = h5py.File(f"{inv}/sample0_invariance.h5", "r")
check("format", attr(f, "format") == "zfnet-invariance")
check(f"layers {attr(f, 'layers')!r}", attr(f, "layers") == "conv1,fc3")
check("layer_names", [n.decode() if isinstance(n, bytes) else n for n in f["layer_names"][()]]
      == ["conv1", "fc3"])
check(f"label {attr(f, 'label')!r}", attr(f, "label") == "9 (Ankle boot)")
check("label_index", attr(f, "label_index") == 9 and attr(f, "label_predicted") == 0)
check("label_source", attr(f, "label_source").startswith("given"))
for k in ("distance", "distance_normalized", "applied_to", "interpolation", "fill",
          "translate_axis", "scale_units", "rotate_units"):
    check(f"attr {k} missing", k in f.attrs)
check("fill is the mean", "mean" in attr(f, "fill"))
check("bilinear", "bilinear" in attr(f, "interpolation"))
sweeps = {"translate": ([-4, -3, -2, -1, 0, 1, 2, 3, 4], "input px", 4),
          "scale": ([1, 1.1, 1.2, 1.3, 1.4], "ratio", 0),
          "rotate": ([0, 30, 60, 90], "degrees", 0)}
for t, (amounts, units, identity) in sweeps.items():
    g = f[t]
    n = len(amounts)
    check(f"{t} units", attr(g, "units") == units)
    check(f"{t} origin", attr(g, "origin") == "range given, step given")
    check(f"{t} sweep attr", attr(f, f"sweep_{t}").startswith(f"{amounts[0]:g}:{amounts[-1]:g}"))
    check(f"{t} amounts {list(g['amount'][()])}", np.allclose(g["amount"][()], amounts, atol=1e-6))
    for k, s in (("distance", (n, 2)), ("distance_normalized", (n, 2)), ("p_true", (n,)),
                 ("top_class", (n,)), ("top_prob", (n,))):
        check(f"{t}/{k} shape {g[k].shape}, expected {s}", g[k].shape == s)
    d, dn = g["distance"][()], g["distance_normalized"][()]
    check(f"{t}: the identity is not at distance 0", np.all(d[identity] == 0) and np.all(dn[identity] == 0))
    check(f"{t}: a transform at distance 0", np.all(d[identity + 1] > 0))
    check(f"{t}: normalized distance above 2", np.all(dn <= 2 + 1e-6))
rows = [l for l in open(f"{inv}/sample0_invariance.csv") if not l.startswith("#")]
check(f"csv header {rows[0]!r}", rows[0].startswith("transform,amount,conv1_distance,"))
check(f"csv rows {len(rows) - 1}", len(rows) - 1 == 9 + 5 + 4)
d = h5py.File(f"{inv}/default/boot_invariance.h5", "r")
check("default: one sweep", list(d.keys()) == ["layer_names", "translate"])
g = d["translate"]
# the paper's -60:60 px step 1 at 224, times 28/224: -7.5:7.5 step 0.125 = 121 amounts
check(f"default translate lo/hi/step {g.attrs['lo']}, {g.attrs['hi']}, {g.attrs['step']}",
      (g.attrs["lo"], g.attrs["hi"], g.attrs["step"]) == (-7.5, 7.5, 0.125))
check(f"default origin {attr(g, 'origin')!r}", "px at 224" in attr(g, "origin"))
check("default amounts", g["amount"].shape == (121,) and g["distance"].shape == (121, 2))
check("default: identity", np.all(g["distance"][60] == 0))
check("default layers", attr(d, "layers") == "conv2,fc4" and attr(d, "label_index") == 9)
for b in bad:
    print("    ", b)
sys.exit(1 if bad else 0)
PY

finish
