// CPU fully connected layers (the fc family): three OpenBLAS sgemm calls (OpenBLAS threads them
// itself), and at small batches the thin kernels below.
//   y[N, out] = x[N, in] * W^T + b;  dx[N, in] = dy * W;  dW[out, in] = dy^T * x;  db = sum_n dy

#include <omp.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "core/cpu/blas.h"
#include "core/cpu/cpu_ops.h"
#include "core/cpu/vec16.h"
#include "core/cpu/workspace.h"

namespace zf::cpu {

namespace {

// At small batches the three products are thin (one side is the batch) and memory-bound on the
// weights, where OpenBLAS's packing and threading reached a fraction of the memory bandwidth. The
// fast paths (ZF_CPU_KERNELS=reference turns them off) apply from kThinWeights weights and at most
// kThinBatch samples.
constexpr int64_t kThinWeights = int64_t{1} << 18;
constexpr int kThinBatch = 32;

bool thin(int N, int64_t weights) {
  return !reference_kernels() && N <= kThinBatch && weights >= kThinWeights;
}

// f(lo, hi) on each OpenMP thread's share of [0, n), cut at multiples of `unit`.
template <class F>
void per_thread_share(int n, int unit, F&& f) {
#pragma omp parallel
  {
    const int T = omp_get_num_threads(), t = omp_get_thread_num();
    const int blocks = (n + unit - 1) / unit;
    const int lo = std::min(n, unit * (blocks * t / T)),
              hi = std::min(n, unit * (blocks * (t + 1) / T));
    if (lo < hi) f(lo, hi);
  }
}

// v stored at p, past the caches where p is 64-byte aligned and the machine has AVX-512: dW of a
// large layer is written once and read back only by the optimizer, and a regular store first reads
// its line from memory (fc6's dW: 151 MB more traffic). Followed by stream_fence() before the
// values are read.
inline void store16_stream(float* p, V16 v) {
#if defined(__AVX512F__)
  if ((reinterpret_cast<uintptr_t>(p) & 63) == 0) return _mm512_stream_ps(p, (__m512)v);
#endif
  store16(p, v);
}

inline void stream_fence() {
#if defined(__AVX512F__)
  _mm_sfence();
#endif
}

// dW[o, j] = sum_n dy[n, o] * x[n, j] for rows o in [o0, o1) and the columns j of [j0, j1) (a
// multiple of 16 long), four rows at a time sharing each load of x. Each element's sum runs over n
// in order, from the first product: what a K = N sgemm kernel computes.
void dw_rows(float* DW, const float* DY, const float* X, int N, int out, int in, int o0, int o1,
             int j0, int j1) {
  int o = o0;
  for (; o + 4 <= o1; o += 4) {
    int j = j0;
    // 32 columns a step: eight independent sums hide the adds' latency (four sums of 16 columns
    // left each FMA waiting on the one before; with the streaming stores, fc6's dW at batch 16
    // 15.1 -> 11.0 ms, of which 0.6 from the stores)
    for (; j + 32 <= j1; j += 32) {
      V16 a[4][2] = {};
      for (int n = 0; n < N; ++n) {
        const V16 x0 = load16(X + int64_t{n} * in + j), x1 = load16(X + int64_t{n} * in + j + 16);
        const float* d = DY + int64_t{n} * out + o;
        for (int r = 0; r < 4; ++r) {
          a[r][0] += d[r] * x0;
          a[r][1] += d[r] * x1;
        }
      }
      for (int r = 0; r < 4; ++r) {
        store16_stream(DW + int64_t{o + r} * in + j, a[r][0]);
        store16_stream(DW + int64_t{o + r} * in + j + 16, a[r][1]);
      }
    }
    for (; j < j1; j += 16) {
      V16 a0 = {}, a1 = {}, a2 = {}, a3 = {};
      for (int n = 0; n < N; ++n) {
        const V16 xv = load16(X + int64_t{n} * in + j);
        const float* d = DY + int64_t{n} * out + o;
        a0 += d[0] * xv;
        a1 += d[1] * xv;
        a2 += d[2] * xv;
        a3 += d[3] * xv;
      }
      store16_stream(DW + int64_t{o} * in + j, a0);
      store16_stream(DW + int64_t{o + 1} * in + j, a1);
      store16_stream(DW + int64_t{o + 2} * in + j, a2);
      store16_stream(DW + int64_t{o + 3} * in + j, a3);
    }
  }
  for (; o < o1; ++o)
    for (int j = j0; j < j1; j += 16) {
      V16 a = {};
      for (int n = 0; n < N; ++n) a += DY[int64_t{n} * out + o] * load16(X + int64_t{n} * in + j);
      store16_stream(DW + int64_t{o} * in + j, a);
    }
}

// The same for the columns past the last whole 16 (scalar).
void dw_tail(float* DW, const float* DY, const float* X, int N, int out, int in, int o0, int o1,
             int j0) {
  for (int o = o0; o < o1; ++o)
    for (int j = j0; j < in; ++j) {
      float a = 0.f;
      for (int n = 0; n < N; ++n) a += DY[int64_t{n} * out + o] * X[int64_t{n} * in + j];
      DW[int64_t{o} * in + j] = a;
    }
}

// dx[n, j] += sum_{o in [o0, o1)} dyT[o, n] * W[o, j] for NB rows n0.. and 32 columns j.. (two
// vectors), the accumulators in registers across the rows o.
template <int NB>
void dx_block(float* DX, const float* DYT, const float* Wt, int N, int in, int n0, int o0, int o1,
              int j) {
  V16 lo[NB], hi[NB];
  for (int b = 0; b < NB; ++b) {
    lo[b] = load16(DX + int64_t{n0 + b} * in + j);
    hi[b] = load16(DX + int64_t{n0 + b} * in + j + 16);
  }
  for (int o = o0; o < o1; ++o) {
    const float* w = Wt + int64_t{o} * in + j;
    // The tile's 32 rows are 32 streams, more than the hardware prefetcher follows: fetch the
    // columns two steps ahead by hand.
    __builtin_prefetch(w + 64);
    __builtin_prefetch(w + 80);
    const V16 w0 = load16(w), w1 = load16(w + 16);
    const float* d = DYT + int64_t{o} * N + n0;
    for (int b = 0; b < NB; ++b) {
      lo[b] += d[b] * w0;
      hi[b] += d[b] * w1;
    }
  }
  for (int b = 0; b < NB; ++b) {
    store16(DX + int64_t{n0 + b} * in + j, lo[b]);
    store16(DX + int64_t{n0 + b} * in + j + 16, hi[b]);
  }
}

void dx_rows(float* DX, const float* DYT, const float* Wt, int N, int in, int o0, int o1, int j) {
  for (int n0 = 0; n0 < N; n0 += 8) {
    switch (std::min(8, N - n0)) {
      case 8:
        dx_block<8>(DX, DYT, Wt, N, in, n0, o0, o1, j);
        break;
      case 7:
        dx_block<7>(DX, DYT, Wt, N, in, n0, o0, o1, j);
        break;
      case 6:
        dx_block<6>(DX, DYT, Wt, N, in, n0, o0, o1, j);
        break;
      case 5:
        dx_block<5>(DX, DYT, Wt, N, in, n0, o0, o1, j);
        break;
      case 4:
        dx_block<4>(DX, DYT, Wt, N, in, n0, o0, o1, j);
        break;
      case 3:
        dx_block<3>(DX, DYT, Wt, N, in, n0, o0, o1, j);
        break;
      case 2:
        dx_block<2>(DX, DYT, Wt, N, in, n0, o0, o1, j);
        break;
      default:
        dx_block<1>(DX, DYT, Wt, N, in, n0, o0, o1, j);
        break;
    }
  }
}

// dx = dy * W at a thin batch: each thread owns a range of dx's columns and walks W in tiles of
// 32 rows x 1024 columns (128 KB, in L2), summing each element over o in order (64-row tiles
// took 15.7 ms for fc6 at batch 16, 32-row ones 12; 16-row ones slowed fc7 and fc8).
void dx_thin(float* DX, const float* DY, const float* Wt, int N, int out, int in) {
  float* dyt = scratch(static_cast<size_t>(out) * N, 1);  // dy^T: the rows' factors side by side
  for (int n = 0; n < N; ++n)
    for (int o = 0; o < out; ++o) dyt[int64_t{o} * N + n] = DY[int64_t{n} * out + o];
  const int whole = in / 32 * 32;
  per_thread_share(whole, 32, [&](int lo, int hi) {
    for (int n = 0; n < N; ++n)
      std::fill(DX + int64_t{n} * in + lo, DX + int64_t{n} * in + hi, 0.f);
    constexpr int kRows = 32, kCols = 1024;
    for (int jb = lo; jb < hi; jb += kCols)
      for (int ob = 0; ob < out; ob += kRows)
        for (int j = jb; j < std::min(hi, jb + kCols); j += 32)
          dx_rows(DX, dyt, Wt, N, in, ob, std::min(out, ob + kRows), j);
  });
  for (int n = 0; n < N; ++n)
    for (int j = whole; j < in; ++j) {
      float a = 0.f;
      for (int o = 0; o < out; ++o) a += dyt[int64_t{o} * N + n] * Wt[int64_t{o} * in + j];
      DX[int64_t{n} * in + j] = a;
    }
}

// y[n, o] = b[o] + sum_j x[n, j] * W[o, j] for the rows o in [o0, o0 + R) and the samples n in
// [n0, n0 + NB): R x NB dot products sharing each load of W and of x (16 columns a step, in
// registers), then each reduced across its lanes. The columns past the last whole vector are added
// one by one.
template <int R, int NB>
void fwd_block(float* Y, const float* X, const float* Wt, const float* B, int out, int in, int n0,
               int o0) {
  V16 acc[R][NB] = {};
  const int whole = in / 16 * 16;
  for (int j = 0; j < whole; j += 16) {
    V16 w[R];
    for (int r = 0; r < R; ++r) {
      const float* wr = Wt + int64_t{o0 + r} * in + j;
      __builtin_prefetch(wr + 128);
      w[r] = load16(wr);
    }
    for (int b = 0; b < NB; ++b) {
      const V16 xv = load16(X + int64_t{n0 + b} * in + j);
      for (int r = 0; r < R; ++r) acc[r][b] += w[r] * xv;
    }
  }
  for (int r = 0; r < R; ++r)
    for (int b = 0; b < NB; ++b) {
      float s = 0.f;
      for (int l = 0; l < 16; ++l) s += acc[r][b][l];
      for (int j = whole; j < in; ++j)
        s += X[int64_t{n0 + b} * in + j] * Wt[int64_t{o0 + r} * in + j];
      Y[int64_t{n0 + b} * out + o0 + r] = B[o0 + r] + s;
    }
}

template <int R>
void fwd_rows(float* Y, const float* X, const float* Wt, const float* B, int N, int out, int in,
              int o0) {
  int n0 = 0;
  for (; n0 + 4 <= N; n0 += 4) fwd_block<R, 4>(Y, X, Wt, B, out, in, n0, o0);
  for (; n0 < N; ++n0) fwd_block<R, 1>(Y, X, Wt, B, out, in, n0, o0);
}

// y = x * W^T + b at a thin batch: each thread owns a range of outputs and reads their rows of W
// once from memory, four rows at a time (x, N rows, stays in L2). Each output is one thread's, so
// its bits do not depend on the thread count.
void fwd_thin(float* Y, const float* X, const float* Wt, const float* B, int N, int out, int in) {
  per_thread_share(out, 4, [&](int lo, int hi) {
    int o = lo;
    for (; o + 4 <= hi; o += 4) fwd_rows<4>(Y, X, Wt, B, N, out, in, o);
    for (; o < hi; ++o) fwd_rows<1>(Y, X, Wt, B, N, out, in, o);
  });
}

}  // namespace

void fc_forward(Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b) {
  const int N = static_cast<int>(x.dim(0)), in = static_cast<int>(w.dim(1)),
            out = static_cast<int>(w.dim(0));
  const float* B = b.f32();
  float* Y = y.f32();
  if (thin(N, int64_t{out} * in)) {
    fwd_thin(Y, x.f32(), w.f32(), B, N, out, in);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n)
    for (int o = 0; o < out; ++o) Y[static_cast<int64_t>(n) * out + o] = B[o];
  sgemm(false, true, N, out, in, 1.f, x.f32(), in, w.f32(), in, 1.f, Y, out);
}

void fc_backward_data(Tensor& dx, const Tensor& dy, const Tensor& w) {
  const int N = static_cast<int>(dy.dim(0)), in = static_cast<int>(w.dim(1)),
            out = static_cast<int>(w.dim(0));
  const float* DY = dy.f32();
  const float* Wt = w.f32();
  float* DX = dx.f32();
  if (thin(N, int64_t{out} * in)) {
    dx_thin(DX, DY, Wt, N, out, in);
  } else {
    sgemm(false, false, N, in, out, 1.f, DY, out, Wt, in, 0.f, DX, in);
  }
}

void fc_backward_weight(Tensor& dw, Tensor& db, const Tensor& dy, const Tensor& x) {
  const int N = static_cast<int>(dy.dim(0)), out = static_cast<int>(dy.dim(1)),
            in = static_cast<int>(dw.dim(1));
  const float* DY = dy.f32();
  const float* X = x.f32();
  float* DW = dw.f32();
  if (thin(N, int64_t{out} * in)) {
    // Rows of dW split among the threads, each row written whole (sequential stores; x, N rows,
    // stays in L2: cutting the rows into 1024-column chunks to keep x in L1 was 1.4x slower).
    const int whole = in / 16 * 16;
    per_thread_share(out, 4, [&](int lo, int hi) {
      dw_rows(DW, DY, X, N, out, in, lo, hi, 0, whole);
      dw_tail(DW, DY, X, N, out, in, lo, hi, whole);
      stream_fence();
    });
  } else {
    sgemm(true, false, out, in, N, 1.f, DY, out, X, in, 0.f, DW, in);
  }
  float* DB = db.f32();
#pragma omp parallel for schedule(static)
  for (int o = 0; o < out; ++o) {
    double s = 0.0;
    for (int n = 0; n < N; ++n) s += DY[static_cast<int64_t>(n) * out + o];
    DB[o] = static_cast<float>(s);
  }
}

}  // namespace zf::cpu
