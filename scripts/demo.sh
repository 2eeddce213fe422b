#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: set up, build, train configs/fashion.yaml on the CPU, draw
# the learning curves, then the deconvnet pictures: feature evolution across the snapshots (zf_evolve)
# and the top-9 projections of every conv layer (zf_project); then the paper's analyses (zf_analyze):
# occlusion (Fig. 7), invariance (Fig. 5) and conv1's filters across the snapshots (Fig. 6); last, the
# static HTML report of all of it (scripts/zf_report.py).
# Everything goes to runs/fashion/ (override with ZF_RUN). Running it again resumes the training
# where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build=${ZF_BUILD_DIR:-build}
run=${ZF_RUN:-runs/fashion}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j "$(nproc)" --target zf_train zf_project zf_evolve zf_analyze

resume=()
[[ -f "$run/ckpt/last.h5" ]] && resume=(--resume)
"$build/zf_train" configs/fashion.yaml --out "$run" "${resume[@]}"
/usr/bin/python3 scripts/plot_metrics.py "$run"
"$build/zf_evolve" --checkpoints "$run/ckpt" --out "$run/evolve"
"$build/zf_project" --checkpoint "$run/ckpt/last.h5" --out "$run/project"
classes=configs/fashion_classes.txt
"$build/zf_analyze" occlusion --checkpoint "$run/ckpt/last.h5" --samples 0,1,2,3 --classes "$classes" \
  --out "$run/analyze"
"$build/zf_analyze" invariance --checkpoint "$run/ckpt/last.h5" --samples 0,1 --classes "$classes" \
  --out "$run/analyze"
"$build/zf_analyze" filters --checkpoints "$run"/ckpt/epoch_*.h5 --out "$run/analyze"
/usr/bin/python3 scripts/zf_report.py "$run"

cat <<EOT

Done. Pictures:
  $run/curves.png                  loss and error per epoch
  $run/evolve/conv*.png            feature evolution across the snapshots (rows: features, columns: epochs)
  $run/evolve/conv1_filters.png    conv1's filters at every snapshot
  $run/project/conv*.png           top-9 deconvnet projections beside their image patches, per conv layer
  $run/analyze/sample*_occlusion.png   occlusion (Fig. 7): the image and the square, conv5's strongest
                                   map's activity and projections, P(true class) and the top class
                                   at every square position (test samples 0-3)
  $run/analyze/sample*_invariance.png  invariance (Fig. 5): translated, scaled and rotated test samples
                                   0 and 1, feature distances at conv1 and fc7, P(true class)
  $run/analyze/filters_*.png       conv1's filters at every snapshot, on one shared scale and each on
                                   its own (Fig. 6)
Data dumps (HDF5; invariance also CSV) lie beside each picture; checkpoints are in $run/ckpt.
All of it as a static HTML report (offline, any browser): $run/report/index.html
EOT
