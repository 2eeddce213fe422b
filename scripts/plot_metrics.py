#!/usr/bin/python3
"""Draws a zf_train run's loss and error curves from <out>/metrics.csv to a PNG.

usage: scripts/plot_metrics.py RUN_DIR_OR_METRICS_CSV [-o OUT.png]
Uses Debian's python3-matplotlib (scripts/setup.sh installs it); writes <run>/curves.png by default.
"""
import argparse
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", help="run folder (with metrics.csv) or the csv itself")
    ap.add_argument("-o", "--out", help="output PNG (default: beside metrics.csv, curves.png)")
    a = ap.parse_args()
    path = os.path.join(a.run, "metrics.csv") if os.path.isdir(a.run) else a.run
    if not os.path.exists(path):
        sys.exit(f"plot_metrics: {path}: no such file")
    with open(path) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit(f"plot_metrics: {path}: no epochs recorded yet")
    col = lambda k: [float(r[k]) for r in rows]  # noqa: E731
    ep = col("epoch")
    fig, (l, e) = plt.subplots(1, 2, figsize=(11, 4))
    l.plot(ep, col("train_loss"), "o-", label="train")
    l.plot(ep, col("val_loss"), "s-", label="validation")
    l.set_xlabel("epoch")
    l.set_ylabel("cross-entropy loss")
    l.set_title("loss")
    l.legend()
    l.grid(alpha=0.3)
    e.plot(ep, [100 * (1 - v) for v in col("train_top1")], "o-", label="train top-1")
    e.plot(ep, [100 * (1 - v) for v in col("val_top1")], "s-", label="validation top-1")
    e.plot(ep, [100 * (1 - v) for v in col("val_top5")], "^-", label="validation top-5")
    e.set_xlabel("epoch")
    e.set_ylabel("error (%)")
    e.set_title("error")
    e.legend()
    e.grid(alpha=0.3)
    fig.suptitle(os.path.dirname(os.path.abspath(path)))
    fig.tight_layout()
    out = a.out or os.path.join(os.path.dirname(path), "curves.png")
    fig.savefig(out, dpi=100)
    print(out)


if __name__ == "__main__":
    main()
