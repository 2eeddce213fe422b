// CPU convolution (the conv family): im2col / col2im around OpenBLAS sgemm, one image per OpenMP
// thread (OpenBLAS runs single-threaded inside a parallel region), so the small spatial planes of
// conv3..5 (13x13) still keep both cores busy. With fewer images than threads the images run in
// turn and sgemm threads itself.
//
// Per image n, with K = C*k*k and P = OH*OW:
//   forward          y_n[M, P]  = W[M, K] * col(x_n)[K, P] + b
//   backward_data    dx_n       = col2im(W^T[K, M] * dy_n[M, P])
//   backward_weight  dW[M, K]  += dy_n[M, P] * col(x_n)^T[P, K];  db[m] += sum_p dy_n[m, p]
// The fast path (ZF_CPU_KERNELS=fast) cuts a large column matrix into bands of output rows
// (band_rows) and runs the 3x3 stride-1 convolutions on large enough planes by Winograd's
// transforms instead (core/cpu/winograd.h).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/context.h"
#include "core/cpu/blas.h"
#include "core/cpu/cpu_ops.h"
#include "core/cpu/thread_sum.h"
#include "core/cpu/vec16.h"
#include "core/cpu/winograd.h"
#include "core/cpu/workspace.h"

namespace zf::cpu {

namespace {

struct Geometry {
  int C, H, W, M, k, s, p, OH, OW;
  int K() const { return C * k * k; }
  int P() const { return OH * OW; }
};

Geometry geometry(const Tensor& x, const Tensor& y, int out_channels, const ConvParams& p) {
  return Geometry{static_cast<int>(x.c()),
                  static_cast<int>(x.h()),
                  static_cast<int>(x.w()),
                  out_channels,
                  p.kernel,
                  p.stride,
                  p.pad,
                  static_cast<int>(y.h()),
                  static_cast<int>(y.w())};
}

// im2col and col2im go through a zero-padded copy of the image planes, so that every row of the
// column matrix is a plain strided 2-d copy without border tests (the per-row bookkeeping of a
// bordered copy dominated on the small planes of late layers). Each padded plane is (H + 2p) x (W +
// 2p).

// pad[c] = x[c] surrounded by p zeros.
float* padded_planes(const float* x, const Geometry& g) {
  const int Hp = g.H + 2 * g.p, Wp = g.W + 2 * g.p;
  float* pad = scratch(static_cast<size_t>(g.C) * Hp * Wp, 2);
  if (g.p > 0) std::memset(pad, 0, sizeof(float) * g.C * Hp * Wp);
  for (int c = 0; c < g.C; ++c)
    for (int y = 0; y < g.H; ++y)
      std::memcpy(pad + (static_cast<size_t>(c) * Hp + y + g.p) * Wp + g.p,
                  x + (static_cast<size_t>(c) * g.H + y) * g.W, sizeof(float) * g.W);
  return pad;
}

// col[(c*k + kh)*k + kw][(oh - oh0)*OW + ow] = x[c][oh*s - p + kh][ow*s - p + kw] for the output
// rows oh0 <= oh < oh1 (a band of the column matrix, oh1 - oh0 rows of OW columns each), zero
// outside the image; pad is padded_planes(x).
void im2col_band(float* col, const float* pad, const Geometry& g, int oh0, int oh1) {
  const int Hp = g.H + 2 * g.p, Wp = g.W + 2 * g.p, OW = g.OW, s = g.s;
  const size_t cols = static_cast<size_t>(oh1 - oh0) * OW;
  for (int c = 0; c < g.C; ++c)
    for (int kh = 0; kh < g.k; ++kh)
      for (int kw = 0; kw < g.k; ++kw) {
        float* r = col + (static_cast<size_t>(c * g.k + kh) * g.k + kw) * cols;
        const float* src = pad + (static_cast<size_t>(c) * Hp + kh) * Wp + kw;
        for (int oh = oh0; oh < oh1; ++oh) {
          const float* in = src + static_cast<size_t>(oh) * s * Wp;
          float* out = r + static_cast<size_t>(oh - oh0) * OW;
          if (s == 1) {
            for (int ow = 0; ow < OW; ++ow) out[ow] = in[ow];
          } else if (s == 2 && !reference_kernels()) {
            gather_stride2(out, in, OW, Wp - kw);
          } else {
            for (int ow = 0; ow < OW; ++ow) out[ow] = in[ow * s];
          }
        }
      }
}

// The adjoint of im2col_band: adds each entry of the band's columns into the padded planes `pad`
// at the pixel im2col_band read it from.
void col2im_band(float* pad, const float* col, const Geometry& g, int oh0, int oh1) {
  const int Hp = g.H + 2 * g.p, Wp = g.W + 2 * g.p, OW = g.OW, s = g.s;
  const size_t cols = static_cast<size_t>(oh1 - oh0) * OW;
  for (int c = 0; c < g.C; ++c)
    for (int kh = 0; kh < g.k; ++kh)
      for (int kw = 0; kw < g.k; ++kw) {
        const float* r = col + (static_cast<size_t>(c * g.k + kh) * g.k + kw) * cols;
        float* dst = pad + (static_cast<size_t>(c) * Hp + kh) * Wp + kw;
        for (int oh = oh0; oh < oh1; ++oh) {
          float* o = dst + static_cast<size_t>(oh) * s * Wp;
          const float* in = r + static_cast<size_t>(oh - oh0) * OW;
          if (s == 1) {
            for (int ow = 0; ow < OW; ++ow) o[ow] += in[ow];
          } else if (s == 2 && !reference_kernels()) {
            scatter_add_stride2(o, in, OW, Wp - kw);
          } else {
            for (int ow = 0; ow < OW; ++ow) o[ow * s] += in[ow];
          }
        }
      }
}

// Zeroed padded planes for col2im_band to add into.
float* zero_padded_planes(const Geometry& g) {
  const size_t n = static_cast<size_t>(g.C) * (g.H + 2 * g.p) * (g.W + 2 * g.p);
  float* pad = scratch(n, 2);
  std::memset(pad, 0, sizeof(float) * n);
  return pad;
}

// dx[c] = the interior of the padded planes.
void unpad_planes(float* dx, const float* pad, const Geometry& g) {
  const int Hp = g.H + 2 * g.p, Wp = g.W + 2 * g.p;
  for (int c = 0; c < g.C; ++c)
    for (int y = 0; y < g.H; ++y)
      std::memcpy(dx + (static_cast<size_t>(c) * g.H + y) * g.W,
                  pad + (static_cast<size_t>(c) * Hp + y + g.p) * Wp + g.p, sizeof(float) * g.W);
}

// Output rows per band of the column matrix. A layer with a short reduction (conv1: K = 147) has a
// column matrix far larger than the L2 (7 MB an image) that each product reads once: in bands of
// ~512 KB (ZF_CONV_BAND_KB) the band is still in the L2 when the product reads it (ZFNet's conv1
// forward 40 -> 31 ms at batch 16, its weight gradient 44 -> 38 ms). A long reduction (conv2:
// K = 2400) leaves too few columns in such a band for sgemm to run well (1 MB bands: 73 -> 80 ms),
// so it keeps the whole matrix, as the reference path always does.
int band_rows(const Geometry& g) {
  if (reference_kernels()) return g.OH;
  const ConvBands b = conv_bands();
  const size_t row_bytes = sizeof(float) * g.K() * g.OW;
  const int rows = static_cast<int>(std::max<size_t>(1, b.bytes / row_bytes));
  if (rows >= g.OH || rows * g.OW < b.min_columns) return g.OH;
  return rows;
}

// f(col, oh0, cols) for each band of image x's column matrix: col holds output rows oh0 ..
// oh0 + cols / OW (cols columns).
template <class F>
void for_each_band(const float* x, const Geometry& g, F&& f) {
  const float* pad = padded_planes(x, g);
  const int band = band_rows(g);
  float* c = scratch(static_cast<size_t>(g.K()) * band * g.OW);
  for (int oh0 = 0; oh0 < g.OH; oh0 += band) {
    const int oh1 = std::min(g.OH, oh0 + band);
    im2col_band(c, pad, g, oh0, oh1);
    f(static_cast<const float*>(c), oh0, (oh1 - oh0) * g.OW);
  }
}

ConvBands& bands() {
  static ConvBands b = [] {
    ConvBands d;
    if (const char* e = std::getenv("ZF_CONV_BAND_KB"))
      d.bytes = std::max(1, std::atoi(e)) * size_t{1024};
    return d;
  }();
  return b;
}

// A 1x1, stride-1, unpadded convolution reads x itself as its column matrix.
bool col_is_input(const Geometry& g) {
  return g.k == 1 && g.s == 1 && g.p == 0;
}

// t[j] += r[j * P + i] for i0 <= i < i1 and each plane j < mc: one chain of adds per plane, in
// order of i, kSumChains chains side by side.
constexpr int kSumChains = 8;
void add_plane_sums(float* t, const float* r, int mc, int P, int i0, int i1) {
  int j0 = 0;
  for (; j0 + kSumChains <= mc; j0 += kSumChains) {
    float a[kSumChains];
    for (int j = 0; j < kSumChains; ++j) a[j] = t[j0 + j];
    const float* q = r + static_cast<size_t>(j0) * P;
    for (int i = i0; i < i1; ++i)
      for (int j = 0; j < kSumChains; ++j) a[j] += q[static_cast<size_t>(j) * P + i];
    for (int j = 0; j < kSumChains; ++j) t[j0 + j] = a[j];
  }
  for (int j = j0; j < mc; ++j)
    for (int i = i0; i < i1; ++i) t[j] += r[static_cast<size_t>(j) * P + i];
}

// db[m] = the sum over images (in double) of each image's float sum of dy's plane m, taken in
// order. That order fixes the bits, and each float sum is a chain of dependent adds (4 cycles each:
// 15 ms a step on conv1's 110x110 planes); the fast path runs 8 planes' chains side by side, so the
// adds overlap, each chain unchanged.
void bias_grad(float* DB, const float* DY, int64_t N, int M, int P, size_t ys) {
  if (reference_kernels()) {
#pragma omp parallel for schedule(static)
    for (int m = 0; m < M; ++m) {
      double s = 0.0;
      for (int64_t n = 0; n < N; ++n) {
        const float* r = DY + n * ys + static_cast<size_t>(m) * P;
        float t = 0.f;
        for (int i = 0; i < P; ++i) t += r[i];
        s += t;
      }
      DB[m] = static_cast<float>(s);
    }
    return;
  }
  constexpr int G = kSumChains;
  const int groups = (M + G - 1) / G;
#pragma omp parallel for schedule(static)
  for (int gi = 0; gi < groups; ++gi) {
    const int m0 = gi * G, mc = std::min(G, M - m0);
    double s[G] = {};
    for (int64_t n = 0; n < N; ++n) {
      float t[G] = {};
      add_plane_sums(t, DY + n * ys + static_cast<size_t>(m0) * P, mc, P, 0, P);
      for (int j = 0; j < mc; ++j) s[j] += t[j];
    }
    for (int j = 0; j < mc; ++j) DB[m0 + j] = static_cast<float>(s[j]);
  }
}

}  // namespace

ConvBands conv_bands() {
  return bands();
}

void set_conv_bands(const ConvBands& b) {
  bands() = b;
}

void conv_forward(Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b,
                  const ConvParams& p) {
  const Geometry g = geometry(x, y, static_cast<int>(w.dim(0)), p);
  const int64_t N = x.n();
  const size_t xs = static_cast<size_t>(g.C) * g.H * g.W, ys = static_cast<size_t>(g.M) * g.P();
  const float *X = x.f32(), *Wt = w.f32(), *B = b.f32();
  float* Y = y.f32();
  const bool batched = !context(Device::CPU).batch_invariant;
  if (!reference_kernels() && winograd::applies(g.k, g.s, g.p, g.OH, g.OW, batched))
    return winograd::conv3x3(Y, X, Wt, false, B, static_cast<int>(N), g.C, g.H, g.W, g.M, g.p,
                             batched);
  if (!reference_kernels() && winograd::applies5x5(g.k, g.s, g.p, g.OH, g.OW, batched))
    return winograd::conv5x5(Y, X, Wt, false, B, static_cast<int>(N), g.C, g.H, g.W, g.M, g.p,
                             batched);
  if (!reference_kernels() && winograd::applies_5x5_stride2(g.k, g.s, g.OH, g.OW, batched))
    return winograd::conv5x5_stride2(Y, X, Wt, B, static_cast<int>(N), g.C, g.H, g.W, g.M, g.p,
                                     g.OH, g.OW, batched);
  auto one = [&](int64_t n) {
    float* yn = Y + n * ys;
    for (int m = 0; m < g.M; ++m)
      std::fill(yn + static_cast<size_t>(m) * g.P(), yn + (m + 1) * static_cast<size_t>(g.P()),
                B[m]);
    if (col_is_input(g)) {
      sgemm(false, false, g.M, g.P(), g.K(), 1.f, Wt, g.K(), X + n * xs, g.P(), 1.f, yn, g.P());
      return;
    }
    for_each_band(X + n * xs, g, [&](const float* c, int oh0, int cols) {
      sgemm(false, false, g.M, cols, g.K(), 1.f, Wt, g.K(), c, cols, 1.f,
            yn + static_cast<size_t>(oh0) * g.OW, g.P());
    });
  };
  for_each_image(N, one);
}

void conv_backward_data(Tensor& dx, const Tensor& dy, const Tensor& w, const ConvParams& p) {
  const Geometry g = geometry(dx, dy, static_cast<int>(w.dim(0)), p);
  const int64_t N = dx.n();
  const size_t xs = static_cast<size_t>(g.C) * g.H * g.W, ys = static_cast<size_t>(g.M) * g.P();
  const float *DY = dy.f32(), *Wt = w.f32();
  float* DX = dx.f32();
  // The input gradient of a 3x3, stride-1 convolution with padding p is the convolution of dy by
  // the filters transposed and turned, with padding 2 - p.
  const bool batched = !context(Device::CPU).batch_invariant;
  if (!reference_kernels() && winograd::applies(g.k, g.s, 2 - g.p, g.H, g.W, batched))
    return winograd::conv3x3(DX, DY, Wt, true, nullptr, static_cast<int>(N), g.M, g.OH, g.OW, g.C,
                             2 - g.p, batched);
  if (!reference_kernels() && winograd::applies5x5(g.k, g.s, 4 - g.p, g.H, g.W, batched))
    return winograd::conv5x5(DX, DY, Wt, true, nullptr, static_cast<int>(N), g.M, g.OH, g.OW, g.C,
                             4 - g.p, batched);
  if (!reference_kernels() && winograd::applies_5x5_stride2(g.k, g.s, g.OH, g.OW, batched))
    return winograd::conv5x5_stride2_backward_data(DX, DY, Wt, static_cast<int>(N), g.C, g.H, g.W,
                                                   g.M, g.p, g.OH, g.OW, batched);
  auto one = [&](int64_t n) {
    float* dxn = DX + n * xs;
    if (col_is_input(g)) {
      sgemm(true, false, g.K(), g.P(), g.M, 1.f, Wt, g.K(), DY + n * ys, g.P(), 0.f, dxn, g.P());
      return;
    }
    float* pad = zero_padded_planes(g);
    const int band = band_rows(g);
    float* c = scratch(static_cast<size_t>(g.K()) * band * g.OW);
    for (int oh0 = 0; oh0 < g.OH; oh0 += band) {
      const int oh1 = std::min(g.OH, oh0 + band), cols = (oh1 - oh0) * g.OW;
      sgemm(true, false, g.K(), cols, g.M, 1.f, Wt, g.K(),
            DY + n * ys + static_cast<size_t>(oh0) * g.OW, g.P(), 0.f, c, cols);
      col2im_band(pad, c, g, oh0, oh1);
    }
    unpad_planes(dxn, pad, g);
  };
  for_each_image(N, one);
}

void conv_backward_weight(Tensor& dw, Tensor& db, const Tensor& dy, const Tensor& x,
                          const ConvParams& p) {
  const Geometry g = geometry(x, dy, static_cast<int>(dy.c()), p);
  const int64_t N = x.n();
  const size_t xs = static_cast<size_t>(g.C) * g.H * g.W, ys = static_cast<size_t>(g.M) * g.P();
  const size_t wsize = static_cast<size_t>(g.M) * g.K();
  const float *DY = dy.f32(), *X = x.f32();
  float *DW = dw.f32(), *DB = db.f32();
  const bool batched = !context(Device::CPU).batch_invariant;
  if (!reference_kernels() && winograd::applies(g.k, g.s, g.p, g.OH, g.OW, batched)) {
    winograd::conv3x3_weight_grad(DW, DY, X, static_cast<int>(N), g.C, g.H, g.W, g.M, g.p, batched);
    return bias_grad(DB, DY, N, g.M, g.P(), ys);
  }
  if (!reference_kernels() && winograd::applies_5x5_stride2(g.k, g.s, g.OH, g.OW, batched)) {
    winograd::conv5x5_stride2_weight_grad(DW, DY, X, static_cast<int>(N), g.C, g.H, g.W, g.M, g.p,
                                          g.OH, g.OW, batched);
    return bias_grad(DB, DY, N, g.M, g.P(), ys);
  }

  // The fast path (fast): each band's product transposed, dW^T (K x M) += col (K x cols) * dy^T,
  // summed over threads as dW would be, dW turned once at the end: OpenBLAS runs the product that
  // way ~6% faster on ZFNet's conv1 (K = 147, M = 96: backward 35.4 -> 33.4 ms at batch 16), no
  // slower on Fashion-MNIST's conv1 and conv2 (another order of the sums: other bits). And each
  // image's bias sums follow its bands while dy's band is still in the caches from the product,
  // instead of a second pass over dy (conv1: 4.6 MB an image; ~1 ms of its backward at batch 16),
  // in the same chains of adds as bias_grad's, so the same bits.
  const bool fast = !reference_kernels() && !col_is_input(g);
  std::vector<float> sums(fast ? static_cast<size_t>(N) * g.M : 0);  // [n][m]

  // dW (or dW^T) accumulates into `acc` over images; beta = 0 on an accumulator's first image.
  auto accumulate = [&](int64_t n, float* acc, bool first) {
    if (col_is_input(g)) {
      sgemm(false, true, g.M, g.K(), g.P(), 1.f, DY + n * ys, g.P(), X + n * xs, g.P(),
            first ? 0.f : 1.f, acc, g.K());
      return;
    }
    for_each_band(X + n * xs, g, [&](const float* c, int oh0, int cols) {
      const float* dyb = DY + n * ys + static_cast<size_t>(oh0) * g.OW;
      const float beta = first && oh0 == 0 ? 0.f : 1.f;
      if (!fast) {
        sgemm(false, true, g.M, g.K(), cols, 1.f, dyb, g.P(), c, cols, beta, acc, g.K());
        return;
      }
      sgemm(false, true, g.K(), g.M, cols, 1.f, c, cols, dyb, g.P(), beta, acc, g.M);
      add_plane_sums(sums.data() + n * g.M, DY + n * ys, g.M, g.P(), oh0 * g.OW, oh0 * g.OW + cols);
    });
  };

  sum_over_threads(DW, wsize, N, 1, [&](float* acc, int64_t lo, int64_t hi) {
    if (lo == hi) std::memset(acc, 0, sizeof(float) * wsize);
    for (int64_t n = lo; n < hi; ++n) accumulate(n, acc, n == lo);
  });

  if (!fast) return bias_grad(DB, DY, N, g.M, g.P(), ys);
  const std::vector<float> t(DW, DW + wsize);  // [k][m]
  for (int m = 0; m < g.M; ++m)
    for (int k = 0; k < g.K(); ++k)
      DW[static_cast<size_t>(m) * g.K() + k] = t[static_cast<size_t>(k) * g.M + m];
  for (int m = 0; m < g.M; ++m) {
    double s = 0.0;
    for (int64_t n = 0; n < N; ++n) s += sums[n * g.M + m];
    DB[m] = static_cast<float>(s);
  }
}

}  // namespace zf::cpu
