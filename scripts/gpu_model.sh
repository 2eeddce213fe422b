#!/usr/bin/env bash
# A static model of the CUDA convolution on an H100/H200 (sm_90), for progress without a GPU: compiles
# cuda/conv.cu for sm_90 alone and prints
#   1. per kernel, from `nvcc -Xptxas -v` and `cuobjdump -sass`: registers, spill bytes (stores +
#      loads), shared memory, threads per block (the launch bound), resident blocks per SM (what
#      limits them), and for the loop with the most FFMAs (the main loop) its FFMA count, its
#      instruction count and their ratio; a TF32 kernel's tensor-core products count as the
#      multiply-adds they do per thread (an m16n8k8 mma.sync / HMMA.1688: 16*8*8 / 32 = 32).
#      Where the toolkit has no cuobjdump (the build machines' CUDA 13 has none; the GPU machine's
#      does) the loop is counted in the PTX instead (fma.rn.f32 among PTX instructions), which the
#      table says: PTX counts no register moves or spills that ptxas adds, and an ld.shared.v4 is one
#      LDS.128 either way;
#   2. per ZFNet conv layer (configs/zfnet.yaml, batch 128) and pass: the tile shape its launches
#      choose (cuda/conv_tiles.h), the blocks launched and the waves they make (blocks / (132 SMs x
#      resident blocks)), and the fraction of the issued tile work that is not a multiply-add of the
#      convolution (tile padding, reduction tails, and taps that land on the zeros between a strided
#      output's pixels), hence the useful multiply-adds per issued main-loop instruction (each
#      launch's work at its own kernel's ratio).
#   A conv kernel is named with its tile shape: conv_forward_kernel<96x128>.
# Needs nvcc (cuobjdump if the toolkit has it) and Python 3 (PyYAML if present); no GPU.
#   scripts/gpu_model.sh [--batch N] [--config configs/zfnet.yaml]
# The tile geometry of each pass (TILES, choose_tile and tile_work below) mirrors cuda/conv_tiles.h,
# cuda/conv.cu and cuda/conv_gemm.h: change it with them.
set -euo pipefail
cd "$(dirname "$0")/.."
batch=128
config=configs/zfnet.yaml
while [[ $# -gt 0 ]]; do
  case $1 in
    --batch) batch=$2; shift 2 ;;
    --config) config=$2; shift 2 ;;
    *) echo "usage: $0 [--batch N] [--config FILE]" >&2; exit 2 ;;
  esac
done
nvcc=${NVCC:-nvcc}
command -v "$nvcc" >/dev/null || nvcc=/usr/local/cuda/bin/nvcc
cuobjdump=$(command -v cuobjdump || echo /usr/local/cuda/bin/cuobjdump)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

flags=(-std=c++17 -O3 -arch=sm_90 -I. --extended-lambda -DZF_HAVE_CUDA=1)
"$nvcc" "${flags[@]}" -Xptxas -v -cubin -o "$tmp/conv.cubin" cuda/conv.cu 2>"$tmp/ptxas.txt"
"$nvcc" "${flags[@]}" -ptx -o "$tmp/conv.ptx" cuda/conv.cu
if [[ -x $cuobjdump ]]; then
  "$cuobjdump" -sass "$tmp/conv.cubin" >"$tmp/sass.txt"
fi

python=/usr/bin/python3
[[ -x $python ]] || python=python3
"$python" - "$tmp" "$config" "$batch" <<'PY'
import math, re, subprocess, sys
try:
    import yaml
except ImportError:  # the GPU machine's Python may lack PyYAML: the configs' flow maps suffice
    yaml = None

def load_config(path):
    if yaml:
        return yaml.safe_load(open(path))
    def flow(text):
        out = {}
        for kv in text.strip().strip("{}").split(","):
            k, v = (x.strip() for x in kv.split(":", 1))
            try:
                out[k] = int(v)
            except ValueError:
                try:
                    out[k] = float(v)
                except ValueError:
                    out[k] = {"true": True, "false": False}.get(v, v)
        return out
    cfg = {"layers": []}
    for line in open(path):
        line = line.split("#")[0].rstrip()
        m = re.match(r"input:\s*(\{.*\})", line)
        if m:
            cfg["input"] = flow(m.group(1))
        m = re.match(r"\s*-\s*(\{.*\})", line)
        if m:
            cfg["layers"].append(flow(m.group(1)))
    return cfg

tmp, config, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])

# sm_90 (H100 and H200 alike): per-SM limits and the register allocation unit (per warp).
REGS_SM, REG_UNIT_WARP, SMEM_SM, SMEM_RESERVED_BLOCK = 65536, 256, 228 * 1024, 1024
THREADS_SM, BLOCKS_SM, SMS = 2048, 32, 132
# cuda/conv_tiles.h's tile shapes (rows, columns) in their order of preference, cuda/conv_gemm.h's
# reduction step and cuda/launch.h's elementwise block.
TILES = [(128, 128), (96, 128), (96, 64)]
BK, K_THREADS = 8, 256

def demangle(names):
    out = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True).stdout
    return dict(zip(names, out.splitlines()))

def short(name):
    m = re.search(r"zf::cuda::(\w+)(?:<zf::cuda::conv_gemm::Tile<(\d+), (\d+)> >)?", name)
    if not m:
        return name
    return f"{m.group(1)}<{m.group(2)}x{m.group(3)}>" if m.group(2) else m.group(1)

# ---- ptxas -v: registers, spills, shared memory per kernel
ptx = open(f"{tmp}/ptxas.txt").read().splitlines()
res, cur = {}, None
for line in ptx:
    m = re.search(r"Compiling entry function '(\S+)'", line) or re.search(r"Function properties for (\S+)", line)
    if m:
        cur = m.group(1)
        res.setdefault(cur, {})
        continue
    if cur is None:
        continue
    m = re.search(r"(\d+) bytes spill stores, (\d+) bytes spill loads", line)
    if m:
        res[cur]["spill"] = int(m.group(1)) + int(m.group(2))
    m = re.search(r"Used (\d+) registers", line)
    if m:
        res[cur]["regs"] = int(m.group(1))
        s = re.search(r"(\d+) bytes smem", line)
        res[cur]["smem"] = int(s.group(1)) if s else 0

# ---- PTX: launch bounds (.maxntid) per kernel, and its text for the loop count without cuobjdump
ptx_funcs, bounds = {}, {}
for chunk in re.split(r"\n(?=(?:\.visible |\.weak )?\.entry )", open(f"{tmp}/conv.ptx").read())[1:]:
    name = re.match(r"(?:\.visible |\.weak )?\.entry (\w+)", chunk).group(1)
    ptx_funcs[name] = chunk
    m = re.search(r"\.maxntid (\d+), (\d+), (\d+)", chunk)
    if m:
        bounds[name] = int(m.group(1)) * int(m.group(2)) * int(m.group(3))

def best_loop(ins, is_ffma):
    """ins: (position, text, branch target position or None). The backward branch whose body holds
    the most multiply-adds per thread (is_ffma(text): 1 for an FFMA, 32 for an m16n8k8 mma):
    (multiply-adds, instructions, start)."""
    best = (0, 0, 0)
    for pos, text, target in ins:
        if target is None or target >= pos:
            continue
        body = [t for p, t, _ in ins if target <= p <= pos]
        ffma = sum(int(is_ffma(t)) for t in body)
        if ffma > best[0] or (ffma == best[0] and ffma and len(body) < best[1]):
            best = (ffma, len(body), target)
    return best

# ---- the main loop of each kernel: from the SASS when cuobjdump exists, else from the PTX
loops = {}
import os
if os.path.exists(f"{tmp}/sass.txt"):
    source = "SASS (cuobjdump -sass)"
    for block in re.split(r"\n\s*Function : ", open(f"{tmp}/sass.txt").read())[1:]:
        name = block.split("\n", 1)[0].strip()
        ins = []
        for line in block.splitlines():
            m = re.match(r"\s*/\*([0-9a-f]{4,})\*/\s+(.*?);", line)
            if not m or re.match(r"(@\S+\s+)?NOP\b", m.group(2).strip()):
                continue
            text = m.group(2).strip()
            b = re.search(r"\bBRA\s+(?:\S*\s+)?0x([0-9a-f]+)", text)
            ins.append((int(m.group(1), 16), text, int(b.group(1), 16) if b else None))
        loops[name] = best_loop(ins, lambda t: 1 if re.match(r"(@\S+\s+)?FFMA\b", t) else
                                32 if re.match(r"(@\S+\s+)?HMMA\.1688\.F32\.TF32\b", t) else 0)
else:
    source = "PTX (no cuobjdump in this toolkit)"
    for name, chunk in ptx_funcs.items():
        labels, ins, pending = {}, [], []
        for line in chunk.splitlines():
            line = line.split("//")[0].strip()
            m = re.match(r"(\$\w+):$", line)
            if m:
                labels[m.group(1)] = len(ins)
                continue
            if not line.endswith(";") or line.startswith(".") or line.startswith("{") or line.startswith("}"):
                continue
            b = re.match(r"(@!?%\w+\s+)?bra(\.uni)?\s+(\$\w+);", line)
            ins.append([len(ins), line, b.group(3) if b else None])
        for i in ins:  # labels precede their use in a backward branch
            i[2] = labels.get(i[2]) if i[2] is not None else None
        loops[name] = best_loop([tuple(i) for i in ins], lambda t: 1 if re.match(r"(@!?%\w+\s+)?fma\.rn\.f32\b", t) else
                                32 if re.match(r"(@!?%\w+\s+)?mma\.sync\.aligned\.m16n8k8\b", t) else 0)

names = sorted(set(res) | set(loops))
dm = demangle(names)

def blocks_per_sm(regs, smem, threads):
    warps = (threads + 31) // 32
    per_warp = math.ceil(regs * 32 / REG_UNIT_WARP) * REG_UNIT_WARP
    lim = {
        "regs": (REGS_SM // 4 // per_warp) * 4 // warps if per_warp else BLOCKS_SM,
        "smem": SMEM_SM // (smem + SMEM_RESERVED_BLOCK),
        "threads": THREADS_SM // threads,
        "blocks": BLOCKS_SM,
    }
    n = min(lim.values())
    return n, min(lim, key=lim.get)

kern = {}
print(f"== kernels of cuda/conv.cu, sm_90 (H100/H200: {REGS_SM} regs, {SMEM_SM // 1024} KB smem, "
      f"{THREADS_SM} threads, {BLOCKS_SM} blocks per SM)")
print(f"main loop counted in the {source}")
print(f"{'kernel':42} {'regs':>4} {'spill B':>7} {'smem B':>6} {'thr':>4} {'blk/SM':>6} {'limit':>7} "
      f"{'loop FFMA':>9} {'loop ins':>8} {'FFMA/ins':>8}")
for n in names:
    r = res.get(n, {})
    threads = bounds.get(n, K_THREADS)
    bps, lim = blocks_per_sm(r.get("regs", 0), r.get("smem", 0), threads)
    ffma, total, _ = loops.get(n, (0, 0, 0))
    ratio = ffma / total if total else 0.0
    kern[short(dm[n])] = dict(bps=bps, ratio=ratio)
    print(f"{short(dm[n]):42} {r.get('regs', 0):4d} {r.get('spill', 0):7d} {r.get('smem', 0):6d} "
          f"{threads:4d} {bps:6d} {lim:>7} {ffma:9d} {total:8d} {ratio:8.3f}")

# ---- the ZFNet layers
cfg = load_config(config)
C, H, W = cfg["input"]["channels"], cfg["input"]["height"], cfg["input"]["width"]
convs = []
for l in cfg["layers"]:
    t = l["type"]
    if t == "conv":
        k, s, pad, M = l["kernel"], l.get("stride", 1), l.get("pad", 0), l["filters"]
        OH, OW = (H + 2 * pad - k) // s + 1, (W + 2 * pad - k) // s + 1
        convs.append(dict(name=l["name"], N=batch, C=C, H=H, W=W, M=M, k=k, s=s, pad=pad, OH=OH, OW=OW))
        C, H, W = M, OH, OW
    elif t == "maxpool":
        k, s = l.get("kernel", 3), l.get("stride", 2)
        def out(n):
            if not l.get("ceil", True):
                return (n - k) // s + 1
            o = (n - k + s - 1) // s + 1
            return o - 1 if (o - 1) * s >= n else o
        H, W = out(H), out(W)
    elif t == "fc":
        break

def choose_tile(rows, cols):
    """The shape (conv_tiles.h's choose_tile) that pads a rows x cols output least, the first on ties."""
    return min(TILES, key=lambda t: (-(-rows // t[0]) * t[0] * -(-cols // t[1]) * t[1], TILES.index(t)))

def gemm(kernel, rows, cols, red, split=1):
    """(kernel instance, tile, blocks, issued multiply-adds) of run_block over rows x cols x red in
    `split` reduction pieces, in the tile that choose_tile gives."""
    bm, bn = choose_tile(rows, cols)
    chunk = ((red + split - 1) // split + BK - 1) // BK * BK
    steps = sum(-(-max(0, min(red, z * chunk + chunk) - z * chunk) // BK) for z in range(split))
    tiles = -(-rows // bm) * -(-cols // bn)
    return f"{kernel}<{bm}x{bn}>", f"{bm}x{bn}", tiles * split, tiles * bm * bn * steps * BK

def weight_grad_split(M, K, red):
    bm, bn = choose_tile(M, K)
    tiles = -(-K // bn) * -(-M // bm)
    return max(1, min(red // 1024, max(1, 1024 // tiles)))

def phases(d):
    """(pixels per column, per row, taps along kh, along kw) of each stride phase of dx
    (conv_gemm::phase_of)."""
    k, s, pad, H, W = d["k"], d["s"], d["pad"], d["H"], d["W"]
    out = []
    for ph in range(s):
        for pw in range(s):
            eh, ew = (ph - pad) % s, (pw - pad) % s
            nh = -(-(H - eh) // s) if eh < H else 0
            nw = -(-(W - ew) // s) if ew < W else 0
            ta = -(-(k - ph) // s) if ph < k else 0
            tb = -(-(k - pw) // s) if pw < k else 0
            out.append((nh, nw, ta, tb))
    return out

def tile_work(d):
    """(pass, launches as gemm() gives them) per pass, as cuda/conv.cu launches them (FP32)."""
    N, C, H, W, M, k, s, OH, OW = (d[x] for x in ("N", "C", "H", "W", "M", "k", "s", "OH", "OW"))
    K = C * k * k
    return [
        ("fwd", [gemm("conv_forward_kernel", M, N * OH * OW, K)]),
        ("bwd_data", [gemm("conv_backward_data_kernel", C, N * nh * nw, M * ta * tb)
                      for nh, nw, ta, tb in phases(d) if nh * nw]),
        ("bwd_weight", [gemm("conv_backward_weight_kernel", M, K, N * OH * OW,
                             weight_grad_split(M, K, N * OH * OW))]),
    ]

print()
print(f"== ZFNet conv layers at batch {batch} ({config}); useful = N*M*C*OH*OW*k*k multiply-adds per pass")
print(f"{'layer':6} {'pass':10} {'tile':>13} {'blocks':>7} {'waves':>6} {'GMAC useful':>11} {'GMAC issued':>11} "
      f"{'wasted':>7} {'useful MAC/ins':>14}")
for d in convs:
    useful = d["N"] * d["M"] * d["C"] * d["OH"] * d["OW"] * d["k"] ** 2
    for pas, launches in tile_work(d):
        tiles = ",".join(sorted({t for _, t, _, _ in launches}, key=lambda t: TILES.index(tuple(map(int, t.split("x"))))))
        blocks = sum(b for _, _, b, _ in launches)
        issued = sum(m for _, _, _, m in launches)
        waves = sum(b / (SMS * max(1, kern.get(kn, {}).get("bps", 1))) for kn, _, b, _ in launches)
        ratios = [kern.get(kn, {}).get("ratio", 0.0) for kn, _, _, _ in launches]
        ins = sum(m / r for (_, _, _, m), r in zip(launches, ratios)) if all(ratios) else 0
        print(f"{d['name']:6} {pas:10} {tiles:>13} {blocks:7d} {waves:6.2f} {useful / 1e9:11.2f} {issued / 1e9:11.2f} "
              f"{1 - useful / issued:7.1%} {useful / ins if ins else 0:14.3f}")

# conv_backward_weight_bias_kernel: one block per (filter, image group), as cuda/conv.cu's bias_groups.
print()
print("bias gradient blocks (conv_backward_weight_bias_kernel): " + ", ".join(
    f"{d['name']} {d['M'] * max(1, min(d['N'], -(-1024 // d['M'])))}" for d in convs))
PY
