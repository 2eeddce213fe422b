// Winograd F(2x2, 3x3) (Lavin & Gray, 2015): the output in 2x2 tiles, each from a 4x4 tile d of
// the input; per channel pair, the tile's four outputs are A^T [(G g G^T) . (B^T d B)] A with
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
//   A^T = [1 1 1 0; 0 1 -1 -1],
// and the sum over input channels moves inside: for each of the 16 positions xi of the
// transformed tile, M[xi] (O x tiles) = U[xi] (O x I) * V[xi] (I x tiles), one sgemm each, with
// U = G g G^T the filters' transforms and V = B^T d B the input tiles'. 2.25x fewer multiply-adds
// than the direct sum (tiles past an odd edge add some back: 13x13 outputs take 7x7 tiles).
//
// One image per product, as in the im2col path: OpenBLAS picks its kernel (and with it the order
// of a sum) by the product's size, so products over several images would make an image's result
// depend on the batch around it, and the deconvnet's projections of a batch must equal those made
// one image at a time. (Products over 5 images were no faster on ZFNet's 13x13 planes.)
//
// The transforms run sixteen tiles side by side: a plane is first split into its even and odd
// columns (zero-padded), so that the 4x4 tiles along a row of tiles read contiguous values.
#include "core/cpu/winograd.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "core/cpu/blas.h"
#include "core/cpu/cpu_ops.h"
#include "core/cpu/thread_sum.h"
#include "core/cpu/workspace.h"

namespace zf::cpu::winograd {

namespace {

// U[(xi * O + o) * I + i] = (G g G^T)[xi] for the filter g from input channel i to output o.
void transform_filters(float* U, const float* w, bool transposed, int I, int O) {
#pragma omp parallel for schedule(static)
  for (int o = 0; o < O; ++o)
    for (int i = 0; i < I; ++i) {
      float g[3][3];
      for (int kh = 0; kh < 3; ++kh)
        for (int kw = 0; kw < 3; ++kw)
          g[kh][kw] = transposed ? w[(static_cast<size_t>(i) * O + o) * 9 + (2 - kh) * 3 + (2 - kw)]
                                 : w[(static_cast<size_t>(o) * I + i) * 9 + kh * 3 + kw];
      float t[4][3];  // G g
      for (int c = 0; c < 3; ++c) {
        t[0][c] = g[0][c];
        t[1][c] = 0.5f * (g[0][c] + g[1][c] + g[2][c]);
        t[2][c] = 0.5f * (g[0][c] - g[1][c] + g[2][c]);
        t[3][c] = g[2][c];
      }
      for (int r = 0; r < 4; ++r) {  // (G g) G^T
        const float u[4] = {t[r][0], 0.5f * (t[r][0] + t[r][1] + t[r][2]),
                            0.5f * (t[r][0] - t[r][1] + t[r][2]), t[r][2]};
        for (int c = 0; c < 4; ++c) U[((r * 4 + c) * static_cast<size_t>(O) + o) * I + i] = u[c];
      }
    }
}

struct Dims {
  int I, H, W, O, p, OH, OW, th, tw;  // th x tw tiles of 2x2 outputs
  int tiles() const { return th * tw; }
};

// V[(xi * I + i) * T + t0 + t] = (B^T d B)[xi] for each input channel i of one image and each of
// its tiles t = ti * tw + tj (T: the columns of V, t0: the image's first).
void transform_inputs(float* V, const float* x, const Dims& d, int T, int t0) {
  const int cw = d.tw + 1, rows = 2 * d.th + 2;
  const size_t xi_stride = static_cast<size_t>(d.I) * T;
  float* even = scratch(static_cast<size_t>(2) * rows * cw, 2);  // padded plane: even columns
  float* odd = even + static_cast<size_t>(rows) * cw;            // then odd columns
  for (int i = 0; i < d.I; ++i) {
    const float* plane = x + static_cast<size_t>(i) * d.H * d.W;
    for (int r = 0; r < rows; ++r) {
      const int ih = r - d.p;
      float* e = even + static_cast<size_t>(r) * cw;
      float* o = odd + static_cast<size_t>(r) * cw;
      if (ih < 0 || ih >= d.H) {
        std::fill(e, e + cw, 0.f);
        std::fill(o, o + cw, 0.f);
        continue;
      }
      const float* src = plane + static_cast<size_t>(ih) * d.W;
      for (int j = 0; j < cw; ++j) {
        const int a = 2 * j - d.p, b = a + 1;
        e[j] = a >= 0 && a < d.W ? src[a] : 0.f;
        o[j] = b >= 0 && b < d.W ? src[b] : 0.f;
      }
    }
    float* out = V + static_cast<size_t>(i) * T + t0;
    for (int ti = 0; ti < d.th; ++ti) {
      const float *e0 = even + static_cast<size_t>(2 * ti) * cw, *o0 = odd + (e0 - even);
      const float *e1 = e0 + cw, *o1 = o0 + cw, *e2 = e1 + cw, *o2 = o1 + cw;
      const float *e3 = e2 + cw, *o3 = o2 + cw;
      float* row = out + static_cast<size_t>(ti) * d.tw;
#pragma omp simd
      for (int tj = 0; tj < d.tw; ++tj) {
        // B^T d: the rows of the tile combined, column by column
        float b[4][4];
        const float c0[4] = {e0[tj], o0[tj], e0[tj + 1], o0[tj + 1]};
        const float c1[4] = {e1[tj], o1[tj], e1[tj + 1], o1[tj + 1]};
        const float c2[4] = {e2[tj], o2[tj], e2[tj + 1], o2[tj + 1]};
        const float c3[4] = {e3[tj], o3[tj], e3[tj + 1], o3[tj + 1]};
        for (int s = 0; s < 4; ++s) {
          b[0][s] = c0[s] - c2[s];
          b[1][s] = c1[s] + c2[s];
          b[2][s] = c2[s] - c1[s];
          b[3][s] = c1[s] - c3[s];
        }
        for (int r = 0; r < 4; ++r) {  // (B^T d) B
          row[(4 * r + 0) * xi_stride + tj] = b[r][0] - b[r][2];
          row[(4 * r + 1) * xi_stride + tj] = b[r][1] + b[r][2];
          row[(4 * r + 2) * xi_stride + tj] = b[r][2] - b[r][1];
          row[(4 * r + 3) * xi_stride + tj] = b[r][1] - b[r][3];
        }
      }
    }
  }
}

// y = A^T M A (+ bias) for each output channel and tile of one image, the tiles past the output's
// edge clipped.
void transform_outputs(float* y, const float* M, const float* bias, const Dims& d) {
  const int T = d.tiles();
  const size_t xi_stride = static_cast<size_t>(d.O) * T;
  float* rows = scratch(static_cast<size_t>(4) * d.tw, 2);  // two output rows, 2 tw wide
  for (int o = 0; o < d.O; ++o) {
    const float add = bias ? bias[o] : 0.f;
    float* plane = y + static_cast<size_t>(o) * d.OH * d.OW;
    const float* in = M + static_cast<size_t>(o) * T;
    for (int ti = 0; ti < d.th; ++ti) {
      const float* m = in + static_cast<size_t>(ti) * d.tw;
      float *r0 = rows, *r1 = rows + 2 * d.tw;
#pragma omp simd
      for (int tj = 0; tj < d.tw; ++tj) {
        float a[2][4];  // A^T M: the rows combined, column by column
        for (int s = 0; s < 4; ++s) {
          const float m0 = m[s * xi_stride + tj], m1 = m[(4 + s) * xi_stride + tj];
          const float m2 = m[(8 + s) * xi_stride + tj], m3 = m[(12 + s) * xi_stride + tj];
          a[0][s] = m0 + m1 + m2;
          a[1][s] = m1 - m2 - m3;
        }
        r0[2 * tj] = a[0][0] + a[0][1] + a[0][2] + add;
        r0[2 * tj + 1] = a[0][1] - a[0][2] - a[0][3] + add;
        r1[2 * tj] = a[1][0] + a[1][1] + a[1][2] + add;
        r1[2 * tj + 1] = a[1][1] - a[1][2] - a[1][3] + add;
      }
      const int oh = 2 * ti;
      std::memcpy(plane + static_cast<size_t>(oh) * d.OW, r0, sizeof(float) * d.OW);
      if (oh + 1 < d.OH)
        std::memcpy(plane + static_cast<size_t>(oh + 1) * d.OW, r1, sizeof(float) * d.OW);
    }
  }
}

// One image x into y.
void run_image(float* y, const float* x, const float* U, const float* bias, const Dims& d) {
  const int T = d.tiles();
  float* V = scratch(static_cast<size_t>(16) * d.I * T, 0);
  float* M = scratch(static_cast<size_t>(16) * d.O * T, 1);
  transform_inputs(V, x, d, T, 0);
  for (int xi = 0; xi < 16; ++xi)
    sgemm(false, false, d.O, T, d.I, 1.f, U + static_cast<size_t>(xi) * d.O * d.I, d.I,
          V + static_cast<size_t>(xi) * d.I * T, T, 0.f, M + static_cast<size_t>(xi) * d.O * T, T);
  transform_outputs(y, M, bias, d);
}

// The weight gradient by F(3x3, 2x2): the 3x3 correlation of each 4x4 input tile d with the 2x2
// tile g of dy at the same place is A'^T [(G' g G'^T) . (B^T d B)] A' with the forward's B^T and
//   G' = [1 0; 1/2 1/2; 1/2 -1/2; 0 -1],  A'^T = [1 1 1 0; 0 1 -1 0; 0 1 1 1]
// (Lavin & Gray's F(3, 2) with its B^T's last row and G's last row negated, so that the input
// tiles transform as the forward's do), and the sum over tiles moves inside: S[xi] (O x I) =
// sum over tiles of D[xi] (O x tiles) * V[xi]^T (tiles x I), dW = A'^T S A'.

// D[(xi * O + o) * T + t0 + t] = (G' g G'^T)[xi] for each channel o of one image's dy and each of
// its tiles t = ti * tw + tj; g is dy's 2x2 tile at (2 ti, 2 tj), zero past dy's edge.
void transform_grads(float* D, const float* dy, const Dims& d, int T, int t0) {
  const int cw = d.tw;
  const size_t xi_stride = static_cast<size_t>(d.O) * T;
  float* even = scratch(static_cast<size_t>(4) * cw, 2);  // rows 2 ti, 2 ti + 1: even, odd columns
  for (int o = 0; o < d.O; ++o) {
    const float* plane = dy + static_cast<size_t>(o) * d.OH * d.OW;
    float* out = D + static_cast<size_t>(o) * T + t0;
    for (int ti = 0; ti < d.th; ++ti) {
      for (int r = 0; r < 2; ++r) {
        float* e = even + static_cast<size_t>(2 * r) * cw;
        float* od = e + cw;
        const int oh = 2 * ti + r;
        for (int j = 0; j < cw; ++j) {
          const bool in = oh < d.OH;
          e[j] = in ? plane[static_cast<size_t>(oh) * d.OW + 2 * j] : 0.f;
          od[j] = in && 2 * j + 1 < d.OW ? plane[static_cast<size_t>(oh) * d.OW + 2 * j + 1] : 0.f;
        }
      }
      const float *e0 = even, *o0 = even + cw, *e1 = even + 2 * cw, *o1 = even + 3 * cw;
      float* row = out + static_cast<size_t>(ti) * d.tw;
#pragma omp simd
      for (int tj = 0; tj < d.tw; ++tj) {
        const float g[2][2] = {{e0[tj], o0[tj]}, {e1[tj], o1[tj]}};
        float t[4][2];  // G' g
        for (int c = 0; c < 2; ++c) {
          t[0][c] = g[0][c];
          t[1][c] = 0.5f * (g[0][c] + g[1][c]);
          t[2][c] = 0.5f * (g[0][c] - g[1][c]);
          t[3][c] = -g[1][c];
        }
        for (int r = 0; r < 4; ++r) {  // (G' g) G'^T
          row[(4 * r + 0) * xi_stride + tj] = t[r][0];
          row[(4 * r + 1) * xi_stride + tj] = 0.5f * (t[r][0] + t[r][1]);
          row[(4 * r + 2) * xi_stride + tj] = 0.5f * (t[r][0] - t[r][1]);
          row[(4 * r + 3) * xi_stride + tj] = -t[r][1];
        }
      }
    }
  }
}

// dw[o][i] = A'^T S[.][o][i] A' (3x3) for every filter.
void transform_weight_grads(float* dw, const float* S, int I, int O) {
  const size_t xi_stride = static_cast<size_t>(O) * I;
#pragma omp simd
  for (size_t oi = 0; oi < xi_stride; ++oi) {
    float a[3][4];  // A'^T S: the rows combined, column by column
    for (int c = 0; c < 4; ++c) {
      const float s0 = S[c * xi_stride + oi], s1 = S[(4 + c) * xi_stride + oi];
      const float s2 = S[(8 + c) * xi_stride + oi], s3 = S[(12 + c) * xi_stride + oi];
      a[0][c] = s0 + s1 + s2;
      a[1][c] = s1 - s2;
      a[2][c] = s1 + s2 + s3;
    }
    float* w = dw + oi * 9;
    for (int r = 0; r < 3; ++r) {
      w[3 * r + 0] = a[r][0] + a[r][1] + a[r][2];
      w[3 * r + 1] = a[r][1] - a[r][2];
      w[3 * r + 2] = a[r][1] + a[r][2] + a[r][3];
    }
  }
}

// Images per product of the weight gradient: the products' reduction runs over the tiles of this
// many images (ZFNet's conv3..5 backward at batch 16: 2 images 44 / 65 / 43 ms, 4 images 49 / 69 /
// 47, 8 images 55 / 77 / 53: the operands of fewer images stay in the caches).
constexpr int kGradImages = 2;

// dw = the weight gradient of images lo .. hi (zero if none), S accumulated over chunks of
// kGradImages images.
void weight_grad_range(float* dw, const float* dy, const float* x, const Dims& d, int lo, int hi) {
  const size_t xs = static_cast<size_t>(d.I) * d.H * d.W;
  const size_t ys = static_cast<size_t>(d.O) * d.OH * d.OW;
  const size_t OI = static_cast<size_t>(d.O) * d.I;
  if (lo == hi) {
    std::fill(dw, dw + OI * 9, 0.f);
    return;
  }
  const int T = std::min(kGradImages, hi - lo) * d.tiles();
  float* V = scratch(static_cast<size_t>(16) * d.I * T, 0);
  float* D = scratch(static_cast<size_t>(16) * d.O * T, 1);
  float* S = scratch(16 * OI, 4);
  for (int n0 = lo; n0 < hi; n0 += kGradImages) {
    const int count = std::min(kGradImages, hi - n0), Tc = count * d.tiles();
    for (int n = 0; n < count; ++n) {
      transform_inputs(V, x + (n0 + n) * xs, d, T, n * d.tiles());
      transform_grads(D, dy + (n0 + n) * ys, d, T, n * d.tiles());
    }
    for (int xi = 0; xi < 16; ++xi)
      sgemm(false, true, d.O, d.I, Tc, 1.f, D + static_cast<size_t>(xi) * d.O * T, T,
            V + static_cast<size_t>(xi) * d.I * T, T, n0 == lo ? 0.f : 1.f, S + xi * OI, d.I);
  }
  transform_weight_grads(dw, S, d.I, d.O);
}

}  // namespace

namespace {
int g_min_tiles = 32;
}  // namespace

int min_tiles() {
  return g_min_tiles;
}

void set_min_tiles(int tiles) {
  g_min_tiles = tiles;
}

bool applies(int k, int s, int p, int out_h, int out_w) {
  return k == 3 && s == 1 && p >= 0 && p <= 2 &&
         static_cast<int64_t>((out_h + 1) / 2) * ((out_w + 1) / 2) >= g_min_tiles;
}

void conv3x3(float* y, const float* x, const float* w, bool transposed, const float* bias, int N,
             int I, int H, int W, int O, int p) {
  Dims d{I, H, W, O, p, H + 2 * p - 2, W + 2 * p - 2, 0, 0};
  d.th = (d.OH + 1) / 2;
  d.tw = (d.OW + 1) / 2;
  float* U = scratch(static_cast<size_t>(16) * O * I, 3);
  transform_filters(U, w, transposed, I, O);
  const size_t xs = static_cast<size_t>(I) * H * W, ys = static_cast<size_t>(O) * d.OH * d.OW;
  for_each_image(N, [&](int64_t n) { run_image(y + n * ys, x + n * xs, U, bias, d); });
}

void conv3x3_weight_grad(float* dw, const float* dy, const float* x, int N, int I, int H, int W,
                         int O, int p) {
  Dims d{I, H, W, O, p, H + 2 * p - 2, W + 2 * p - 2, 0, 0};
  d.th = (d.OH + 1) / 2;
  d.tw = (d.OW + 1) / 2;
  const size_t wsize = static_cast<size_t>(O) * I * 9;
  sum_over_threads(dw, wsize, N, 3, [&](float* acc, int64_t lo, int64_t hi) {
    weight_grad_range(acc, dy, x, d, static_cast<int>(lo), static_cast<int>(hi));
  });
}

}  // namespace zf::cpu::winograd
