#!/usr/bin/python3
"""The PyTorch side of tests/import_test.sh (zf_import, zf_predict, export_torch.py, to_torch.py).

    import_check.py badfiles DIR          safetensors files broken in each way zf_import must refuse
    import_check.py alexnet DIR           torchvision AlexNet (random init) -> DIR/alexnet.pth, images
    import_check.py small DIR SRC         tiny.yaml's net built by to_torch.py, 5 SGD steps in PyTorch
    import_check.py compare DIR NAME TOL  PyTorch's logits of DIR/img*.png against zf_predict's dump
    import_check.py same_params A B       /params of two checkpoints equal bit for bit
    import_check.py corpus DIR            the seed corpus of fuzz_safetensors (tests/fuzz/corpus/)
Exit 0 on success; any failure prints one line and exits 1.
"""
import json
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "scripts"))
import export_torch  # noqa: E402  (write_safetensors needs numpy only)


def fail(msg):
    print("import_check: FAIL: " + msg)
    sys.exit(1)


def raw_file(path, header, data=b"", header_len=None):
    text = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text) if header_len is None else header_len))
        f.write(text)
        f.write(data)


def badfiles(d):
    """A good file for tests/import_tiny.yaml (conv1 [2,1,3,3], fc2 [3,2*4*4]) and broken ones."""
    rng = np.random.default_rng(5)
    good = {"conv1.weight": rng.standard_normal((2, 1, 3, 3)).astype(np.float32),
            "conv1.bias": rng.standard_normal(2).astype(np.float32),
            "fc2.weight": rng.standard_normal((3, 32)).astype(np.float32),
            "fc2.bias": rng.standard_normal(3).astype(np.float32)}
    w = lambda name, arrays: export_torch.write_safetensors(
        os.path.join(d, name), export_torch.numpy_tensors(arrays))
    w("good.safetensors", good)
    w("missing.safetensors", {k: v for k, v in good.items() if k != "fc2.bias"})
    w("extra.safetensors", dict(good, **{"bn.running_mean": np.zeros(2, np.float32)}))
    w("shape.safetensors", dict(good, **{"fc2.weight": np.zeros((3, 33), np.float32)}))
    w("dtype.safetensors", dict(good, **{"conv1.bias": np.zeros(2, np.int64)}))
    w("nan.safetensors", dict(good, **{"conv1.bias": np.array([0, np.nan], np.float32)}))
    w("f64.safetensors", {k: v.astype(np.float64) for k, v in good.items()})
    with open(os.path.join(d, "good.safetensors"), "rb") as f:
        b = f.read()
    with open(os.path.join(d, "truncated.safetensors"), "wb") as f:
        f.write(b[:-20])
    hdr = {"conv1.weight": {"dtype": "F32", "shape": [2, 1, 3, 3], "data_offsets": [0, 72]},
           "conv1.bias": {"dtype": "F32", "shape": [2], "data_offsets": [72, 4000]}}
    raw_file(os.path.join(d, "offsets.safetensors"), hdr, b"\0" * 80)
    raw_file(os.path.join(d, "headerlen.safetensors"), hdr, b"\0" * 80, header_len=1 << 40)
    raw_file(os.path.join(d, "overlap.safetensors"),
             {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
              "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}}, b"\0" * 24)
    with open(os.path.join(d, "notjson.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", 8) + b"{oops!!}")
    raw_file(os.path.join(d, "baddtype.safetensors"),
             {"a": {"dtype": "F33", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4)


def corpus(d):
    """Small valid files: every float dtype, metadata, a scalar, an empty tensor."""
    rng = np.random.default_rng(9)
    t = export_torch.numpy_tensors({"w": rng.standard_normal((2, 3)).astype(np.float32),
                                    "b": np.arange(3, dtype=np.float64),
                                    "h": rng.standard_normal(4).astype(np.float16),
                                    "i": np.arange(2, dtype=np.int64),
                                    "s": np.array(1.5, np.float32),
                                    "e": np.zeros((0, 4), np.float32)})
    bf = rng.standard_normal(3).astype(np.float32).view(np.uint32) >> 16
    t["bf"] = ("BF16", [3], bf.astype("<u2").tobytes())
    export_torch.write_safetensors(os.path.join(d, "dtypes.safetensors"), t, {"format": "pt"})
    export_torch.write_safetensors(
        os.path.join(d, "conv.safetensors"),
        export_torch.numpy_tensors({"conv1.weight": rng.standard_normal((2, 1, 3, 3)).astype(
            np.float32), "conv1.bias": np.zeros(2, np.float32)}))


def make_images(d, n, size, channels, seed):
    from PIL import Image
    rng = np.random.default_rng(seed)
    for i in range(n):
        small = rng.integers(0, 256, (7, 7, 3)).astype(np.uint8)
        a = np.array(Image.fromarray(small).resize((size, size), Image.BICUBIC)).astype(np.int32)
        y, x = rng.integers(0, size // 2, 2)
        a[y:y + size // 3, x:x + size // 3] = rng.integers(0, 256, 3)
        img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
        (img.convert("L") if channels == 1 else img).save(os.path.join(d, f"img{i}.png"))


def alexnet(d):
    import torch
    import torchvision
    torch.manual_seed(0)
    m = torchvision.models.alexnet()
    torch.save(m.state_dict(), os.path.join(d, "alexnet.pth"))
    make_images(d, 4, 256, 3, 1)  # 256: zf_predict's resize is the identity, both crop the center


def small(d, src):
    import torch
    sys.path.insert(0, os.path.join(src, "scripts"))
    import to_torch
    with open(os.path.join(src, "configs", "tiny.yaml")) as f:
        m = to_torch.build(f.read())
    torch.manual_seed(3)
    for p in m.parameters():  # larger weights than the default init: the logits are not all ~0
        torch.nn.init.normal_(p, 0, 0.3)
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    m.train()
    for _ in range(5):
        x = torch.randn(16, 1, 28, 28)
        y = torch.randint(0, 10, (16,))
        opt.zero_grad()
        torch.nn.functional.cross_entropy(m(x), y).backward()
        opt.step()
    torch.save(m.state_dict(), os.path.join(d, "small.pth"))
    make_images(d, 4, 28, 1, 2)


def compare(d, name, tol):
    import h5py
    import torch
    from PIL import Image
    if name == "alexnet":
        import torchvision
        m = torchvision.models.alexnet()
        mean, std, crop = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225], (16, 240)
    else:
        sys.path.insert(0, os.path.join(HERE, "..", "scripts"))
        import to_torch
        with open(os.path.join(HERE, "..", "configs", "tiny.yaml")) as f:
            m = to_torch.build(f.read())
        mean, std, crop = [0.5], [0.25], (0, 28)
    m.load_state_dict(torch.load(os.path.join(d, name + ".pth")))
    m.eval()
    xs = []
    for i in range(4):
        img = Image.open(os.path.join(d, f"img{i}.png"))
        a = np.array(img.convert("RGB" if len(mean) == 3 else "L"), np.float32) / 255.0
        a = a.reshape(a.shape[0], a.shape[1], -1)[crop[0]:crop[1], crop[0]:crop[1]]
        xs.append(((a - np.array(mean, np.float32)) / np.array(std, np.float32)).transpose(2, 0, 1))
    with torch.no_grad():
        ref = m(torch.from_numpy(np.stack(xs).astype(np.float32))).numpy().astype(np.float64)
    with h5py.File(os.path.join(d, name + "_logits.h5"), "r") as f:
        ours = np.array(f["logits"], np.float64)
    if ours.shape != ref.shape:
        fail(f"{name}: zf_predict gave logits {ours.shape}, PyTorch {ref.shape}")
    # Relative to the largest logit of each image: a tiny logit's own relative error means nothing.
    rel = (np.abs(ours - ref).max(axis=1) / np.abs(ref).max(axis=1)).max()
    agree = (ours.argmax(1) == ref.argmax(1)).all()
    print(f"{name}: logits of 4 images x {ref.shape[1]} classes: max |zfnet - PyTorch| / max |logit|"
          f" = {rel:.2e} (limit {tol:g}); max |logit| {np.abs(ref).max():.4g}; top-1 agrees: {agree}")
    if not rel <= tol:
        fail(f"{name}: logits differ by {rel:.2e} relative (limit {tol:g})")
    if not agree:
        fail(f"{name}: top classes differ")


def same_params(a, b):
    import h5py
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        names = []
        fa["params"].visit(lambda n: names.append(n) if isinstance(fa["params"][n], h5py.Dataset)
                           else None)
        namesb = []
        fb["params"].visit(lambda n: namesb.append(n) if isinstance(fb["params"][n], h5py.Dataset)
                           else None)
        if sorted(names) != sorted(namesb):
            fail(f"parameter names differ: {sorted(names)} vs {sorted(namesb)}")
        for n in names:
            x, y = np.array(fa["params"][n]), np.array(fb["params"][n])
            if x.dtype != np.float32 or y.dtype != np.float32 or x.shape != y.shape or \
                    x.tobytes() != y.tobytes():
                fail(f"/params/{n} differs between {a} and {b}")
    print(f"same_params: {len(names)} tensors bit-identical")


def main():
    cmd = sys.argv[1]
    if cmd == "badfiles":
        badfiles(sys.argv[2])
    elif cmd == "alexnet":
        alexnet(sys.argv[2])
    elif cmd == "small":
        small(sys.argv[2], sys.argv[3])
    elif cmd == "compare":
        compare(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    elif cmd == "corpus":
        corpus(sys.argv[2])
    elif cmd == "same_params":
        same_params(sys.argv[2], sys.argv[3])
    else:
        fail("unknown command " + cmd)


if __name__ == "__main__":
    main()
