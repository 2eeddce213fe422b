#!/usr/bin/python3
"""zf_report: a static, offline HTML report of a zfnet run, built from what the run wrote.

    scripts/zf_report.py RUN_DIR [--out RUN_DIR/report]

Reads RUN_DIR/ckpt/*.h5 (config, metrics, filters), RUN_DIR/metrics.csv, and the dumps of zf_project
(RUN_DIR/project/<layer>.h5), zf_evolve (RUN_DIR/evolve/<layer>.h5) and zf_analyze (RUN_DIR/analyze/),
and writes index.html, a page per layer, per unit and per analysis, PNG thumbnails with full-size
links and the learning curves as SVG. No network, no training; a part whose dump is missing is named
with the command that makes it, and the rest is reported. README.md, section zf_report, lists the pages.

Why these tools: h5py and numpy read the dumps as the tests do; the PNGs are written here with numpy and
zlib (thousands of tiny images: a PNG writer of 15 lines is faster than going through matplotlib or PIL
per image); matplotlib draws the learning curves as SVG (text stays text, it scales); jinja2 renders the
pages from one base layout with HTML escaping on by default (config text, file names and attributes
come from files and must never become markup). Debian packages all four (scripts/setup.sh).
"""
import argparse
import csv
import glob
import math
import os
import shutil
import struct
import sys
import time
import zlib

import h5py
import numpy as np

try:
    import jinja2
    import yaml
except ImportError as e:  # one line naming the package, never a traceback
    sys.exit(f"zf_report: needs {e.name} (Debian python3-{'jinja2' if e.name == 'jinja2' else 'yaml'}; "
             "scripts/setup.sh installs it)")

THUMB_MAX = 96    # a thumbnail's longest side; smaller images are shown enlarged by CSS
FULL_MIN = 160    # a full-size image is zoomed (nearest) until its side reaches this
MARKER = ".zf_report"  # names a folder this program wrote (and may replace on a rerun)


# ---------------------------------------------------------------------------------------------- PNG
def png_bytes(a):
    """uint8 [h, w] (grey), [h, w, 3] (RGB) or [h, w, 4] (RGBA) -> PNG file bytes."""
    a = np.ascontiguousarray(a, dtype=np.uint8)
    h, w = a.shape[:2]
    colour = 0 if a.ndim == 2 else {3: 2, 4: 6}[a.shape[2]]
    raw = np.zeros((h, a[0].size + 1), np.uint8)  # each row: filter byte 0, then the pixels
    raw[:, 1:] = a.reshape(h, -1)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw.tobytes(), 6)) + chunk(b"IEND", b""))


def to_hwc(chw):
    """[C, h, w] -> what png_bytes takes: grey for 1 channel, RGB for 3, else the first channel."""
    return chw[:3].transpose(1, 2, 0) if chw.shape[0] == 3 else chw[0]


def show_signed(x):
    """A projection or filter for display, as zf_project draws them: each alone, 0 mid-grey, the largest
    magnitude black or white (one scale for all channels)."""
    x = np.asarray(x, np.float64)
    m = np.abs(x).max() if x.size else 0.0
    y = np.full(x.shape, 128.0) if m == 0 or not np.isfinite(m) else 128.0 + 127.0 * x / m
    return np.clip(np.rint(y), 0, 255).astype(np.uint8)


def zoom(a, z):
    return a if z == 1 else np.repeat(np.repeat(a, z, axis=0), z, axis=1)


def shrink(a, f):
    """Box-average by an integer factor f (the rest of the image past a multiple of f is dropped)."""
    if f == 1:
        return a
    h, w = a.shape[0] // f * f, a.shape[1] // f * f
    b = a[:h, :w].astype(np.float32).reshape(h // f, f, w // f, f, *a.shape[2:]).mean(axis=(1, 3))
    return np.rint(b).astype(np.uint8)


def grid(imgs, cols, gap):
    """Same-size uint8 pictures in a grid of `cols` columns, `gap` white pixels apart."""
    h, w = imgs[0].shape[:2]
    rows = -(-len(imgs) // cols)
    out = np.full((rows * h + (rows - 1) * gap, cols * w + (cols - 1) * gap) + imgs[0].shape[2:], 255,
                  np.uint8)
    for i, a in enumerate(imgs):
        y, x = i // cols * (h + gap), i % cols * (w + gap)
        out[y:y + h, x:x + w] = a
    return out


class Writer:
    """Writes the report's files under `out` and counts them."""

    def __init__(self, out):
        self.out, self.files, self.bytes, self.pages = out, 0, 0, 0
        self.unreadable = []  # pictures that could not be read: warnings

    def write(self, rel, data):
        path = os.path.join(self.out, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        mode = "wb" if isinstance(data, bytes) else "w"
        with open(path, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as f:
            f.write(data)
        self.files += 1
        self.bytes += len(data if isinstance(data, bytes) else data.encode("utf-8"))
        if rel.endswith(".html"):
            self.pages += 1

    def pic(self, rel, img):
        """One picture as a thumbnail only (rel.png): uint8 in png_bytes' shapes, shrunk to THUMB_MAX."""
        side = max(img.shape[:2])
        thumb = shrink(img, math.ceil(side / THUMB_MAX)) if side > THUMB_MAX else img
        self.write(rel + ".png", png_bytes(thumb))
        return {"thumb": rel + ".png", "w": thumb.shape[1], "h": thumb.shape[0]}

    def montage(self, rel, imgs, cols):
        """Pictures of one size in a grid, row-major: a thumbnail (rel.png: cells at most THUMB_MAX, 1 px
        apart, shown enlarged by the page) and a full-size picture (rel_full.png: each cell zoomed to
        about FULL_MIN, 4 px apart). One file pair per grid keeps a report of thousands of small
        pictures to a few files per unit. -> {thumb, full, w, h, dw (the width the page shows)}"""
        side = max(imgs[0].shape[:2])
        f = math.ceil(side / THUMB_MAX) if side > THUMB_MAX else 1
        z = max(1, math.ceil(FULL_MIN / side))
        thumb = grid([shrink(a, f) for a in imgs], cols, 1)
        self.write(rel + ".png", png_bytes(thumb))
        self.write(rel + "_full.png", png_bytes(grid([zoom(a, z) for a in imgs], cols, 4)))
        dw = thumb.shape[1] * max(1, min(16, 300 // thumb.shape[1]))  # integer zoom: even gaps
        return {"thumb": rel + ".png", "full": rel + "_full.png", "w": thumb.shape[1], "h": thumb.shape[0],
                "dw": dw}

    def figure(self, rel, src):
        """A PNG the tools drew (src): copied as the full size, plus a thumbnail at most 640 px wide."""
        import matplotlib.image as mpimg
        try:
            a = mpimg.imread(src)
        except (OSError, ValueError, SyntaxError) as e:
            self.unreadable.append(f"{src}: not a readable PNG ({e})")
            return None
        with open(src, "rb") as f:
            data = f.read()
        self.write(rel + "_full.png", data)
        a = np.rint(a * 255).astype(np.uint8) if a.dtype != np.uint8 else a
        if a.ndim == 3 and a.shape[2] == 4 and a[..., 3].min() == 255:
            a = a[..., :3]
        if a.ndim == 3 and a.shape[2] == 2:  # grey + alpha
            a = a[..., 0]
        a = shrink(a, math.ceil(a.shape[1] / 640)) if a.shape[1] > 640 else a
        self.write(rel + ".png", png_bytes(a))
        return {"thumb": rel + ".png", "full": rel + "_full.png", "w": a.shape[1], "h": a.shape[0]}

    def copy(self, rel, src):
        with open(src, "rb") as f:
            self.write(rel, f.read())
        return rel


# ------------------------------------------------------------------------------------------ reading
def attr(o, k, default=None):
    if k not in o.attrs:
        return default
    v = o.attrs[k]
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.generic):
        return v.item()
    return v


def strs(a):
    return [x.decode() if isinstance(x, bytes) else str(x) for x in a]


def net_table(cfg):
    """The net's layers from its config: output shape and receptive field (size, jump, first), the same
    arithmetic as zf's shapes.h and visualize/feature_layers.cpp (DESIGN.md sections 2 and 4): conv floor
    mode, max-pool ceil mode with its last window starting inside the input (floor mode with
    `ceil: false`), a layer that mixes all
    positions (fc) sees the union of its inputs' fields, clipped to the image, from there on."""
    inp = cfg.get("input", {})
    c, h, w = int(inp.get("channels", 3)), int(inp.get("height", 0)), int(inp.get("width", 0))
    image = max(h, w)
    size, jump, first, mixed, flat = 1, 1, 0, False, False
    rows = []
    for spec in cfg.get("layers", []):
        kind, ih, iw = spec.get("type", "?"), h, w
        geometry = ""
        if kind == "conv":
            k, s, p = int(spec.get("kernel", 1)), int(spec.get("stride", 1)), int(spec.get("pad", 0))
            c = int(spec.get("filters", c))
            h, w = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
            geometry = f"{c} filters {k}x{k}, stride {s}, pad {p}"
        elif kind == "maxpool":
            k, s, p = int(spec.get("kernel", 3)), int(spec.get("stride", 2)), 0
            ceil = spec.get("ceil", True) is not False

            def pooled(n):
                if not ceil:
                    return (n - k) // s + 1
                o = -(-(n - k) // s) + 1
                return o - 1 if (o - 1) * s >= n else o

            h, w = pooled(h), pooled(w)
            geometry = f"max {k}x{k}, stride {s}" + ("" if ceil else ", floor mode")
        elif kind == "fc":
            c, h, w = int(spec.get("outputs", 1)), 1, 1
            geometry = f"{c} outputs"
        elif kind == "lrn":
            geometry = f"size {spec.get('size', 5)}"
        elif kind == "dropout":
            geometry = f"p {spec.get('p', 0.5)}"
        if not mixed:
            if kind in ("conv", "maxpool"):
                first -= p * jump
                size += (k - 1) * jump
                jump *= s
            elif (h, w) != (ih, iw):
                lo = max(first, 0)
                hi = min(first + size + (max(ih, iw) - 1) * jump, image)
                first, size, jump, mixed = lo, max(hi - lo, 1), max(hi - lo, 1), True
        flat = flat or kind == "fc"  # from the first fc on, outputs are vectors
        shape = f"{c}" if flat else f"{c}x{h}x{w}"
        rows.append({"name": spec.get("name", "?"), "type": kind, "geometry": geometry, "shape": shape,
                     "field": (size, jump, first), "filtering": kind == "conv"})
    return rows


def read_metrics(run, ckpt):
    """Per-epoch metrics: the last checkpoint's /metrics, else metrics.csv. -> (columns dict, source)"""
    if ckpt is not None and "metrics" in ckpt and len(ckpt["metrics"]) and "epoch" in ckpt["metrics"]:
        g = ckpt["metrics"]
        return {k: np.asarray(g[k][()], np.float64) for k in g}, "ckpt/last.h5 /metrics"
    path = os.path.join(run, "metrics.csv")
    if os.path.isfile(path):
        with open(path, newline="") as f:
            rows = [r for r in csv.DictReader(f)]
        if rows:
            return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}, "metrics.csv"
    return None, None


def curves_svg(m):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams["svg.fonttype"] = "none"
    ep = m["epoch"]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2))
    for k, label in (("train_loss", "train"), ("val_loss", "validation")):
        if k in m:
            a.plot(ep, m[k], marker="o", label=label)
    a.set(xlabel="epoch", ylabel="loss", title="loss")
    for k, label in (("train_top1", "train top-1"), ("val_top1", "val top-1"), ("val_top5", "val top-5")):
        if k in m:
            b.plot(ep, 100 * (1 - m[k]), marker="o", label=label)
    b.set(xlabel="epoch", ylabel="error %", title="error")
    for ax in (a, b):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        if len(ep) < 12:
            ax.set_xticks(ep)
    fig.tight_layout()
    import io
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    plt.close(fig)
    return buf.getvalue()


def rel_run(run, path):
    """A path as the pages show it: relative to the run folder where it lies inside it."""
    try:
        r = os.path.relpath(os.path.abspath(path), os.path.abspath(run))
    except ValueError:
        return path
    return path if r.startswith("..") else f"RUN/{r}"


def fill_option(fill):
    """A fill attribute in words ('mean (...)', 'pixel value 0') as the --fill option."""
    fill = str(fill)
    return "mean" if fill.startswith("mean") else fill.replace("pixel value", "").split()[0] if fill.strip() else "?"


def first_word(text):
    return str(text).split()[0] if str(text).split() else "?"


def sample_option(image):
    """An image attribute ('<data set>#<i>' or a file) as the zf_analyze option that names it."""
    if "#" in image:
        return f"--samples {image.rsplit('#', 1)[1]}"
    return f"--image {image}"


# ------------------------------------------------------------------------------------------ building
class Report:
    def __init__(self, run, out):
        self.run, self.out = run, out
        self.w = Writer(out)
        self.missing = []   # (what, command)
        self.warnings = []
        self.env = jinja2.Environment(loader=jinja2.DictLoader(TEMPLATES), autoescape=True,
                                      undefined=jinja2.StrictUndefined, trim_blocks=True,
                                      lstrip_blocks=True)
        self.ckpt_path = os.path.join(run, "ckpt", "last.h5")
        self.cmd_ckpt = "RUN/ckpt/last.h5"

    def miss(self, what, command):
        self.missing.append((what, command.replace("RUN", self.run.rstrip("/"))))

    def page(self, rel, template, **kw):
        depth = rel.count("/")
        html = self.env.get_template(template).render(root="../" * depth, run=self.run, page=rel, **kw)
        self.w.write(rel, html)

    # ---- overview
    def overview(self):
        ckpt = None
        info = {}
        if os.path.isfile(self.ckpt_path):
            try:
                ckpt = h5py.File(self.ckpt_path, "r")
                info = {k: attr(ckpt, k) for k in ("epoch", "iteration", "arch", "config")}
                if "data" in ckpt and "classes" in ckpt["data"]:
                    info["classes"] = strs(ckpt["data/classes"][()])
                if "data" in ckpt:
                    info["imported_from"] = attr(ckpt["data"], "imported_from")
            except OSError as e:
                self.warnings.append(f"{self.ckpt_path}: cannot be read ({e})")
                ckpt = None
        else:
            self.miss("ckpt/last.h5 (config, layers, filters, metrics)", "build/zf_train CONFIG --out RUN")
        cfg = {}
        if info.get("config"):
            try:
                cfg = yaml.safe_load(info["config"]) or {}
            except yaml.YAMLError as e:
                self.warnings.append(f"{self.ckpt_path}: the stored config is not YAML ({e})")
        self.cfg = cfg
        self.layers = net_table(cfg) if cfg else []
        self.check_arch(info.get("arch"))
        try:
            metrics, msource = read_metrics(self.run, ckpt)
        except (OSError, KeyError, ValueError, TypeError) as e:
            self.warnings.append(f"the metrics cannot be read ({e})")
            metrics, msource = None, None
        if ckpt is not None:
            ckpt.close()
        curves, final = None, None
        if metrics is not None and "epoch" in metrics and len(metrics["epoch"]):
            self.w.write("curves.svg", curves_svg(metrics))
            curves = "curves.svg"
            final = {k: float(v[-1]) for k, v in metrics.items()}
            final["duration"] = float(metrics["seconds"].sum()) if "seconds" in metrics else None
        else:
            self.miss("metrics (learning curves, final metrics)", "build/zf_train CONFIG --out RUN")
        snaps = sorted(glob.glob(os.path.join(self.run, "ckpt", "epoch_*.h5")))
        self.snapshots = snaps
        return {"info": info, "cfg": cfg, "metrics_source": msource, "final": final, "curves": curves,
                "snapshots": [os.path.basename(s) for s in snaps],
                "metrics": None if metrics is None else
                [{k: float(v[i]) for k, v in metrics.items()} for i in range(len(metrics["epoch"]))]}

    def check_arch(self, arch):
        """The shapes computed here against those zf_train recorded (/ attribute arch)."""
        if not arch or not self.layers:
            return
        recorded = {}
        for line in arch.splitlines():
            if "->" in line:
                left, shape = line.split("->", 1)
                recorded[left.split()[0]] = shape.strip()
        for r in self.layers:
            if r["name"] in recorded and recorded[r["name"]] != r["shape"]:
                self.warnings.append(f"layer {r['name']}: computed output {r['shape']}, the checkpoint "
                                     f"records {recorded[r['name']]}")

    # ---- dumps of zf_project and zf_evolve
    def read_dumps(self):
        self.project, self.evolve = {}, {}
        pdir, edir = os.path.join(self.run, "project"), os.path.join(self.run, "evolve")
        for path in sorted(glob.glob(os.path.join(pdir, "*.h5"))):
            try:
                f = h5py.File(path, "r")
            except OSError as e:
                self.warnings.append(f"{path}: cannot be read ({e})")
                continue
            name = os.path.splitext(os.path.basename(path))[0]
            if attr(f, "layer") != name or "dataset" not in f.attrs or "projections" not in f:
                f.close()  # an --image dump (<image>_<layer>.h5) or something else: not a layer's
                continue
            self.project[name] = f
        for path in sorted(glob.glob(os.path.join(edir, "*.h5"))):
            try:
                f = h5py.File(path, "r")
            except OSError as e:
                self.warnings.append(f"{path}: cannot be read ({e})")
                continue
            if "epochs" in f and "projections" in f:
                self.evolve[attr(f, "layer", os.path.basename(path)[:-3])] = f
            else:
                f.close()
        conv = [r["name"] for r in self.layers if r["filtering"]]
        if not self.project:
            self.miss("project/ (top-9 projections: the layer and unit pages)",
                      "build/zf_project --checkpoint RUN/ckpt/last.h5 --out RUN/project")
        else:
            for name in conv:
                if name not in self.project:
                    self.miss(f"project/{name}.h5 (layer {name}'s top-9 projections)",
                              f"build/zf_project --checkpoint RUN/ckpt/last.h5 --layers {name} --out RUN/project")
        if not self.evolve:
            self.miss("evolve/ (feature evolution across the snapshots)",
                      "build/zf_evolve --checkpoints RUN/ckpt --out RUN/evolve")
        by_name = {r["name"]: r for r in self.layers}
        for name, f in self.project.items():
            r = by_name.get(name)
            got = (attr(f, "field_size"), attr(f, "field_jump"), attr(f, "field_first"))
            if r is not None and None not in got and tuple(int(x) for x in got) != r["field"]:
                self.warnings.append(f"layer {name}: computed receptive field {r['field']} (size, jump, "
                                     f"first), project/{name}.h5 records {got}")

    def first_conv_filters(self):
        """{epoch label: weight [F, C, kh, kw]} of the first conv layer, from each snapshot and last.h5."""
        conv = [r["name"] for r in self.layers if r["filtering"]]
        if not conv:
            return None, {}
        out = {}
        for path in self.snapshots + [self.ckpt_path]:
            try:
                with h5py.File(path, "r") as f:
                    out[os.path.basename(path)[:-3]] = f[f"params/{conv[0]}/weight"][()]
            except (OSError, KeyError):
                pass
        return conv[0], out

    def source_project(self, f, name):
        k, rule = attr(f, "k"), attr(f, "rule")
        lrn = " --through-lrn" if attr(f, "through_lrn") else ""
        return {"text": f"zf_project mined data set {attr(f, 'dataset')} with checkpoint "
                        f"{rel_run(self.run, attr(f, 'checkpoint'))} (rule {rule}, k {k}, LRN "
                        f"{'applied' if lrn else 'skipped'}); from RUN/project/{name}.h5",
                "command": f"zf_project --checkpoint {rel_run(self.run, attr(f, 'checkpoint'))} "
                           f"--layers {name} --k {k} --rule {rule}{lrn} --out RUN/project"}

    def source_evolve(self, f, name):
        return {"text": f"zf_evolve over the snapshots in {rel_run(self.run, attr(f, 'checkpoints'))}, data "
                        f"set {attr(f, 'dataset')}, rule {attr(f, 'rule')}; from RUN/evolve/{name}.h5",
                "command": f"zf_evolve --checkpoints {rel_run(self.run, attr(f, 'checkpoints'))} "
                           f"--layers {name} --out RUN/evolve"}

    # ---- layers and units
    def units(self, occlusions, invariance_layers):
        by_name = {r["name"]: r for r in self.layers}
        order = [r["name"] for r in self.layers]
        names = sorted(set(self.project) | set(self.evolve),
                       key=lambda n: (order.index(n) if n in order else len(order), n))
        fconv, filters = self.first_conv_filters()
        layer_pages = []
        for name in names:
            try:
                layer_pages.append(self.layer_units(name, by_name, fconv, filters, occlusions,
                                                    invariance_layers))
            except (OSError, KeyError, ValueError, IndexError, TypeError) as e:
                self.warnings.append(f"layer {name}: its dumps cannot be read ({e}): no pages for it")
        for li, layer in enumerate(layer_pages):
            cards = layer["units"]
            for n, unit in enumerate(cards):
                prev = cards[n - 1]["href"] if n > 0 else None
                nxt = cards[n + 1]["href"] if n + 1 < len(cards) else None
                self.page(unit["href"], "unit.html", title=f"{layer['name']} unit {unit['feature']}",
                          layer=layer, unit=unit, prev=prev, next=nxt, n=n, count=len(cards))
            self.page(layer["href"], "layer.html", title=f"layer {layer['name']}", layer=layer,
                      prev=layer_pages[li - 1]["href"] if li > 0 else None,
                      next=layer_pages[li + 1]["href"] if li + 1 < len(layer_pages) else None)
        return layer_pages

    def layer_units(self, name, by_name, fconv, filters, occlusions, invariance_layers):
        """One layer's page data and the pictures of its units (from its project and evolve dumps)."""
        p, e = self.project.get(name), self.evolve.get(name)
        pf = [int(x) for x in p["feature_ids"][()]] if p is not None else []
        ef = [int(x) for x in e["feature_ids"][()]] if e is not None else []
        feats = sorted(set(pf) | set(ef))
        pidx, eidx = {f: i for i, f in enumerate(pf)}, {f: i for i, f in enumerate(ef)}
        if p is not None:
            values, images, pos = p["values"][()], p["image_index"][()], p["position"][()]
            projs, patches = p["projections"], p["patches"]
        if e is not None:
            epochs, evals, eimgs, eprojs = e["epochs"][()], e["values"][()], e["image_index"][()], e["projections"]
        cards = []
        for n, feat in enumerate(feats):
            unit = {"feature": feat, "href": f"units/{name}/{feat}.html", "top": [], "evolution": [],
                    "filters": [], "occlusion": [], "value": None}
            base = f"img/{name}/{feat}"
            unit["proj"] = unit["patch"] = unit["evo"] = unit["filt"] = unit["thumb"] = None
            if feat in pidx:
                i = pidx[feat]
                pr = [to_hwc(show_signed(x)) for x in projs[i]]
                pa = [to_hwc(x) for x in patches[i]]
                for j in range(len(pr)):
                    unit["top"].append({"rank": j + 1, "value": float(values[i, j]),
                                        "image": int(images[i, j]), "pos": (int(pos[i, j, 0]), int(pos[i, j, 1]))})
                cols = math.ceil(math.sqrt(len(pr)))
                unit["proj"] = self.w.montage(f"{base}_projections", pr, cols)
                unit["patch"] = self.w.montage(f"{base}_patches", pa, cols)
                unit["thumb"] = self.w.pic(f"{base}_strongest", pr[0])
                unit["value"] = float(values[i, 0])
            if feat in eidx:
                i = eidx[feat]
                ev = [to_hwc(show_signed(x)) for x in eprojs[i]]
                for j in range(len(epochs)):
                    unit["evolution"].append({"epoch": int(epochs[j]), "value": float(evals[i, j]),
                                              "image": int(eimgs[i, j])})
                unit["evo"] = self.w.montage(f"{base}_evolution", ev, len(ev))
                if unit["thumb"] is None:
                    unit["thumb"] = self.w.pic(f"{base}_strongest", ev[-1])
            if name == fconv:
                fs = [(label, to_hwc(show_signed(wt[feat]))) for label, wt in filters.items()
                      if feat < wt.shape[0]]
                if fs:
                    unit["filters"] = [label for label, _ in fs]
                    unit["filt"] = self.w.montage(f"{base}_filters", [a for _, a in fs], len(fs))
            unit["occlusion"] = [o for o in occlusions if o["layer"] == name and o["feature"] == feat]
            cards.append(unit)
        src = []
        if p is not None:
            src.append(self.source_project(p, name))
        if e is not None:
            src.append(self.source_evolve(e, name))
        layer = {"name": name, "href": f"layers/{name}.html", "units": cards, "sources": src,
                 "row": by_name.get(name), "invariance": name in invariance_layers,
                 "k": int(attr(p, "k")) if p is not None else 0,
                 "best": max(cards, key=lambda u: -1e300 if u["value"] is None else u["value"]) if cards else None,
                 "evolve_epochs": [int(x) for x in epochs] if e is not None else []}
        return layer

    # ---- analyses
    def occlusion(self):
        out = []
        for path in sorted(glob.glob(os.path.join(self.run, "analyze", "*_occlusion.h5"))):
            try:
                with h5py.File(path, "r") as f:
                    a = {k: attr(f, k) for k in f.attrs}
                    probs = f["clean_probabilities"][()] if "clean_probabilities" in f else None
                    p_true = f["p_true"][()] if "p_true" in f else None
            except OSError as e:
                self.warnings.append(f"{path}: cannot be read ({e})")
                continue
            name = os.path.basename(path)[: -len("_occlusion.h5")]
            png = path[:-3] + ".png"
            fig = self.w.figure(f"img/analyze/{name}_occlusion", png) if os.path.isfile(png) else None
            a["command"] = (f"zf_analyze occlusion --checkpoint {rel_run(self.run, a.get('checkpoint', '?'))} "
                            f"{sample_option(a.get('image', '?'))} --layer {a.get('layer')} --size {a.get('size')} "
                            f"--stride {a.get('stride')} --fill {fill_option(a.get('fill', ''))} "
                            f"--strongest {a.get('strongest')} --method "
                            f"{a.get('method')} --out RUN/analyze")
            out.append({"name": name, "attrs": a, "fig": fig, "layer": a.get("layer"),
                        "feature": a.get("feature"), "anchor": f"{name}",
                        "p_true_min": None if p_true is None else float(p_true.min()),
                        "p_clean": None if probs is None else float(probs[int(a.get("label", 0))])
                        if 0 <= int(a.get("label", 0)) < len(probs) else None})
        if not out:
            self.miss("analyze/*_occlusion.h5 (occlusion, Fig. 7)",
                      "build/zf_analyze occlusion --checkpoint RUN/ckpt/last.h5 --samples 0,1,2,3 --out RUN/analyze")
        return out

    def invariance(self):
        out = []
        for path in sorted(glob.glob(os.path.join(self.run, "analyze", "*_invariance.h5"))):
            try:
                with h5py.File(path, "r") as f:
                    a = {k: attr(f, k) for k in f.attrs}
                    sweeps = []
                    for t in ("translate", "scale", "rotate"):
                        if t in f:
                            g = f[t]
                            sweeps.append({"name": t, "lo": attr(g, "lo"), "hi": attr(g, "hi"),
                                           "step": attr(g, "step"), "units": attr(g, "units"),
                                           "origin": attr(g, "origin"), "n": int(g["amount"].shape[0]),
                                           "p_min": float(g["p_true"][()].min())})
            except (OSError, KeyError) as e:
                self.warnings.append(f"{path}: cannot be read ({e})")
                continue
            name = os.path.basename(path)[: -len("_invariance.h5")]
            png, csvp = path[:-3] + ".png", path[:-3] + ".csv"
            fig = self.w.figure(f"img/analyze/{name}_invariance", png) if os.path.isfile(png) else None
            csvrel = self.w.copy(f"data/{name}_invariance.csv", csvp) if os.path.isfile(csvp) else None
            ranges = ",".join(f"{s['name']}={s['lo']:g}:{s['hi']:g}" for s in sweeps)
            steps = ",".join(f"{s['name']}={s['step']:g}" for s in sweeps)
            a["command"] = (f"zf_analyze invariance --checkpoint {rel_run(self.run, a.get('checkpoint', '?'))} "
                            f"{sample_option(a.get('image', '?'))} --transform {','.join(s['name'] for s in sweeps)} "
                            f"--range {ranges} --steps {steps} --layers {a.get('layers')} --out RUN/analyze")
            out.append({"name": name, "attrs": a, "fig": fig, "csv": csvrel, "sweeps": sweeps,
                        "layers": str(a.get("layers", "")).split(",")})
        if not out:
            self.miss("analyze/*_invariance.h5 (invariance, Fig. 5)",
                      "build/zf_analyze invariance --checkpoint RUN/ckpt/last.h5 --samples 0,1 --out RUN/analyze")
        return out

    def filters(self):
        path = os.path.join(self.run, "analyze", "filters.h5")
        if not os.path.isfile(path):
            self.miss("analyze/filters.h5 (filters across snapshots, Fig. 6)",
                      "build/zf_analyze filters --checkpoints RUN/ckpt/epoch_*.h5 --out RUN/analyze")
            return None
        try:
            with h5py.File(path, "r") as f:
                a = {k: attr(f, k) for k in f.attrs}
                groups = []
                for key in sorted(f.keys(), key=lambda s: int(s) if s.isdigit() else 1 << 30):
                    g = f[key]
                    groups.append({k: attr(g, k) for k in g.attrs} |
                                  {"filters": int(g["rms"].shape[0]), "rms_max": float(g["rms"][()].max())})
        except (OSError, KeyError) as e:
            self.warnings.append(f"{path}: cannot be read ({e})")
            return None
        figs = []
        for scale in ("shared", "each"):
            png = os.path.join(self.run, "analyze", f"filters_{scale}.png")
            if os.path.isfile(png):
                figs.append({"scale": scale, "fig": self.w.figure(f"img/analyze/filters_{scale}", png)})
        csvp = os.path.join(self.run, "analyze", "filters.csv")
        csvrel = self.w.copy("data/filters.csv", csvp) if os.path.isfile(csvp) else None
        layer = "" if str(a.get("layer", "")).startswith("(") else f"--layer {a.get('layer')} "
        a["command"] = (f"zf_analyze filters --checkpoints "
                        f"{' '.join(rel_run(self.run, g.get('checkpoint', '?')) for g in groups)} "
                        f"{layer}--dead {a.get('dead_fraction')} --out RUN/analyze")
        return {"attrs": a, "groups": groups, "figs": figs, "csv": csvrel}

    def correspondence(self):
        path = os.path.join(self.run, "analyze", "correspondence.h5")
        if not os.path.isfile(path):
            self.miss("analyze/correspondence.h5 (correspondence, Table 1 and Fig. 8; needs a parts file and "
                      "a net of the photos' channels)",
                      "build/zf_analyze correspondence --checkpoint RUN/ckpt/last.h5 --parts FILE.json --out RUN/analyze")
            return None
        try:
            with h5py.File(path, "r") as f:
                a = {k: attr(f, k) for k in f.attrs}
        except OSError as e:
            self.warnings.append(f"{path}: cannot be read ({e})")
            return None
        rows = []
        csvp = os.path.join(self.run, "analyze", "correspondence.csv")
        if os.path.isfile(csvp):
            with open(csvp, newline="") as f:
                rows = list(csv.DictReader(f))
        png = os.path.join(self.run, "analyze", "correspondence_masks.png")
        fig = self.w.figure("img/analyze/correspondence_masks", png) if os.path.isfile(png) else None
        md = os.path.join(self.run, "analyze", "correspondence.md")
        table = open(md, encoding="utf-8", errors="replace").read() if os.path.isfile(md) else None
        a["command"] = (f"zf_analyze correspondence --checkpoint {rel_run(self.run, a.get('checkpoint', '?'))} "
                        f"--parts {a.get('parts')} --layers "
                        f"{','.join(first_word(l) for l in str(a.get('layers', '?')).split('),'))} "
                        f"--random {first_word(a.get('random'))} --seed {first_word(a.get('seed'))} "
                        f"--fill {fill_option(a.get('fill', ''))} --out RUN/analyze")
        return {"attrs": a, "rows": rows, "fig": fig, "table": table}

    def build(self):
        ov = self.overview()
        self.read_dumps()
        occ = self.occlusion()
        inv = self.invariance()
        fil = self.filters()
        cor = self.correspondence()
        inv_layers = {l for s in inv for l in s["layers"]}
        layers = self.units(occ, inv_layers)
        analyses = []
        if occ:
            analyses.append(("occlusion.html", f"occlusion (Fig. 7): {len(occ)} image(s)"))
        if inv:
            self.page("invariance.html", "invariance.html", title="invariance (Fig. 5)", items=inv,
                      shown=[l["name"] for l in layers])
            analyses.append(("invariance.html", f"invariance (Fig. 5): {len(inv)} image(s)"))
        if cor:
            self.page("correspondence.html", "correspondence.html", title="correspondence (Table 1, Fig. 8)",
                      item=cor)
            analyses.append(("correspondence.html", "correspondence (Table 1, Fig. 8)"))
        if fil:
            self.page("filters.html", "filters.html", title="filters (Fig. 6)", item=fil)
            analyses.append(("filters.html", f"filters (Fig. 6): {len(fil['groups'])} checkpoint(s)"))
        shown = {l["name"]: l for l in layers}
        hrefs = {u["href"] for l in layers for u in l["units"]}
        for o in occ:  # link the occlusion's map to its unit page where there is one
            href = f"units/{o['layer']}/{o['feature']}.html"
            o["unit_href"] = href if href in hrefs else None
        if occ:
            self.page("occlusion.html", "occlusion.html", title="occlusion (Fig. 7)", items=occ)
        for r in self.layers:
            r["page"] = shown[r["name"]]["href"] if r["name"] in shown else None
            r["units"] = len(shown[r["name"]]["units"]) if r["name"] in shown else 0
        folder = os.path.basename(os.path.abspath(self.run))
        name = self.cfg.get("name", folder) if isinstance(self.cfg, dict) else folder
        self.page("index.html", "index.html", title=f"run {name}" + (f" ({folder})" if name != folder else ""),
                  ov=ov, net=self.layers, layers=layers, analyses=analyses, missing=self.missing,
                  warnings=self.warnings, units=sum(len(l["units"]) for l in layers))
        self.w.write("style.css", STYLE)
        self.w.write(MARKER, "written by scripts/zf_report.py; a rerun replaces this folder\n")
        for f in list(self.project.values()) + list(self.evolve.values()):
            f.close()
        return sum(len(l["units"]) for l in layers)


# ------------------------------------------------------------------------------------------ templates
STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#24292f;color:#eee;padding:8px 16px}header a{color:#9cf;margin-right:14px}
main{padding:12px 20px;max-width:1400px}h1{font-size:22px;margin:6px 0}h2{font-size:17px;margin-top:22px}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}
th{background:#eee}td.num{text-align:right;font-variant-numeric:tabular-nums}
pre{background:#f0f0f0;padding:8px;overflow:auto;max-height:480px}
.src{color:#555;font-size:12.5px;border-left:3px solid #9ab;padding:2px 8px;margin:6px 0}
.src code{background:#eef;padding:1px 3px}
img.px{image-rendering:pixelated;width:72px;height:72px;border:1px solid #bbb}
img.fig{max-width:100%;border:1px solid #bbb}img.mont{image-rendering:pixelated;border:1px solid #bbb}
.grid{display:flex;flex-wrap:wrap;gap:6px}.card{text-align:center;font-size:12px;background:#fff;
border:1px solid #ddd;padding:4px}.card img.px{width:64px;height:64px}
.pair{display:flex;gap:20px;flex-wrap:wrap}.top9{display:grid;grid-template-columns:repeat(3,auto);gap:4px}
.top9 figure,.row figure{margin:0;text-align:center;font-size:11px}.row{display:flex;gap:8px;flex-wrap:wrap}
nav.units{margin:8px 0}nav.units a{margin-right:14px}.missing li{color:#a40}.warn li{color:#b00}
"""

TEMPLATES = {}
TEMPLATES["base.html"] = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }} - zfnet report</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="{{ root }}style.css"></head>
<body><header><a href="{{ root }}index.html">overview</a>{% block nav %}{% endblock %}</header>
<main><h1>{{ title }}</h1>
{% block body %}{% endblock %}
<p class="src">Report by <code>scripts/zf_report.py {{ run }}</code>: reads the run's files, writes nothing
else; RUN stands for {{ run }}.</p>
</main>{% block script %}{% endblock %}</body></html>
"""

TEMPLATES["macros.html"] = """{% macro pic(p, root, alt, cls="px") -%}
<a href="{{ root }}{{ p.full }}"><img class="{{ cls }}" src="{{ root }}{{ p.thumb }}" alt="{{ alt }}"
 title="{{ alt }} (click: full size)"{% if p.dw is defined %} width="{{ p.dw }}"{% endif %}></a>
{%- endmacro %}
{% macro source(s) -%}
<p class="src">{{ s.text }}.<br>Command: <code>{{ s.command }}</code></p>
{%- endmacro %}
{% macro attrs(a) -%}
<table>{% for k, v in a|dictsort %}{% if k != "command" %}<tr><th>{{ k }}</th><td>{{ v }}</td></tr>{% endif %}
{% endfor %}</table>
{%- endmacro %}
"""

TEMPLATES["index.html"] = """{% extends "base.html" %}{% import "macros.html" as m %}
{% block nav %}{% for l in layers %}<a href="{{ l.href }}">{{ l.name }}</a>{% endfor %}
{% for href, label in analyses %}<a href="{{ href }}">{{ href[:-5] }}</a>{% endfor %}{% endblock %}
{% block body %}
<h2>Run</h2>
<table>
<tr><th>folder</th><td>{{ run }}</td></tr>
<tr><th>config</th><td>{{ ov.cfg.get("name", "?") }} (stored in ckpt/last.h5, overrides applied)</td></tr>
<tr><th>checkpoint</th><td>ckpt/last.h5: epoch {{ ov.info.get("epoch", "?") }}, iteration {{ ov.info.get("iteration", "?") }}</td></tr>
<tr><th>snapshots</th><td>{{ ov.snapshots|join(", ") or "none" }}</td></tr>
{% set d = ov.cfg.get("data", {}) %}
<tr><th>data</th><td>{{ d.get("format", "?") }}: train {{ d.get("train", "?") }}{% if d.get("limit_train") %} (first {{ d.limit_train }}){% endif %},
 validation {{ d.get("val", "none") }}{% if d.get("limit_val") %} (first {{ d.limit_val }}){% endif %};
 input {{ ov.cfg.get("input", {}).get("channels", "?") }}x{{ ov.cfg.get("input", {}).get("height", "?") }}x{{ ov.cfg.get("input", {}).get("width", "?") }},
 normalize {{ d.get("normalize", "?") }}</td></tr>
{% if ov.info.get("classes") %}<tr><th>classes</th><td>{{ ov.info.classes|length }}: {{ ov.info.classes[:20]|join(", ") }}{% if ov.info.classes|length > 20 %}, ...{% endif %}</td></tr>{% endif %}
{% if ov.info.get("imported_from") %}<tr><th>imported from</th><td>{{ ov.info.imported_from }} (zf_import)</td></tr>{% endif %}
<tr><th>device</th><td>not recorded in the checkpoint (zf_train's <code>--device</code>, default cpu)</td></tr>
{% if ov.final %}
<tr><th>duration</th><td>{{ "%.1f"|format(ov.final.duration or 0) }} s of training and evaluation over {{ ov.metrics|length }} epoch(s) (sum of the seconds column)</td></tr>
<tr><th>final metrics</th><td>epoch {{ ov.final.epoch|int }}: validation top-1 {{ "%.2f"|format(100 * ov.final.get("val_top1", 0)) }}%,
 top-5 {{ "%.2f"|format(100 * ov.final.get("val_top5", 0)) }}%, loss {{ "%.4f"|format(ov.final.get("val_loss", 0)) }};
 train top-1 {{ "%.2f"|format(100 * ov.final.get("train_top1", 0)) }}%, loss {{ "%.4f"|format(ov.final.get("train_loss", 0)) }}; lr {{ "%g"|format(ov.final.get("lr", 0)) }}</td></tr>
{% endif %}
<tr><th>in this report</th><td>{{ layers|length }} layer page(s), {{ units }} unit page(s), {{ analyses|length }} analysis page(s)</td></tr>
</table>
<p class="src">Trained by <code>zf_train CONFIG --out RUN</code> (the effective config is below); metrics from {{ ov.metrics_source or "nowhere" }}.</p>
{% if missing %}<h2>Not in this report</h2><ul class="missing">
{% for what, cmd in missing %}<li>{{ what }}: <code>{{ cmd }}</code></li>{% endfor %}</ul>{% endif %}
{% if warnings %}<h2>Warnings</h2><ul class="warn">{% for w in warnings %}<li>{{ w }}</li>{% endfor %}</ul>{% endif %}
{% if ov.curves %}<h2>Learning curves</h2>
<a href="{{ ov.curves }}"><img class="fig" src="{{ ov.curves }}" alt="learning curves" width="810"></a>
<table><tr><th>epoch</th><th>lr</th><th>train loss</th><th>train top-1</th><th>val loss</th><th>val top-1</th><th>val top-5</th><th>s</th></tr>
{% for r in ov.metrics %}<tr>{% for k in ["epoch", "lr", "train_loss", "train_top1", "val_loss", "val_top1", "val_top5", "seconds"] %}
<td class="num">{{ "%g"|format(r.get(k, 0)) }}</td>{% endfor %}</tr>
{% endfor %}</table>{% endif %}
{% if net %}<h2>Layers</h2>
<p class="src">Shapes and receptive fields computed from the stored config (checked against the checkpoint's <code>arch</code>
and the dumps' <code>field_*</code> attributes). A field is <i>size</i> pixels wide; unit (y, x) starts at <i>first</i> + y * <i>jump</i>.</p>
<table><tr><th>#</th><th>layer</th><th>type</th><th>geometry</th><th>output (CxHxW)</th><th>field size</th><th>jump</th><th>first</th><th>units shown</th></tr>
<tr><td></td><td>input</td><td></td><td></td><td>{{ ov.cfg.get("input", {}).get("channels", "?") }}x{{ ov.cfg.get("input", {}).get("height", "?") }}x{{ ov.cfg.get("input", {}).get("width", "?") }}</td><td class="num">1</td><td class="num">1</td><td class="num">0</td><td></td></tr>
{% for r in net %}<tr><td class="num">{{ loop.index }}</td><td>{% if r.page %}<a href="{{ r.page }}">{{ r.name }}</a>{% else %}{{ r.name }}{% endif %}</td>
<td>{{ r.type }}</td><td>{{ r.geometry }}</td><td>{{ r.shape }}</td><td class="num">{{ r.field[0] }}</td><td class="num">{{ r.field[1] }}</td><td class="num">{{ r.field[2] }}</td>
<td class="num">{% if r.page %}<a href="{{ r.page }}">{{ r.units }}</a>{% endif %}</td></tr>
{% endfor %}</table>{% endif %}
{% if layers %}<h2>Strongest feature of each layer shown</h2><div class="grid">
{% for l in layers %}{% if l.best and l.best.thumb %}<div class="card"><a href="{{ l.best.href }}"><img class="px" src="{{ l.best.thumb.thumb }}" alt="{{ l.name }}"></a><br>
<a href="{{ l.href }}">{{ l.name }}</a>: <a href="{{ l.best.href }}">{{ l.best.feature }}</a></div>{% endif %}{% endfor %}</div>{% endif %}
{% if analyses %}<h2>Analyses</h2><ul>{% for href, label in analyses %}<li><a href="{{ href }}">{{ label }}</a></li>{% endfor %}</ul>{% endif %}
{% if ov.info.get("config") %}<h2>Config</h2><pre>{{ ov.info.config }}</pre>{% endif %}
{% endblock %}
"""

TEMPLATES["layer.html"] = """{% extends "base.html" %}{% import "macros.html" as m %}
{% block nav %}{% if prev %}<a href="{{ root }}{{ prev }}">&larr; previous layer</a>{% endif %}
{% if next %}<a href="{{ root }}{{ next }}">next layer &rarr;</a>{% endif %}{% endblock %}
{% block body %}
{% for s in layer.sources %}{{ m.source(s) }}{% endfor %}
{% if layer.row %}<p>{{ layer.row.type }} {{ layer.row.geometry }}; output {{ layer.row.shape }};
receptive field {{ layer.row.field[0] }} px (jump {{ layer.row.field[1] }}, first {{ layer.row.field[2] }}).
Shown: the rectified output (through the ReLU after it).</p>{% endif %}
{% if layer.invariance %}<p>This layer's features are compared under translation, scale and rotation: <a href="{{ root }}invariance.html">invariance</a>.</p>{% endif %}
<p>{{ layer.units|length }} features{% if layer.k %}, each shown by the projection of its strongest activation over the data set
(of its top {{ layer.k }}){% endif %}{% if layer.evolve_epochs %}; the evolution across epochs {{ layer.evolve_epochs|join(", ") }} is on
the units marked *{% endif %}. Click a feature for its page.</p>
<div class="grid">{% for u in layer.units %}<div class="card">{% if u.thumb %}<a href="{{ root }}{{ u.href }}"><img class="px" src="{{ root }}{{ u.thumb.thumb }}" alt="feature {{ u.feature }}"></a><br>{% endif %}
<a href="{{ root }}{{ u.href }}">{{ u.feature }}</a>{% if u.evolution %}*{% endif %}{% if u.value is not none %}<br>{{ "%.3g"|format(u.value) }}{% endif %}</div>
{% endfor %}</div>
{% endblock %}
"""

TEMPLATES["unit.html"] = """{% extends "base.html" %}{% import "macros.html" as m %}
{% block nav %}<a href="{{ root }}{{ layer.href }}">&uarr; layer {{ layer.name }}</a>{% endblock %}
{% block body %}
<nav class="units">{% if prev %}<a id="prev" href="{{ root }}{{ prev }}">&larr; previous unit</a>{% endif %}
<a href="{{ root }}{{ layer.href }}">back to layer {{ layer.name }}</a>
{% if next %}<a id="next" href="{{ root }}{{ next }}">next unit &rarr;</a>{% endif %}
<span>({{ n + 1 }} of {{ count }}; keys &larr; &rarr;)</span></nav>
{% if unit.top %}<h2>Top {{ unit.top|length }}: deconvnet projections beside their image patches</h2>
{{ m.source(layer.sources[0]) }}
<div class="pair"><figure>{{ m.pic(unit.proj, root, "projections", "mont") }}<figcaption>projections (each alone: 0 mid-grey)</figcaption></figure>
<figure>{{ m.pic(unit.patch, root, "patches", "mont") }}<figcaption>image patches (the receptive field)</figcaption></figure></div>
<p>Strongest first, row by row; click a grid for its full size.</p>
<table><tr><th>rank</th><th>activation</th><th>image index</th><th>unit (y, x)</th></tr>
{% for t in unit.top %}<tr><td class="num">{{ t.rank }}</td><td class="num">{{ "%.4g"|format(t.value) }}</td><td class="num">{{ t.image }}</td><td>{{ t.pos[0] }}, {{ t.pos[1] }}</td></tr>{% endfor %}</table>
{% endif %}
{% if unit.evolution %}<h2>Evolution across the snapshots</h2>
{{ m.source(layer.sources[-1]) }}
{{ m.pic(unit.evo, root, "evolution", "mont") }}
<table><tr><th>epoch</th>{% for e in unit.evolution %}<td class="num">{{ e.epoch }}</td>{% endfor %}</tr>
<tr><th>activation</th>{% for e in unit.evolution %}<td class="num">{{ "%.3g"|format(e.value) }}</td>{% endfor %}</tr>
<tr><th>image index</th>{% for e in unit.evolution %}<td class="num">{{ e.image }}</td>{% endfor %}</tr></table>
{% endif %}
{% if unit.filters %}<h2>Filter</h2>
<p class="src">The weights <code>/params/{{ layer.name }}/weight[{{ unit.feature }}]</code> of each checkpoint (written by zf_train), shown alone: 0 mid-grey.</p>
{{ m.pic(unit.filt, root, "filter", "mont") }}<p>Left to right: {{ unit.filters|join(", ") }}.</p>
{% endif %}
{% if unit.occlusion %}<h2>Occlusion</h2><p>This is the map occlusion followed (the strongest of layer {{ layer.name }}) for:</p>
{% for o in unit.occlusion %}<p class="src">Command: <code>{{ o.attrs.command }}</code></p>
{% if o.fig %}{{ m.pic(o.fig, root, o.name, "fig") }}{% endif %}<p><a href="{{ root }}occlusion.html#{{ o.anchor }}">{{ o.name }} on the occlusion page</a></p>{% endfor %}
{% endif %}
{% if layer.invariance %}<h2>Invariance</h2><p>Layer {{ layer.name }} is one of the layers compared under transformations (as a whole, not per unit): <a href="{{ root }}invariance.html">invariance</a>.</p>{% endif %}
{% endblock %}
{% block script %}<script>
document.addEventListener("keydown", function (e) {
  var a = document.getElementById(e.key === "ArrowLeft" ? "prev" : e.key === "ArrowRight" ? "next" : "");
  if (a) location.href = a.href;
});
</script>{% endblock %}
"""

TEMPLATES["occlusion.html"] = """{% extends "base.html" %}{% import "macros.html" as m %}
{% block body %}
<p>Fig. 7: a grey square slid over each image; (b) the strongest map's activity, (c) its projections, (d) P(true class),
(e) the most probable class, at each position. Made by <code>zf_analyze occlusion</code> (RUN/analyze/*_occlusion.h5 and .png).</p>
{% for o in items %}<h2 id="{{ o.anchor }}">{{ o.name }}</h2>
<p class="src">Command (options as the dump records them): <code>{{ o.attrs.command }}</code></p>
{% if o.fig %}{{ m.pic(o.fig, root, o.name, "fig") }}{% endif %}
<p>Map: {% if o.unit_href %}<a href="{{ root }}{{ o.unit_href }}">{{ o.layer }} feature {{ o.feature }}</a>{% else %}{{ o.layer }} feature {{ o.feature }} (no unit page: no dump of {{ o.layer }}){% endif %}{% if o.p_clean is not none %};
P(true class) unoccluded {{ "%.3f"|format(o.p_clean) }}, lowest when occluded {{ "%.3f"|format(o.p_true_min) }}{% endif %}.</p>
{{ m.attrs(o.attrs) }}
{% endfor %}
{% endblock %}
"""

TEMPLATES["invariance.html"] = """{% extends "base.html" %}{% import "macros.html" as m %}
{% block body %}
<p>Fig. 5: images translated, scaled and rotated; the feature distance to the original at each layer and P(true class).
Made by <code>zf_analyze invariance</code> (RUN/analyze/*_invariance.h5, .csv and .png).</p>
{% for o in items %}<h2 id="{{ o.name }}">{{ o.name }}</h2>
<p class="src">Command (options as the dump records them): <code>{{ o.attrs.command }}</code></p>
{% if o.fig %}{{ m.pic(o.fig, root, o.name, "fig") }}{% endif %}
<table><tr><th>transform</th><th>range</th><th>step</th><th>units</th><th>amounts</th><th>lowest P(true)</th><th>origin</th></tr>
{% for s in o.sweeps %}<tr><td>{{ s.name }}</td><td>{{ "%g"|format(s.lo) }}..{{ "%g"|format(s.hi) }}</td><td>{{ "%g"|format(s.step) }}</td><td>{{ s.units }}</td><td class="num">{{ s.n }}</td><td class="num">{{ "%.3f"|format(s.p_min) }}</td><td>{{ s.origin }}</td></tr>{% endfor %}</table>
<p>Layers: {% for l in o.layers %}{% if l in shown %}<a href="{{ root }}layers/{{ l }}.html">{{ l }}</a>{% else %}{{ l }}{% endif %} {% endfor %}(a layer without a link has no projection dump).
{% if o.csv %}Every amount: <a href="{{ root }}{{ o.csv }}">CSV</a>.{% endif %}</p>
{{ m.attrs(o.attrs) }}
{% endfor %}
{% endblock %}
"""

TEMPLATES["filters.html"] = """{% extends "base.html" %}{% import "macros.html" as m %}
{% block body %}
<p class="src">Command (options as the dump records them): <code>{{ item.attrs.command }}</code></p>
{% for f in item.figs %}<h2>scale: {{ f.scale }}</h2>{{ m.pic(f.fig, root, "filters " ~ f.scale, "fig") }}{% endfor %}
<h2>Checkpoints</h2><table><tr><th>#</th><th>checkpoint</th><th>epoch</th><th>layer</th><th>filters</th><th>dead</th><th>largest RMS</th></tr>
{% for g in item.groups %}<tr><td class="num">{{ loop.index0 }}</td><td>{{ g.get("checkpoint") }}</td><td class="num">{{ g.get("epoch") }}</td><td>{{ g.get("layer") }}</td>
<td class="num">{{ g.filters }}</td><td class="num">{{ g.get("dead_count") }}</td><td class="num">{{ "%.4f"|format(g.rms_max) }}</td></tr>{% endfor %}</table>
{% if item.csv %}<p>Every filter's RMS: <a href="{{ root }}{{ item.csv }}">CSV</a>.</p>{% endif %}
{{ m.attrs(item.attrs) }}
{% endblock %}
"""

TEMPLATES["correspondence.html"] = """{% extends "base.html" %}{% import "macros.html" as m %}
{% block body %}
<p class="src">Command (options as the dump records them): <code>{{ item.attrs.command }}</code></p>
{% if item.fig %}{{ m.pic(item.fig, root, "masks", "fig") }}{% endif %}
{% if item.rows %}<table><tr>{% for k in item.rows[0].keys() %}<th>{{ k }}</th>{% endfor %}</tr>
{% for r in item.rows %}<tr>{% for v in r.values() %}<td>{{ v }}</td>{% endfor %}</tr>{% endfor %}</table>{% endif %}
{% if item.table %}<pre>{{ item.table }}</pre>{% endif %}
{{ m.attrs(item.attrs) }}
{% endblock %}
"""


def main():
    ap = argparse.ArgumentParser(
        prog="zf_report.py",
        description="Write a static offline HTML report of a zfnet run (index.html, a page per layer, unit "
                    "and analysis) from its checkpoints, metrics and the zf_project / zf_evolve / zf_analyze "
                    "dumps. Runs no network and no training.")
    ap.add_argument("run", metavar="RUN_DIR", help="the run folder (zf_train --out)")
    ap.add_argument("--out", metavar="DIR", help="output folder (default RUN_DIR/report); a folder this "
                    "program wrote before is replaced, any other non-empty folder is refused")
    args = ap.parse_args()
    t0 = time.time()
    run = args.run
    if not os.path.isdir(run):
        print(f"zf_report: {run}: no such run folder", file=sys.stderr)
        return 1
    out = args.out or os.path.join(run, "report")
    if os.path.exists(out) and (not os.path.isdir(out) or
                                (os.listdir(out) and not os.path.exists(os.path.join(out, MARKER)))):
        print(f"zf_report: {out}: exists and was not written by zf_report (choose another --out)",
              file=sys.stderr)
        return 1
    tmp = out.rstrip("/") + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    rep = Report(run, tmp)
    units = rep.build()
    shutil.rmtree(out, ignore_errors=True)
    os.rename(tmp, out)
    for what, cmd in rep.missing:
        print(f"missing: {what}: {cmd}")
    for w in rep.warnings + rep.w.unreadable:
        print(f"warning: {w}")
    print(f"zf_report: {rep.w.pages} pages ({units} units), {rep.w.files} files, "
          f"{rep.w.bytes / 1e6:.2f} MB in {time.time() - t0:.1f} s: {os.path.join(out, 'index.html')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
