// The implicit-GEMM machinery of the conv family (cuda/conv.cu), in a header so that the kernel
// variants under cuda/dev/ run the very same tile code with other launch bounds instead of a copy.
//
// Convolution as implicit GEMM: no column matrix in memory; tiles of the virtual im2col matrix are
// gathered into shared memory straight from the NCHW tensors. One tiled FP32 block routine
// (run_block) serves the three products' kernels, each product described by a small "problem"
// struct (below):
//   forward          y[m, (n,p)]    = sum over (c,kh,kw) of W[m, c,kh,kw] * x[n, c, ih, iw],
//                    ih = oh*s - pad + kh, iw = ow*s - pad + kw
//   backward_data    dx[c, (n,ih,iw)] = sum over (m,kh,kw) of W[m, c,kh,kw] * dy[n, m, oh, ow],
//                    oh = (ih + pad - kh) / s where that division is exact and in range (a gather;
//                    this is also the deconvnet's filtering with the transposed filters), run as
//                    s*s dense products, one per stride phase of dx (Phase below)
//   backward_weight  dW[m, (c,kh,kw)] = sum over (n,p) of dy[n, m, p] * x[n, c, ih, iw], the long
//                    reduction split into partial sums that a second kernel adds in a fixed order.
//
// The tile: BM x BN outputs per block (cuda/conv_tiles.h: 128x128, or 96 rows, or 96x64, chosen per
// launch), 256 threads, reduction tiles of 8, double-buffered shared memory with the next tile's
// global loads in flight during the current tile's FMAs (one barrier per tile). Every shape sums
// each output over the reduction in the same order, so the FP32 results do not depend on the
// shape. Index decoding is hoisted out of the loop: a problem turns an output row, an output
// column and a reduction index into small structs (Row, Col, Red); a thread decodes its rows and
// its column once, and 8 threads decode each reduction tile's indices into shared memory, so the
// gathers cost an add, a compare and a load each.
#pragma once

#include <utility>

#include "cuda/conv_tiles.h"
#include "cuda/cuda_ops.h"
#include "cuda/launch.h"
#include "cuda/mma.h"

namespace zf::cuda::conv_gemm {

constexpr int BK = 8, kGemmThreads = 256;

// A block's output tile as a type, for the kernels' templates (one per entry of kTileShapes).
template <int M, int N>
struct Tile {
  static constexpr int BM = M, BN = N;
  static_assert(M % 32 == 0 && N % 32 == 0 && kGemmThreads % N == 0,
                "whole float2/float4 groups per thread; B's loads keep one column per thread");
};
template <int I>
using TileAt = Tile<kTileShapes[I].bm, kTileShapes[I].bn>;

// The im2col index math that forward and backward_weight share: a tap (c, kh, kw) of the filter, a
// window (n, oh, ow) of the input, and the input value the tap reads in the window (0 in the
// padding).
struct Tap {
  int c_off, kh, kw;  // c_off = c * H*W
};
struct Window {
  int64_t x;  // n * C*H*W
  int ih0, iw0;
};

struct ConvDims {
  int N, C, H, W, M, k, s, pad, OH, OW;
  __device__ Tap tap(int kk) const {
    const int kk2 = k * k, r = kk % kk2;
    return Tap{kk / kk2 * H * W, r / k, r % k};
  }
  __device__ Window window(int j) const {
    const int P = OH * OW, n = j / P, q = j % P;
    return Window{static_cast<int64_t>(n) * C * H * W, q / OW * s - pad, q % OW * s - pad};
  }
  __device__ float input_at(const float* x, const Window& w, const Tap& t) const {
    const int ih = w.ih0 + t.kh, iw = w.iw0 + t.kw;
    if (ih < 0 || ih >= H || iw < 0 || iw >= W) return 0.f;
    return x[w.x + t.c_off + ih * W + iw];
  }
};

// How a block multiplies its shared tiles: which values go into shared memory, the accumulators,
// and which outputs of the BM x BN tile (T) each thread holds.
//
// Fp32 (the default and the reference): a 16x16 grid of threads, each with BM/16 x BN/16 outputs
// (8x8 in 128x128), FMAs from float4 reads (and a float2 for a side of 96: 6 = 4 + 2).
template <class T>
struct Fp32Math {
  using Tile = T;
  static constexpr int TM = T::BM / 16, TN = T::BN / 16;  // a thread's rows and columns
  static constexpr int kPadA = 4, kPadB = 0;  // +4: no bank conflicts in the float4 reads
  struct Acc {
    float v[TM][TN];
  };
  __device__ static float operand(float x) { return x; }
  template <class TA, class TB>
  __device__ static void multiply(Acc& acc, const TA& As, const TB& Bs);
  template <class F>
  __device__ static void store(const Acc& acc, int row0, int col0, int rows, int cols, F&& f);
};

// Tf32: 8 warps in 2 rows by 4 columns, each warp a (BM/2)x(BN/4) piece of the tile (64x32 in
// 128x128) as m16n8k8 tensor-core products (cuda/mma.h), the operands rounded to TF32 once, as
// they enter shared memory.
template <class T>
struct Tf32Math {
  using Tile = T;
  static constexpr int MI = T::BM / 32, NJ = T::BN / 32;  // a warp's 16-row and 8-column pieces
  static constexpr int kPadA = 8, kPadB = 8;  // +8: the fragment reads hit 32 distinct banks
  struct Acc {
    float v[MI][NJ][4];  // [16-row piece][8-column piece][fragment register]
  };
  __device__ static float operand(float x) { return __uint_as_float(to_tf32(x)); }
  template <class TA, class TB>
  __device__ static void multiply(Acc& acc, const TA& As, const TB& Bs);
  template <class F>
  __device__ static void store(const Acc& acc, int row0, int col0, int rows, int cols, F&& f);
};

// One block's tile of C[row, col] = sum over r of A(row, r) * B(r, col) through p.a(Row, Red),
// p.b(Red, Col), written by p.store(row, col, z, value); blockIdx.z takes the z-th of `split`
// pieces of the reduction, Math (Fp32Math<T>, Tf32Math<T>) multiplies a T-shaped tile. Called by a
// kernel launched with kGemmThreads threads on grid(shape of T, rows, cols, split).
template <class Math, class P>
__device__ __forceinline__ void run_block(const P& p, int rows, int cols, int red, int split) {
  using Row = typename P::Row;
  using Col = typename P::Col;
  using Red = typename P::Red;
  constexpr int BM = Math::Tile::BM, BN = Math::Tile::BN;
  constexpr int kA = BM * BK / kGemmThreads, kB = BN * BK / kGemmThreads;  // loads per thread

  __shared__ __align__(16) float As[2][BK][BM + Math::kPadA];  // A tile, transposed
  __shared__ __align__(16) float Bs[2][BK][BN + Math::kPadB];
  __shared__ Red reds[2][BK];
  __shared__ bool red_ok[2][BK];

  const int t = threadIdx.x;
  const int row0 = blockIdx.y * BM, col0 = blockIdx.x * BN;
  const int chunk = ((red + split - 1) / split + BK - 1) / BK * BK;
  const int r0 = blockIdx.z * chunk, r1 = min(red, r0 + chunk);
  const int tiles = r1 > r0 ? (r1 - r0 + BK - 1) / BK : 0;

  // A is loaded reduction-fastest (contiguous for W and dy), B column-fastest (contiguous in x,
  // dy): a thread loads BM/32 values of A's reduction row a_r, from rows a_step apart, and BN/32
  // values of B's column b_c, from reduction rows b_step apart.
  // A row or column past the edge of the output loads row or column 0's values instead: they only
  // reach the accumulators of outputs that are never stored, and no validity flag holds a register.
  constexpr int a_step = kGemmThreads / BK, b_step = kGemmThreads / BN;
  const int a_r = t % BK, b_c = col0 + t % BN, b_r = t / BN;
  Row arow[kA];
#pragma unroll
  for (int i = 0; i < kA; ++i) {
    const int r = row0 + t / BK + a_step * i;
    arow[i] = p.row(r < rows ? r : 0);
  }
  const Col bcol = p.col(b_c < cols ? b_c : 0);

  float a_reg[kA], b_reg[kB];
  typename Math::Acc acc = {};

  auto decode = [&](int buf, int k0) {
    if (t < BK) {
      const int r = k0 + t;
      red_ok[buf][t] = r < r1;
      reds[buf][t] = p.red(r < r1 ? r : r0);
    }
  };
  auto load = [&](int buf) {
    const bool ra_ok = red_ok[buf][a_r];
    const Red ra = reds[buf][a_r];
#pragma unroll
    for (int i = 0; i < kA; ++i) a_reg[i] = ra_ok ? p.a(arow[i], ra) : 0.f;
#pragma unroll
    for (int i = 0; i < kB; ++i) {
      const int r = b_r + b_step * i;
      b_reg[i] = red_ok[buf][r] ? p.b(reds[buf][r], bcol) : 0.f;
    }
  };
  auto stash = [&](int buf) {
#pragma unroll
    for (int i = 0; i < kA; ++i) As[buf][a_r][t / BK + a_step * i] = Math::operand(a_reg[i]);
#pragma unroll
    for (int i = 0; i < kB; ++i) Bs[buf][b_r + b_step * i][t % BN] = Math::operand(b_reg[i]);
  };

  if (tiles > 0) {  // uniform over the block, so the barriers inside are reached by all
    decode(0, r0);
    __syncthreads();
    load(0);
    stash(0);
    if (tiles > 1) decode(1, r0 + BK);
    __syncthreads();
    for (int kt = 0; kt < tiles; ++kt) {
      const int cur = kt & 1, nxt = cur ^ 1;
      if (kt + 1 < tiles) load(nxt);  // global loads in flight during the products below
      Math::multiply(acc, As[cur], Bs[cur]);
      if (kt + 1 < tiles) stash(nxt);  // tile nxt was last read before the barrier
      if (kt + 2 < tiles) decode(cur, r0 + (kt + 2) * BK);  // reds[cur] was last read by load(cur)
      __syncthreads();
    }
  }
  Math::store(acc, row0, col0, rows, cols,
              [&](int row, int col, float v) { p.store(row, col, blockIdx.z, v); });
}

// Fp32Math's place of a thread's i-th of n outputs along one side of the tile, for thread `tid` of
// the 16 along that side: groups of 4 outputs, each group spread over the 16 threads (64 rows or
// columns, one float4 read per thread), then a group of 2 (32, one float2) when n % 4 == 2. So 8
// are 4*tid..+3 and 64 + 4*tid..+3; 6 are 4*tid..+3 and 64 + 2*tid..+1.
__device__ __forceinline__ int fp32_offset(int i, int n, int tid) {
  return i < n / 4 * 4 ? 64 * (i / 4) + 4 * tid + i % 4 : 64 * (n / 4) + 2 * tid + i % 2;
}

// A thread's N values of one k-row of a shared tile (s), in fp32_offset's order.
template <int N>
__device__ __forceinline__ void fp32_read(float (&v)[N], const float* s, int tid) {
#pragma unroll
  for (int g = 0; g < N / 4; ++g) {
    const float4 f = *reinterpret_cast<const float4*>(s + 64 * g + 4 * tid);
    v[4 * g] = f.x;
    v[4 * g + 1] = f.y;
    v[4 * g + 2] = f.z;
    v[4 * g + 3] = f.w;
  }
  if constexpr (N % 4 == 2) {
    const float2 f = *reinterpret_cast<const float2*>(s + 64 * (N / 4) + 2 * tid);
    v[N - 2] = f.x;
    v[N - 1] = f.y;
  }
}

template <class T>
template <class TA, class TB>
__device__ __forceinline__ void Fp32Math<T>::multiply(Acc& acc, const TA& As, const TB& Bs) {
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
#pragma unroll
  for (int kk = 0; kk < BK; ++kk) {
    float av[TM], bv[TN];
    fp32_read(av, As[kk], ty);
    fp32_read(bv, Bs[kk], tx);
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
      for (int j = 0; j < TN; ++j) acc.v[i][j] = fmaf(av[i], bv[j], acc.v[i][j]);
  }
}

// Columns outer: a column's decoding (divisions in store) is then live for one column at a time.
template <class T>
template <class F>
__device__ __forceinline__ void Fp32Math<T>::store(const Acc& acc, int row0, int col0, int rows,
                                                   int cols, F&& f) {
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
#pragma unroll
  for (int j = 0; j < TN; ++j) {
    const int col = col0 + fp32_offset(j, TN, tx);
    if (col >= cols) continue;
#pragma unroll
    for (int i = 0; i < TM; ++i) {
      const int row = row0 + fp32_offset(i, TM, ty);
      if (row < rows) f(row, col, acc.v[i][j]);
    }
  }
}

// Warp w takes rows (BM/2)*(w % 2) .. +BM/2-1 and columns (BN/4)*(w / 2) .. +BN/4-1 of the tile;
// the fragments are read from the shared tiles as cuda/mma.h lays them out (A[row][k] is
// As[k][row], B[k][col] is Bs[k][col]).
template <class T>
template <class TA, class TB>
__device__ __forceinline__ void Tf32Math<T>::multiply(Acc& acc, const TA& As, const TB& Bs) {
  static_assert(BK == 8 && kGemmThreads == 256,
                "one m16n8k8 step per tile: 8 warps in 2 rows by 4 columns cover the tile, k = 8");
  const int lane = threadIdx.x % 32, w = threadIdx.x / 32, g = lane >> 2, q = lane & 3;
  const int m0 = T::BM / 2 * (w % 2) + g, n0 = T::BN / 4 * (w / 2) + g;
  uint32_t a[MI][4], b[NJ][2];
#pragma unroll
  for (int i = 0; i < MI; ++i) {
    const int r = m0 + 16 * i;
    a[i][0] = __float_as_uint(As[q][r]);
    a[i][1] = __float_as_uint(As[q][r + 8]);
    a[i][2] = __float_as_uint(As[q + 4][r]);
    a[i][3] = __float_as_uint(As[q + 4][r + 8]);
  }
#pragma unroll
  for (int j = 0; j < NJ; ++j) {
    b[j][0] = __float_as_uint(Bs[q][n0 + 8 * j]);
    b[j][1] = __float_as_uint(Bs[q + 4][n0 + 8 * j]);
  }
#pragma unroll
  for (int i = 0; i < MI; ++i)
#pragma unroll
    for (int j = 0; j < NJ; ++j) mma_tf32_16x8x8(acc.v[i][j], a[i], b[j]);
}

template <class T>
template <class F>
__device__ __forceinline__ void Tf32Math<T>::store(const Acc& acc, int row0, int col0, int rows,
                                                   int cols, F&& f) {
  const int lane = threadIdx.x % 32, w = threadIdx.x / 32, g = lane >> 2, q = lane & 3;
  const int m0 = row0 + T::BM / 2 * (w % 2) + g, n0 = col0 + T::BN / 4 * (w / 2) + 2 * q;
#pragma unroll
  for (int j = 0; j < NJ; ++j)
#pragma unroll
    for (int c = 0; c < 2; ++c) {
      const int col = n0 + 8 * j + c;
      if (col >= cols) continue;
#pragma unroll
      for (int i = 0; i < MI; ++i)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const int row = m0 + 16 * i + 8 * h;
          if (row < rows) f(row, col, acc.v[i][j][2 * h + c]);
        }
    }
}

// The grid of a kernel that runs run_block in tiles of shape s over a rows x cols output in
// `split` reduction pieces.
inline dim3 grid(const TileShape& s, int rows, int cols, int split) {
  return dim3((cols + s.bn - 1) / s.bn, (rows + s.bm - 1) / s.bm, split);
}

// f(TileAt<i>()): a launch's tile shape, chosen at run time (choose_tile), as the type that selects
// the kernel instance compiled for it.
template <class F, int... I>
void with_tile(int i, F&& f, std::integer_sequence<int, I...>) {
  ((i == I ? f(TileAt<I>()) : void()), ...);
}
template <class F>
void with_tile(int i, F&& f) {
  with_tile(i, f, std::make_integer_sequence<int, kTileShapeCount>());
}

// forward: rows m, columns j = (n, oh, ow), reduction kk = (c, kh, kw).
struct ForwardProblem {
  const float *w, *x, *bias;
  float* y;
  ConvDims d;
  struct Row {
    int w;  // m * K: a weight tensor's index fits an int; 64 bits would cost registers
  };
  using Col = Window;
  struct Red {
    int kk;
    Tap tap;
  };
  __device__ Row row(int m) const { return Row{m * d.C * d.k * d.k}; }
  __device__ Col col(int j) const { return d.window(j); }
  __device__ Red red(int kk) const { return Red{kk, d.tap(kk)}; }
  __device__ float a(const Row& r, const Red& e) const { return w[r.w + e.kk]; }
  __device__ float b(const Red& e, const Col& c) const { return d.input_at(x, c, e.tap); }
  __device__ void store(int m, int j, int, float v) const {
    const int P = d.OH * d.OW;
    y[(static_cast<int64_t>(j / P) * d.M + m) * P + j % P] = v + bias[m];
  }
};

// backward_data for one stride phase of dx (the transposed convolution split into s*s dense ones):
// the pixels with (ih + pad) % s == ph and (iw + pad) % s == pw, i.e. ih = eh + s*i, iw = ew + s*u,
// receive exactly the taps kh = ph + s*a, kw = pw + s*b, from dy[oh0 + i - a, ow0 + u - b]. So no
// multiply-add is spent on the zeros between a strided output's pixels and no division is left
// in the gather; only the borders (oh or ow out of range) read zeros, as the forward's padding
// does.
struct Phase {
  int ph, pw;    // phase of (ih + pad, iw + pad) modulo s
  int eh, ew;    // first ih, iw of the phase
  int nh, nw;    // its pixels per column and row of dx
  int ta, tb;    // its taps along kh and kw
  int oh0, ow0;  // (eh + pad - ph) / s, (ew + pad - pw) / s: exact
  int w0;        // ph*k + pw: the filter offset of the phase's first tap
};

inline Phase phase_of(int ph, int pw, int H, int W, int k, int s, int pad) {
  Phase f{};
  f.ph = ph;
  f.pw = pw;
  f.eh = ((ph - pad) % s + s) % s;
  f.ew = ((pw - pad) % s + s) % s;
  f.nh = f.eh < H ? (H - f.eh + s - 1) / s : 0;
  f.nw = f.ew < W ? (W - f.ew + s - 1) / s : 0;
  f.ta = ph < k ? (k - ph + s - 1) / s : 0;
  f.tb = pw < k ? (k - pw + s - 1) / s : 0;
  f.oh0 = (f.eh + pad - ph) / s;
  f.ow0 = (f.ew + pad - pw) / s;
  f.w0 = ph * k + pw;
  return f;
}

// backward_data of one phase f: rows c, columns j = (n, i, u), reduction q = (m, a, b).
struct BackwardDataProblem {
  const float *w, *dy;
  float* dx;
  ConvDims d;
  Phase f;
  struct Row {
    int w;  // c * k*k (the phase's offset f.w0 is in Red: here, ptxas (CUDA 13) spilled 4 values)
  };
  struct Col {
    int64_t dy;  // n * M*OH*OW
    int oh, ow;  // oh0 + i, ow0 + u: the row and column of dy that tap (0, 0) reads
  };
  struct Red {
    int w, dy, a, b;  // w = m * C*k*k + kh*k + kw (kh = ph + s*a, kw = pw + s*b), dy = m * OH*OW
  };
  __device__ Row row(int c) const { return Row{c * d.k * d.k}; }
  __device__ Col col(int j) const {
    const int q = f.nh * f.nw, n = j / q, r = j % q;
    return Col{static_cast<int64_t>(n) * d.M * d.OH * d.OW, f.oh0 + r / f.nw, f.ow0 + r % f.nw};
  }
  __device__ Red red(int q) const {
    const int taps = f.ta * f.tb, m = q / taps, r = q % taps, a = r / f.tb, b = r % f.tb;
    return Red{m * d.C * d.k * d.k + f.w0 + d.s * (a * d.k + b), m * d.OH * d.OW, a, b};
  }
  __device__ float a(const Row& r, const Red& e) const { return w[e.w + r.w]; }
  __device__ float b(const Red& e, const Col& c) const {
    const int th = c.oh - e.a, tw = c.ow - e.b;  // both >= -(taps - 1); one unsigned compare each
    if (static_cast<unsigned>(th) >= static_cast<unsigned>(d.OH) ||
        static_cast<unsigned>(tw) >= static_cast<unsigned>(d.OW))
      return 0.f;
    return dy[c.dy + e.dy + th * d.OW + tw];
  }
  __device__ void store(int c, int j, int, float v) const {
    const int q = f.nh * f.nw, n = j / q, r = j % q;
    const int ih = f.eh + d.s * (r / f.nw), iw = f.ew + d.s * (r % f.nw);
    dx[(static_cast<int64_t>(n) * d.C + c) * d.H * d.W + ih * d.W + iw] = v;
  }
};

// backward_weight: rows m, columns kk = (c, kh, kw), reduction j = (n, oh, ow); piece z of the
// reduction goes to part[z].
struct BackwardWeightProblem {
  const float *dy, *x;
  float* part;
  ConvDims d;
  struct Row {
    int dy;  // m * OH*OW
  };
  using Col = Tap;
  struct Red {
    int64_t dy;  // n * M*OH*OW + (oh*OW + ow)
    Window win;
  };
  __device__ Row row(int m) const { return Row{m * d.OH * d.OW}; }
  __device__ Col col(int kk) const { return d.tap(kk); }
  __device__ Red red(int j) const {
    const int P = d.OH * d.OW;
    return Red{static_cast<int64_t>(j / P) * d.M * P + j % P, d.window(j)};
  }
  __device__ float a(const Row& r, const Red& e) const { return dy[e.dy + r.dy]; }
  __device__ float b(const Red& e, const Col& c) const { return d.input_at(x, e.win, c); }
  __device__ void store(int m, int kk, int z, float v) const {
    const int K = d.C * d.k * d.k;
    part[(static_cast<int64_t>(z) * d.M + m) * K + kk] = v;
  }
};

inline ConvDims dims(const Tensor& x, const Tensor& y, const ConvParams& p) {
  return ConvDims{static_cast<int>(x.n()),
                  static_cast<int>(x.c()),
                  static_cast<int>(x.h()),
                  static_cast<int>(x.w()),
                  static_cast<int>(y.c()),
                  p.kernel,
                  p.stride,
                  p.pad,
                  static_cast<int>(y.h()),
                  static_cast<int>(y.w())};
}

}  // namespace zf::cuda::conv_gemm
