// CPU convolution: im2col / col2im around OpenBLAS sgemm, one image per OpenMP thread (OpenBLAS runs
// single-threaded inside a parallel region), so the small spatial planes of conv3..5 (13x13) still keep
// both cores busy. With fewer images than threads the images run in turn and sgemm threads itself.
//
// Per image n, with K = C*k*k and P = OH*OW:
//   forward          y_n[M, P]  = W[M, K] * col(x_n)[K, P] + b
//   backward_data    dx_n       = col2im(W^T[K, M] * dy_n[M, P])
//   backward_weight  dW[M, K]  += dy_n[M, P] * col(x_n)^T[P, K];  db[m] += sum_p dy_n[m, p]
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "core/cpu/blas.h"
#include "core/cpu/cpu_ops.h"
#include "core/cpu/workspace.h"

namespace zf::cpu {

namespace {

struct Geometry {
  int C, H, W, M, k, s, p, OH, OW;
  int K() const { return C * k * k; }
  int P() const { return OH * OW; }
};

Geometry geometry(const Tensor& x, const Tensor& y, int out_channels, const ConvParams& p) {
  return Geometry{static_cast<int>(x.c()), static_cast<int>(x.h()), static_cast<int>(x.w()),
                  out_channels, p.kernel, p.stride, p.pad, static_cast<int>(y.h()),
                  static_cast<int>(y.w())};
}

// Output columns ow whose input column iw = ow*s - p + kw lies inside [0, W): [ow0, ow1).
inline void valid_cols(const Geometry& g, int kw, int* ow0, int* ow1) {
  int lo = g.p - kw;
  *ow0 = lo > 0 ? (lo + g.s - 1) / g.s : 0;
  int hi = g.W - 1 + g.p - kw;
  *ow1 = hi < 0 ? 0 : std::min(g.OW, hi / g.s + 1);
  if (*ow1 < *ow0) *ow1 = *ow0;
}

// Stride 1: copy the image into a zero-padded plane first, so that every column row is a plain 2-d
// copy without border tests (the per-row bookkeeping dominates on the small planes of late layers).
void im2col_stride1(float* col, const float* x, const Geometry& g) {
  const int Hp = g.H + 2 * g.p, Wp = g.W + 2 * g.p;
  float* pad = scratch(static_cast<size_t>(g.C) * Hp * Wp, 2);
  for (int c = 0; c < g.C; ++c) {
    float* pc = pad + static_cast<size_t>(c) * Hp * Wp;
    std::memset(pc, 0, sizeof(float) * Wp * g.p);
    for (int y = 0; y < g.H; ++y) {
      float* row = pc + static_cast<size_t>(y + g.p) * Wp;
      std::memset(row, 0, sizeof(float) * g.p);
      std::memcpy(row + g.p, x + (static_cast<size_t>(c) * g.H + y) * g.W, sizeof(float) * g.W);
      std::memset(row + g.p + g.W, 0, sizeof(float) * g.p);
    }
    std::memset(pc + static_cast<size_t>(g.H + g.p) * Wp, 0, sizeof(float) * Wp * g.p);
  }
  const int OH = g.OH, OW = g.OW;
  for (int c = 0; c < g.C; ++c)
    for (int kh = 0; kh < g.k; ++kh)
      for (int kw = 0; kw < g.k; ++kw) {
        float* r = col + (static_cast<size_t>(c * g.k + kh) * g.k + kw) * g.P();
        const float* src = pad + (static_cast<size_t>(c) * Hp + kh) * Wp + kw;
        for (int oh = 0; oh < OH; ++oh)
          for (int ow = 0; ow < OW; ++ow) r[oh * OW + ow] = src[oh * Wp + ow];
      }
}

// col[(c*k + kh)*k + kw][oh*OW + ow] = x[c][oh*s - p + kh][ow*s - p + kw], zero outside.
void im2col(float* col, const float* x, const Geometry& g) {
  if (g.s == 1) return im2col_stride1(col, x, g);
  const size_t P = static_cast<size_t>(g.P());
  for (int c = 0; c < g.C; ++c) {
    const float* xc = x + static_cast<size_t>(c) * g.H * g.W;
    for (int kh = 0; kh < g.k; ++kh) {
      for (int kw = 0; kw < g.k; ++kw) {
        float* row = col + (static_cast<size_t>(c * g.k + kh) * g.k + kw) * P;
        int ow0, ow1;
        valid_cols(g, kw, &ow0, &ow1);
        for (int oh = 0; oh < g.OH; ++oh) {
          float* r = row + static_cast<size_t>(oh) * g.OW;
          int ih = oh * g.s - g.p + kh;
          if (ih < 0 || ih >= g.H) {
            std::memset(r, 0, sizeof(float) * g.OW);
            continue;
          }
          const float* xr = xc + static_cast<size_t>(ih) * g.W - g.p + kw;
          for (int ow = 0; ow < ow0; ++ow) r[ow] = 0.f;
          if (g.s == 1) {
            std::memcpy(r + ow0, xr + ow0, sizeof(float) * (ow1 - ow0));
          } else {
            for (int ow = ow0; ow < ow1; ++ow) r[ow] = xr[ow * g.s];
          }
          for (int ow = ow1; ow < g.OW; ++ow) r[ow] = 0.f;
        }
      }
    }
  }
}

// The adjoint of im2col_stride1: sums into a zero-padded plane, then keeps its interior.
void col2im_stride1(float* dx, const float* col, const Geometry& g) {
  const int Hp = g.H + 2 * g.p, Wp = g.W + 2 * g.p, OH = g.OH, OW = g.OW;
  float* pad = scratch(static_cast<size_t>(g.C) * Hp * Wp, 2);
  std::memset(pad, 0, sizeof(float) * g.C * Hp * Wp);
  for (int c = 0; c < g.C; ++c)
    for (int kh = 0; kh < g.k; ++kh)
      for (int kw = 0; kw < g.k; ++kw) {
        const float* r = col + (static_cast<size_t>(c * g.k + kh) * g.k + kw) * g.P();
        float* dst = pad + (static_cast<size_t>(c) * Hp + kh) * Wp + kw;
        for (int oh = 0; oh < OH; ++oh)
          for (int ow = 0; ow < OW; ++ow) dst[oh * Wp + ow] += r[oh * OW + ow];
      }
  for (int c = 0; c < g.C; ++c)
    for (int y = 0; y < g.H; ++y)
      std::memcpy(dx + (static_cast<size_t>(c) * g.H + y) * g.W,
                  pad + (static_cast<size_t>(c) * Hp + y + g.p) * Wp + g.p, sizeof(float) * g.W);
}

// The adjoint of im2col: dx[c][ih][iw] = sum of the col entries that im2col read from it.
void col2im(float* dx, const float* col, const Geometry& g) {
  if (g.s == 1) return col2im_stride1(dx, col, g);
  const size_t P = static_cast<size_t>(g.P());
  std::memset(dx, 0, sizeof(float) * g.C * g.H * g.W);
  for (int c = 0; c < g.C; ++c) {
    float* dc = dx + static_cast<size_t>(c) * g.H * g.W;
    for (int kh = 0; kh < g.k; ++kh) {
      for (int kw = 0; kw < g.k; ++kw) {
        const float* row = col + (static_cast<size_t>(c * g.k + kh) * g.k + kw) * P;
        int ow0, ow1;
        valid_cols(g, kw, &ow0, &ow1);
        for (int oh = 0; oh < g.OH; ++oh) {
          int ih = oh * g.s - g.p + kh;
          if (ih < 0 || ih >= g.H) continue;
          const float* r = row + static_cast<size_t>(oh) * g.OW;
          float* dr = dc + static_cast<size_t>(ih) * g.W - g.p + kw;
          if (g.s == 1) {
            for (int ow = ow0; ow < ow1; ++ow) dr[ow] += r[ow];
          } else {
            for (int ow = ow0; ow < ow1; ++ow) dr[ow * g.s] += r[ow];
          }
        }
      }
    }
  }
}

// A 1x1, stride-1, unpadded convolution reads x itself as its column matrix.
bool col_is_input(const Geometry& g) { return g.k == 1 && g.s == 1 && g.p == 0; }

// Images run one per thread when there are enough of them; otherwise one at a time.
bool per_image_threads(int64_t n) { return n >= num_threads() && num_threads() > 1; }

}  // namespace

void conv2d_forward(Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b, const ConvParams& p) {
  const Geometry g = geometry(x, y, static_cast<int>(w.dim(0)), p);
  const int64_t N = x.n();
  const size_t xs = static_cast<size_t>(g.C) * g.H * g.W, ys = static_cast<size_t>(g.M) * g.P();
  const float *X = x.f32(), *Wt = w.f32(), *B = b.f32();
  float* Y = y.f32();
  auto one = [&](int64_t n) {
    const float* col = X + n * xs;
    if (!col_is_input(g)) {
      float* c = scratch(static_cast<size_t>(g.K()) * g.P());
      im2col(c, X + n * xs, g);
      col = c;
    }
    float* yn = Y + n * ys;
    for (int m = 0; m < g.M; ++m) std::fill(yn + static_cast<size_t>(m) * g.P(), yn + (m + 1) * static_cast<size_t>(g.P()), B[m]);
    sgemm(false, false, g.M, g.P(), g.K(), 1.f, Wt, g.K(), col,
                g.P(), 1.f, yn, g.P());
  };
  if (per_image_threads(N)) {
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; ++n) one(n);
  } else {
    for (int64_t n = 0; n < N; ++n) one(n);
  }
}

void conv2d_backward_data(Tensor& dx, const Tensor& dy, const Tensor& w, const ConvParams& p) {
  const Geometry g = geometry(dx, dy, static_cast<int>(w.dim(0)), p);
  const int64_t N = dx.n();
  const size_t xs = static_cast<size_t>(g.C) * g.H * g.W, ys = static_cast<size_t>(g.M) * g.P();
  const float *DY = dy.f32(), *Wt = w.f32();
  float* DX = dx.f32();
  auto one = [&](int64_t n) {
    float* dxn = DX + n * xs;
    float* col = col_is_input(g) ? dxn : scratch(static_cast<size_t>(g.K()) * g.P());
    sgemm(true, false, g.K(), g.P(), g.M, 1.f, Wt, g.K(),
                DY + n * ys, g.P(), 0.f, col, g.P());
    if (!col_is_input(g)) col2im(dxn, col, g);
  };
  if (per_image_threads(N)) {
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; ++n) one(n);
  } else {
    for (int64_t n = 0; n < N; ++n) one(n);
  }
}

void conv2d_backward_weight(Tensor& dw, Tensor& db, const Tensor& dy, const Tensor& x,
                            const ConvParams& p) {
  const Geometry g = geometry(x, dy, static_cast<int>(dy.c()), p);
  const int64_t N = x.n();
  const size_t xs = static_cast<size_t>(g.C) * g.H * g.W, ys = static_cast<size_t>(g.M) * g.P();
  const size_t wsize = static_cast<size_t>(g.M) * g.K();
  const float *DY = dy.f32(), *X = x.f32();
  float *DW = dw.f32(), *DB = db.f32();

  // dW accumulates into `acc` over images; beta = 0 on an accumulator's first image.
  auto accumulate = [&](int64_t n, float* acc, bool first) {
    const float* col = X + n * xs;
    if (!col_is_input(g)) {
      float* c = scratch(static_cast<size_t>(g.K()) * g.P());
      im2col(c, X + n * xs, g);
      col = c;
    }
    sgemm(false, true, g.M, g.K(), g.P(), 1.f, DY + n * ys,
                g.P(), col, g.P(), first ? 0.f : 1.f, acc, g.K());
  };

  if (per_image_threads(N)) {
    // Each thread sums its own images into a private buffer; the buffers are then added in thread
    // order, so the result does not depend on scheduling.
    constexpr int kMaxThreads = 256;
    float* partial[kMaxThreads] = {};
    int used = 1;
#pragma omp parallel
    {
      const int T = std::min(omp_get_num_threads(), kMaxThreads), t = omp_get_thread_num();
#pragma omp single
      used = T;
      if (t < T) {
        const int64_t lo = N * t / T, hi = N * (t + 1) / T;
        float* acc = t == 0 ? DW : scratch(wsize, 1);
        partial[t] = acc;
        if (lo == hi) std::memset(acc, 0, sizeof(float) * wsize);
        for (int64_t n = lo; n < hi; ++n) accumulate(n, acc, n == lo);
      }
#pragma omp barrier
#pragma omp for schedule(static)
      for (int64_t i = 0; i < static_cast<int64_t>(wsize); ++i) {
        float v = DW[i];
        for (int u = 1; u < used; ++u) v += partial[u][i];
        DW[i] = v;
      }
    }
  } else {
    for (int64_t n = 0; n < N; ++n) accumulate(n, DW, n == 0);
  }

#pragma omp parallel for schedule(static)
  for (int m = 0; m < g.M; ++m) {
    double s = 0.0;
    for (int64_t n = 0; n < N; ++n) {
      const float* r = DY + n * ys + static_cast<size_t>(m) * g.P();
      float t = 0.f;
      for (int i = 0; i < g.P(); ++i) t += r[i];
      s += t;
    }
    DB[m] = static_cast<float>(s);
  }
}

}  // namespace zf::cpu
