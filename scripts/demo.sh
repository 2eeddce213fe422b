#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: set up, build, train configs/fashion.yaml on the CPU, draw
# the learning curves, then the deconvnet pictures: feature evolution across the snapshots (zf_evolve)
# and the top-9 projections of every conv layer (zf_project). Everything goes to runs/fashion/
# (override with ZF_RUN). Running it again resumes the training where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build=${ZF_BUILD_DIR:-build}
run=${ZF_RUN:-runs/fashion}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j "$(nproc)" --target zf_train zf_project zf_evolve

resume=()
[[ -f "$run/ckpt/last.h5" ]] && resume=(--resume)
"$build/zf_train" configs/fashion.yaml --out "$run" "${resume[@]}"
/usr/bin/python3 scripts/plot_metrics.py "$run"
"$build/zf_evolve" --checkpoints "$run/ckpt" --out "$run/evolve"
"$build/zf_project" --checkpoint "$run/ckpt/last.h5" --out "$run/project"

cat <<EOT

Done. Pictures:
  $run/curves.png                  loss and error per epoch
  $run/evolve/conv*.png            feature evolution across the snapshots (rows: features, columns: epochs)
  $run/evolve/conv1_filters.png    conv1's filters at every snapshot
  $run/project/conv*.png           top-9 deconvnet projections beside their image patches, per conv layer
Data dumps (HDF5) lie beside each picture; checkpoints are in $run/ckpt.
EOT
