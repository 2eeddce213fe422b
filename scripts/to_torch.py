#!/usr/bin/python3
"""Builds the PyTorch nn.Sequential a zfnet checkpoint describes and loads its weights.

    scripts/to_torch.py C.h5 [--out MODEL.pth] [--module]

The net comes from the config stored in the checkpoint (its `config` attribute), one module per
layer under the layer's own name (conv1, relu1, pool1, ...), so that the state dict's names are
zfnet's parameter names (conv1.weight, ...) and zf_import takes them back without a name map:
  conv -> Conv2d(stride, padding)       maxpool -> MaxPool2d(ceil_mode=ceil; zfnet's default: True)
  lrn  -> LocalResponseNorm(size, alpha, beta, k)       relu -> ReLU    dropout -> Dropout(p)
  fc   -> Linear (a Flatten named "flatten" goes before the first one that follows an image)
  softmax_loss -> nothing: the module returns the logits (use nn.CrossEntropyLoss to train it).
The weights are read with h5py from /params/<layer>/weight|bias (PyTorch's layouts already).

Without --out it prints the module, the input normalization and how to use both. With --out it
saves the module's state dict (torch.save), or with --module the whole module (pickled).

Use from Python:  sys.path.insert(0, "scripts"); import to_torch
                  model, norm = to_torch.load("runs/fashion/ckpt/last.h5")
`norm` says how to make an input: x = (pixels - norm["mean"]) * norm["inv_std"][:, None, None]
* norm["scale"], pixels in 0..255 (mean [C,H,W] of the padded image; crop its center as needed).
"""
import argparse
import collections
import sys

import h5py
import numpy as np
import yaml


def build(config_text):
    """The nn.Sequential of a zfnet config's layers (weights uninitialized)."""
    import torch.nn as nn
    cfg = yaml.safe_load(config_text)
    inp = cfg["input"]
    c, h, w = int(inp["channels"]), int(inp["height"]), int(inp["width"])
    mods = collections.OrderedDict()
    shape = (c, h, w)  # None after the first fc: a vector
    for spec in cfg["layers"]:
        name, kind = spec["name"], spec["type"]
        if kind == "conv":
            k, s, p = int(spec["kernel"]), int(spec.get("stride", 1)), int(spec.get("pad", 0))
            mods[name] = nn.Conv2d(shape[0], int(spec["filters"]), k, stride=s, padding=p)
            size = lambda n: (n + 2 * p - k) // s + 1
            shape = (int(spec["filters"]), size(shape[1]), size(shape[2]))
        elif kind == "maxpool":
            k, s = int(spec.get("kernel", 3)), int(spec.get("stride", 2))
            ceil = spec.get("ceil", True)
            if isinstance(ceil, str):
                ceil = ceil.lower() in ("true", "yes", "on")
            mods[name] = nn.MaxPool2d(k, stride=s, ceil_mode=bool(ceil))

            def size(n):
                if not ceil:
                    return (n - k) // s + 1
                out = -(-(n - k) // s) + 1
                return out - 1 if (out - 1) * s >= n else out
            shape = (shape[0], size(shape[1]), size(shape[2]))
        elif kind == "lrn":
            mods[name] = nn.LocalResponseNorm(int(spec.get("size", 5)),
                                              alpha=float(spec.get("alpha", 1e-4)),
                                              beta=float(spec.get("beta", 0.75)),
                                              k=float(spec.get("k", 2)))
        elif kind == "relu":
            mods[name] = nn.ReLU()
        elif kind == "dropout":
            mods[name] = nn.Dropout(float(spec.get("p", 0.5)))
        elif kind == "fc":
            if shape is not None and len(shape) == 3:
                mods["flatten"] = nn.Flatten()  # channel-major, as zfnet's fc reads NCHW
                shape = (shape[0] * shape[1] * shape[2],)
            mods[name] = nn.Linear(shape[0], int(spec["outputs"]))
            shape = (int(spec["outputs"]),)
        elif kind == "softmax_loss":
            pass
        else:
            raise ValueError(f"layer {name}: type {kind} has no PyTorch module here")
    return nn.Sequential(mods)


def load(path):
    """(model, normalization) of a zfnet checkpoint; the model in eval mode."""
    import torch
    with h5py.File(path, "r") as f:
        if f.attrs.get("format") not in ("zfnet-checkpoint", b"zfnet-checkpoint"):
            raise ValueError(f"{path}: not a zfnet checkpoint")
        text = f.attrs["config"]
        model = build(text.decode() if isinstance(text, bytes) else text)
        sd = collections.OrderedDict()
        for key in model.state_dict():
            layer, param = key.rsplit(".", 1)
            sd[key] = torch.from_numpy(np.array(f["params"][layer][param], dtype=np.float32))
        model.load_state_dict(sd)
        norm = None
        if "data" in f and "mean" in f["data"]:
            norm = {"mean": np.array(f["data/mean"]), "inv_std": np.array(f["data/inv_std"]),
                    "scale": float(f["data"].attrs["scale"])}
    return model.eval(), norm


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint", help="zfnet checkpoint (.h5)")
    ap.add_argument("--out", help="save the state dict (or with --module the module) here")
    ap.add_argument("--module", action="store_true", help="save the whole module, not its state dict")
    a = ap.parse_args()
    try:
        import torch
    except ImportError:
        sys.exit("to_torch.py: needs PyTorch (Debian: apt-get install python3-torch)")
    try:
        model, norm = load(a.checkpoint)
    except (OSError, KeyError, ValueError) as e:
        sys.exit(f"to_torch.py: {a.checkpoint}: {e}")
    n = sum(p.numel() for p in model.parameters())
    if a.out:
        torch.save(model if a.module else model.state_dict(), a.out)
        print(f"to_torch.py: {n:,} parameters -> {a.out}"
              f" ({'module' if a.module else 'state dict'})")
        return
    print(model)
    print(f"{n:,} parameters")
    if norm is not None:
        means = norm["mean"].reshape(norm["mean"].shape[0], -1)
        if np.all(means == means[:, :1]):
            m = means[:, 0] / 255.0
            s = 1.0 / (255.0 * norm["inv_std"] * norm["scale"])
            print("input: transforms.Normalize(mean=%s, std=%s) on [0,1] pixels" %
                  (np.round(m, 6).tolist(), np.round(s, 6).tolist()))
        else:
            print("input: (pixels - per-pixel mean [%s]) * inv_std * scale (see --help)" %
                  ",".join(map(str, norm["mean"].shape)))


if __name__ == "__main__":
    main()
