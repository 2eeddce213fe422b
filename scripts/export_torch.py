#!/usr/bin/python3
"""Turns a PyTorch checkpoint into a safetensors file for zf_import.

    scripts/export_torch.py MODEL.pth OUT.safetensors [--key KEY] [--strip-prefix PREFIX] [--list]

MODEL.pth may hold a state dict (what `torch.save(model.state_dict(), ...)` writes), a pickled
module (`torch.save(model, ...)`; its classes must be importable), or a dict that wraps a state dict
under a key (`{"state_dict": ...}`, `{"model": ...}`: found automatically, or named with --key).
Every tensor is written with its own dtype (F32, F16, BF16, F64, integers), in C order, little
endian; --strip-prefix removes a prefix such as "module." (nn.DataParallel) from the names.

The safetensors format is written here with numpy (Debian has no safetensors package): an 8-byte
little-endian header length, a JSON header naming each tensor's dtype, shape and byte range
(padded with spaces to a multiple of 8 bytes), then the bytes of the tensors one after another.
"""
import argparse
import collections
import json
import os
import struct
import sys

import numpy as np

DTYPES = {  # torch dtype name -> safetensors dtype
    "float32": "F32", "float16": "F16", "bfloat16": "BF16", "float64": "F64",
    "int64": "I64", "int32": "I32", "int16": "I16", "int8": "I8", "uint8": "U8", "bool": "BOOL",
}


def tensor_bytes(t):
    """(safetensors dtype, shape, raw little-endian bytes) of a torch tensor."""
    import torch
    t = t.detach().cpu().contiguous()
    name = str(t.dtype).replace("torch.", "")
    if name not in DTYPES:
        raise ValueError(f"dtype {t.dtype} has no safetensors equivalent")
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: its 16 bits as int16
        raw = t.view(torch.int16).numpy().astype("<i2").tobytes()
    else:
        a = t.numpy()
        raw = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
    return DTYPES[name], list(t.shape), raw


def write_safetensors(path, tensors, metadata=None):
    """tensors: ordered {name: (dtype, shape, bytes)}. Written through a temporary name."""
    header = collections.OrderedDict()
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    offset = 0
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, _, raw in tensors.values():
            f.write(raw)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def numpy_tensors(arrays):
    """{name: np.ndarray} -> the tensors argument of write_safetensors (numpy's names are torch's)."""
    out = collections.OrderedDict()
    for name, a in arrays.items():
        a = np.ascontiguousarray(a)
        if str(a.dtype) not in DTYPES:
            raise ValueError(f"{name}: dtype {a.dtype} has no safetensors equivalent")
        out[name] = (DTYPES[str(a.dtype)], list(a.shape),
                     a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes())
    return out


def find_state_dict(obj, key):
    import torch
    if isinstance(obj, torch.nn.Module):
        return obj.state_dict()
    if not isinstance(obj, dict):
        raise ValueError(f"holds a {type(obj).__name__}, not a state dict or a module")
    if key:
        if key not in obj:
            raise ValueError(f"no key '{key}' (keys: {', '.join(map(str, list(obj)[:8]))})")
        return find_state_dict(obj[key], None)
    if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return obj
    for k in ("state_dict", "model_state_dict", "model", "net", "module"):
        if k in obj:
            return find_state_dict(obj[k], None)
    raise ValueError("no tensors found: name the state dict's key with --key "
                     f"(keys: {', '.join(map(str, list(obj)[:8]))})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="PyTorch checkpoint (.pth/.pt): state dict or pickled module")
    ap.add_argument("out", help="safetensors file to write")
    ap.add_argument("--key", help="the state dict's key in a wrapping dict (default: found)")
    ap.add_argument("--strip-prefix", default="", help='removed from every name (e.g. "module.")')
    ap.add_argument("--list", action="store_true", help="print each tensor's name, dtype and shape")
    a = ap.parse_args()
    try:
        import torch
    except ImportError:
        sys.exit("export_torch.py: needs PyTorch (Debian: apt-get install python3-torch)")
    try:
        try:
            obj = torch.load(a.model, map_location="cpu", weights_only=False)
        except TypeError:  # PyTorch before 1.13 has no weights_only
            obj = torch.load(a.model, map_location="cpu")
    except Exception as e:  # unpickling raises many kinds
        sys.exit(f"export_torch.py: {a.model}: cannot load ({type(e).__name__}: {e})")
    try:
        sd = find_state_dict(obj, a.key)
        tensors = collections.OrderedDict()
        for name, t in sd.items():
            if a.strip_prefix and name.startswith(a.strip_prefix):
                name = name[len(a.strip_prefix):]
            tensors[name] = tensor_bytes(t)
    except ValueError as e:
        sys.exit(f"export_torch.py: {a.model}: {e}")
    write_safetensors(a.out, tensors, {"format": "pt", "source": os.path.basename(a.model)})
    total = sum(int(np.prod(s)) for _, s, _ in tensors.values())
    if a.list:
        for name, (dtype, shape, _) in tensors.items():
            print(f"  {name:40s} {dtype:5s} {shape}")
    print(f"export_torch.py: {len(tensors)} tensors, {total:,} values -> {a.out}")


if __name__ == "__main__":
    main()
