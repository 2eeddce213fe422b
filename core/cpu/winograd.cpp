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
// one image at a time. (Products over 5 images were no faster on ZFNet's 13x13 planes.) Where the
// caller allows an image's bits to depend on its batch (Context::batch_invariant false: training),
// planes under min_tiles() tiles take several images a product instead.
//
// The transforms run sixteen tiles side by side: a plane is first split into its even and odd
// columns (zero-padded), and each tap of every tile gathered into a row of its own, so that the
// transform reads contiguous values over all tiles of the plane.
#include "core/cpu/winograd.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "core/cpu/blas.h"
#include "core/cpu/cpu_ops.h"
#include "core/cpu/thread_sum.h"
#include "core/cpu/vec16.h"
#include "core/cpu/workspace.h"

namespace zf::cpu::winograd {

namespace {

int g_min_tiles = 32;
bool g_f4x4 = std::getenv("ZF_WINOGRAD_F2") == nullptr;  // tiles_4x4()

// U[(xi * O + o) * I + i] = (G g G^T)[xi] for the filter g from input channel i to output o (the
// filter turned for the input gradient: kTransposed). For each o, the taps of its I filters are
// first copied into nine rows, so that the transform runs over sixteen input channels at a time
// with contiguous loads and stores along U's rows (one filter at a time, with each filter's taps
// gathered, it took 3% of ZFNet's training step).
template <bool kTransposed>
void transform_filters_as(float* U, const float* w, int I, int O) {
  const size_t OI = static_cast<size_t>(O) * I;
#pragma omp parallel for schedule(static)
  for (int o = 0; o < O; ++o) {
    float* taps = scratch(static_cast<size_t>(9) * I, 2);  // taps[(3 kh + kw) I + i]
    for (int i = 0; i < I; ++i) {
      const float* f =
          w + (kTransposed ? static_cast<size_t>(i) * O + o : static_cast<size_t>(o) * I + i) * 9;
      for (int k = 0; k < 9; ++k) taps[static_cast<size_t>(k) * I + i] = f[kTransposed ? 8 - k : k];
    }
    float* u = U + static_cast<size_t>(o) * I;
#pragma omp simd
    for (int i = 0; i < I; ++i) {
      float g[3][3];
      for (int kh = 0; kh < 3; ++kh)
        for (int kw = 0; kw < 3; ++kw) g[kh][kw] = taps[static_cast<size_t>(3 * kh + kw) * I + i];
      float t[4][3];  // G g
      for (int c = 0; c < 3; ++c) {
        t[0][c] = g[0][c];
        t[1][c] = 0.5f * (g[0][c] + g[1][c] + g[2][c]);
        t[2][c] = 0.5f * (g[0][c] - g[1][c] + g[2][c]);
        t[3][c] = g[2][c];
      }
      for (int r = 0; r < 4; ++r) {  // (G g) G^T
        u[(r * 4 + 0) * OI + i] = t[r][0];
        u[(r * 4 + 1) * OI + i] = 0.5f * (t[r][0] + t[r][1] + t[r][2]);
        u[(r * 4 + 2) * OI + i] = 0.5f * (t[r][0] - t[r][1] + t[r][2]);
        u[(r * 4 + 3) * OI + i] = t[r][2];
      }
    }
  }
}

void transform_filters(float* U, const float* w, bool transposed, int I, int O) {
  transposed ? transform_filters_as<true>(U, w, I, O) : transform_filters_as<false>(U, w, I, O);
}

struct Dims {
  int I, H, W, O, p, OH, OW, th, tw;  // th x tw tiles of 2x2 outputs
  int tiles() const { return th * tw; }
};

// The dimensions of a k x k, stride-1 convolution with padding p, in m x m output tiles.
Dims dims(int I, int H, int W, int O, int p, int k, int m = 2) {
  Dims d{I, H, W, O, p, H + 2 * p - k + 1, W + 2 * p - k + 1, 0, 0};
  d.th = (d.OH + m - 1) / m;
  d.tw = (d.OW + m - 1) / m;
  return d;
}

// Where a 3x3 tiling's filter transforms are known to be zero, the channels each position xi of the
// transformed tile needs: at[xi] = channels lo .. lo + n, of the products' inputs (the forward's
// and the weight gradient's: U[xi]'s columns, S[xi]'s) or of their outputs (`outputs`: the input
// gradient's, U[xi]'s rows), U[xi] being zero past them. The products then skip the zeros (ZFNet's
// conv2 as polyphase planes: s2::spans). A null Spans: every channel.
struct Span {
  int lo, n;
};
struct Spans {
  Span at[36];
  bool outputs;
};

// One input plane, zero-padded by d.p, split into its even and odd columns: even[r * cw + j] =
// plane[r - p][2 j - p], odd[r * cw + j] = plane[r - p][2 j + 1 - p], zero outside the plane.
void split_plane(float* even, float* odd, const float* plane, const Dims& d, int rows, int cw) {
  for (int r = 0; r < rows; ++r) {
    const int ih = r - d.p;
    float* e = even + static_cast<size_t>(r) * cw;
    float* o = odd + static_cast<size_t>(r) * cw;
    std::fill(e, e + cw, 0.f);
    std::fill(o, o + cw, 0.f);
    if (ih < 0 || ih >= d.H) continue;
    const float* src = plane + static_cast<size_t>(ih) * d.W;
    for (int q = 0; q < 2; ++q) {
      const int first = (d.p - q + 1) / 2;  // the first j with 2 j + q - p >= 0
      const int span = d.W - 1 + d.p - q;   // and the last with 2 j + q - p < W
      const int last = span < 0 ? -1 : std::min(cw - 1, span / 2);
      const int a = 2 * first + q - d.p;
      if (last >= first) gather_stride2((q ? o : e) + first, src + a, last - first + 1, d.W - a);
    }
  }
}

// The output plane from R[2 a + b][t], the output at (2 ti + a, 2 tj + b) of tile t = ti * tw + tj,
// the tiles past the output's edge clipped.
void place_outputs(float* plane, const float* R, const Dims& d) {
  const int P = d.tiles();
  for (int oh = 0; oh < d.OH; ++oh) {
    const float* r0 =
        R + static_cast<size_t>(2 * (oh % 2)) * P + static_cast<size_t>(oh / 2) * d.tw;
    const float* r1 = r0 + P;
    float* row = plane + static_cast<size_t>(oh) * d.OW;
    for (int ow = 0; ow + 1 < d.OW; ow += 2) {
      row[ow] = r0[ow / 2];
      row[ow + 1] = r1[ow / 2];
    }
    if (d.OW % 2) row[d.OW - 1] = r0[d.tw - 1];
  }
}

// V[(xi * I + i) * T + t0 + t] = (B^T d B)[xi] for each input channel i of one image and each of
// its tiles t = ti * tw + tj (T: the columns of V, t0: the image's first). The taps of all the
// plane's tiles are gathered first (X[4 r + c][t] = d_t[r][c]: rows of the even and odd columns
// copied whole), so that the transform runs over all of them at once, 16 tiles a vector step,
// however narrow the plane (13x13 outputs: 7 tiles a row).
void transform_inputs(float* V, const float* x, const Dims& d, int T, int t0) {
  const int cw = d.tw + 1, rows = 2 * d.th + 2, P = d.tiles();
  const size_t xi_stride = static_cast<size_t>(d.I) * T;
  float* even = scratch(static_cast<size_t>(2) * rows * cw + static_cast<size_t>(16) * P, 2);
  float* odd = even + static_cast<size_t>(rows) * cw;  // padded plane: even, then odd columns
  float* X = odd + static_cast<size_t>(rows) * cw;
  for (int i = 0; i < d.I; ++i) {
    split_plane(even, odd, x + static_cast<size_t>(i) * d.H * d.W, d, rows, cw);
    for (int ti = 0; ti < d.th; ++ti)
      for (int r = 0; r < 4; ++r) {
        const float* e = even + static_cast<size_t>(2 * ti + r) * cw;
        const float* o = odd + (e - even);
        float* t = X + static_cast<size_t>(4 * r) * P + static_cast<size_t>(ti) * d.tw;
        std::memcpy(t, e, sizeof(float) * d.tw);
        std::memcpy(t + P, o, sizeof(float) * d.tw);
        std::memcpy(t + 2 * P, e + 1, sizeof(float) * d.tw);
        std::memcpy(t + 3 * P, o + 1, sizeof(float) * d.tw);
      }
    float* out = V + static_cast<size_t>(i) * T + t0;
#pragma omp simd
    for (int t = 0; t < P; ++t) {
      float b[4][4];  // B^T d: the rows of the tile combined, column by column
      for (int c = 0; c < 4; ++c) {
        const float d0 = X[c * P + t], d1 = X[(4 + c) * P + t];
        const float d2 = X[(8 + c) * P + t], d3 = X[(12 + c) * P + t];
        b[0][c] = d0 - d2;
        b[1][c] = d1 + d2;
        b[2][c] = d2 - d1;
        b[3][c] = d1 - d3;
      }
      for (int r = 0; r < 4; ++r) {  // (B^T d) B
        out[(4 * r + 0) * xi_stride + t] = b[r][0] - b[r][2];
        out[(4 * r + 1) * xi_stride + t] = b[r][1] + b[r][2];
        out[(4 * r + 2) * xi_stride + t] = b[r][2] - b[r][1];
        out[(4 * r + 3) * xi_stride + t] = b[r][1] - b[r][3];
      }
    }
  }
}

// y = A^T M A (+ bias) for each output channel and tile of one image, whose tiles are the columns
// t0 .. t0 + tiles of M's T, the tiles past the output's edge clipped. All the plane's tiles at
// once into R[2 a + b][t] (the output at (2 ti + a, 2 tj + b)), then placed.
void transform_outputs(float* y, const float* M, const float* bias, const Dims& d, int T, int t0) {
  const int P = d.tiles();
  const size_t xi_stride = static_cast<size_t>(d.O) * T;
  float* R = scratch(static_cast<size_t>(4) * P, 2);
  for (int o = 0; o < d.O; ++o) {
    const float add = bias ? bias[o] : 0.f;
    float* plane = y + static_cast<size_t>(o) * d.OH * d.OW;
    const float* m = M + static_cast<size_t>(o) * T + t0;
#pragma omp simd
    for (int t = 0; t < P; ++t) {
      float a[2][4];  // A^T M: the rows combined, column by column
      for (int s = 0; s < 4; ++s) {
        const float m0 = m[s * xi_stride + t], m1 = m[(4 + s) * xi_stride + t];
        const float m2 = m[(8 + s) * xi_stride + t], m3 = m[(12 + s) * xi_stride + t];
        a[0][s] = m0 + m1 + m2;
        a[1][s] = m1 - m2 - m3;
      }
      R[t] = a[0][0] + a[0][1] + a[0][2] + add;
      R[P + t] = a[0][1] - a[0][2] - a[0][3] + add;
      R[2 * P + t] = a[1][0] + a[1][1] + a[1][2] + add;
      R[3 * P + t] = a[1][1] - a[1][2] - a[1][3] + add;
    }
    place_outputs(plane, R, d);
  }
}

// Images per product (forward and input gradient) when an image's bits may depend on its batch:
// planes of at least min_tiles() tiles keep one image a product, smaller ones take enough images
// for about kBatchColumns columns (Fashion-MNIST's conv3..5 at batch 64, forward + backward:
// 64 columns 22.9 ms, 128 22.6-23.1, 256 24.0).
constexpr int kBatchColumns = 128;

int images_per_product(const Dims& d, bool batched) {
  if (!batched || d.tiles() >= g_min_tiles) return 1;
  return (kBatchColumns + d.tiles() - 1) / d.tiles();
}

// The weight gradient by F(3x3, 2x2): the 3x3 correlation of each 4x4 input tile d with the 2x2
// tile g of dy at the same place is A'^T [(G' g G'^T) . (B^T d B)] A' with the forward's B^T and
//   G' = [1 0; 1/2 1/2; 1/2 -1/2; 0 -1],  A'^T = [1 1 1 0; 0 1 -1 0; 0 1 1 1]
// (Lavin & Gray's F(3, 2) with its B^T's last row and G's last row negated, so that the input
// tiles transform as the forward's do), and the sum over tiles moves inside: S[xi] (O x I) =
// sum over tiles of D[xi] (O x tiles) * V[xi]^T (tiles x I), dW = A'^T S A'.

// D[(xi * O + o) * T + t0 + t] = (G' g G'^T)[xi] for each channel o of one image's dy and each of
// its tiles t = ti * tw + tj; g is dy's 2x2 tile at (2 ti, 2 tj), zero past dy's edge. The taps of
// all the plane's tiles are gathered first (g[a][b] into Q[2 a + b][t]), then transformed at once.
void transform_grads(float* D, const float* dy, const Dims& d, int T, int t0) {
  const int P = d.tiles();
  const size_t xi_stride = static_cast<size_t>(d.O) * T;
  float* Q = scratch(static_cast<size_t>(4) * P, 2);
  for (int o = 0; o < d.O; ++o) {
    const float* plane = dy + static_cast<size_t>(o) * d.OH * d.OW;
    for (int ti = 0; ti < d.th; ++ti)
      for (int a = 0; a < 2; ++a) {
        const int oh = 2 * ti + a;
        float* q0 = Q + static_cast<size_t>(2 * a) * P + static_cast<size_t>(ti) * d.tw;
        float* q1 = q0 + P;
        if (oh >= d.OH) {
          std::fill(q0, q0 + d.tw, 0.f);
          std::fill(q1, q1 + d.tw, 0.f);
          continue;
        }
        const float* row = plane + static_cast<size_t>(oh) * d.OW;
        gather_stride2(q0, row, d.tw, d.OW);
        gather_stride2(q1, row + 1, d.OW / 2, d.OW - 1);
        if (d.OW % 2) q1[d.tw - 1] = 0.f;
      }
    float* out = D + static_cast<size_t>(o) * T + t0;
#pragma omp simd
    for (int t = 0; t < P; ++t) {
      const float g[2][2] = {{Q[t], Q[P + t]}, {Q[2 * P + t], Q[3 * P + t]}};
      float u[4][2];  // G' g
      for (int c = 0; c < 2; ++c) {
        u[0][c] = g[0][c];
        u[1][c] = 0.5f * (g[0][c] + g[1][c]);
        u[2][c] = 0.5f * (g[0][c] - g[1][c]);
        u[3][c] = -g[1][c];
      }
      for (int r = 0; r < 4; ++r) {  // (G' g) G'^T
        out[(4 * r + 0) * xi_stride + t] = u[r][0];
        out[(4 * r + 1) * xi_stride + t] = 0.5f * (u[r][0] + u[r][1]);
        out[(4 * r + 2) * xi_stride + t] = 0.5f * (u[r][0] - u[r][1]);
        out[(4 * r + 3) * xi_stride + t] = -u[r][1];
      }
    }
  }
}

// dw[o][i] = A'^T S[.][o][i] A' (3x3) for every filter: blocks of kFilters filters into nine rows
// (the transform over sixteen filters at a time, contiguous), then copied into dw's filters.
void transform_weight_grads(float* dw, const float* S, int I, int O) {
  constexpr size_t kFilters = 512;
  const size_t xi_stride = static_cast<size_t>(O) * I;
  float* rows = scratch(9 * kFilters, 2);  // rows[(3 r + c) kFilters + j]
  for (size_t oi0 = 0; oi0 < xi_stride; oi0 += kFilters) {
    const size_t count = std::min(kFilters, xi_stride - oi0);
    const float* s = S + oi0;
#pragma omp simd
    for (size_t j = 0; j < count; ++j) {
      float a[3][4];  // A'^T S: the rows combined, column by column
      for (int c = 0; c < 4; ++c) {
        const float s0 = s[c * xi_stride + j], s1 = s[(4 + c) * xi_stride + j];
        const float s2 = s[(8 + c) * xi_stride + j], s3 = s[(12 + c) * xi_stride + j];
        a[0][c] = s0 + s1 + s2;
        a[1][c] = s1 - s2;
        a[2][c] = s1 + s2 + s3;
      }
      for (int r = 0; r < 3; ++r) {
        rows[(3 * r + 0) * kFilters + j] = a[r][0] + a[r][1] + a[r][2];
        rows[(3 * r + 1) * kFilters + j] = a[r][1] - a[r][2];
        rows[(3 * r + 2) * kFilters + j] = a[r][1] + a[r][2] + a[r][3];
      }
    }
    float* w = dw + oi0 * 9;
    for (size_t j = 0; j < count; ++j)
      for (int k = 0; k < 9; ++k) w[j * 9 + k] = rows[k * kFilters + j];
  }
}

// Images per product of the weight gradient: the products' reduction runs over the tiles of this
// many images (ZFNet's conv3..5 backward at batch 16: 2 images 44 / 65 / 43 ms, 4 images 49 / 69 /
// 47, 8 images 55 / 77 / 53: the operands of fewer images stay in the caches).
// On planes under min_tiles() tiles, enough images for about kGradColumns tiles.
constexpr int kGradImages = 2, kGradColumns = 128;

int grad_images(const Dims& d) {
  if (d.tiles() >= g_min_tiles) return kGradImages;
  return std::max(kGradImages, (kGradColumns + d.tiles() - 1) / d.tiles());
}

// ---- 6x6 input tiles: F(2x2, 5x5) and F(4x4, 3x3) ----------------------------------------------
// The 5x5 stride-1 convolutions (Fashion-MNIST's conv2) and their input gradients take F(2x2, 5x5):
// 6x6 input tiles at stride 2, 36 products per group of images (2.78x fewer multiply-adds than the
// direct sum). The 3x3 stride-1 ones in training take F(4x4, 3x3): the same 6x6 tiles at stride 4,
// 36 multiplies per 4x4 outputs where F(2x2, 3x3) takes 64 (ZFNet's 13x13 planes: 16 tiles of
// 4x4 instead of 49 of 2x2, 576 multiplies per channel pair instead of 784). Both from Toom-Cook
// at the points 0, 1, -1, 2, -2 and infinity: the same B^T, and G and A^T of the filter's and the
// output tile's sides. The transforms are written as loops over these constant matrices,
// unrolled, so the zero entries drop out.
namespace t6 {

constexpr int kA = 6;  // tile side
constexpr float kBT[6][6] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
                             {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
constexpr float kG5[6][5] = {{1.f / 4, 0, 0, 0, 0},
                             {-1.f / 6, -1.f / 6, -1.f / 6, -1.f / 6, -1.f / 6},
                             {-1.f / 6, 1.f / 6, -1.f / 6, 1.f / 6, -1.f / 6},
                             {1.f / 24, 1.f / 12, 1.f / 6, 1.f / 3, 2.f / 3},
                             {1.f / 24, -1.f / 12, 1.f / 6, -1.f / 3, 2.f / 3},
                             {0, 0, 0, 0, 1}};
constexpr float kG3[6][3] = {{1.f / 4, 0, 0},
                             {-1.f / 6, -1.f / 6, -1.f / 6},
                             {-1.f / 6, 1.f / 6, -1.f / 6},
                             {1.f / 24, 1.f / 12, 1.f / 6},
                             {1.f / 24, -1.f / 12, 1.f / 6},
                             {0, 0, 1}};
constexpr float kAT2[2][6] = {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 1}};
constexpr float kAT4[4][6] = {
    {1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};

// G and A^T of the tiling with kM x kM output tiles (filters of 7 - kM).
template <int kM>
constexpr float G(int r, int k) {
  if constexpr (kM == 2)
    return kG5[r][k];
  else
    return kG3[r][k];
}
template <int kM>
constexpr float AT(int s, int j) {
  if constexpr (kM == 2)
    return kAT2[s][j];
  else
    return kAT4[s][j];
}

// Z = L X L^T for a constant kO x kI matrix L (l(r, j)), X (kI x kI) read through x(j, c), Z
// (kO x kO) handed to z(r, c, value): every transform of the 6x6 tilings, unrolled so that L's zero
// entries drop out.
template <int kO, int kI, class L, class X, class Z>
inline void sandwich(L l, X x, Z z) {
  float a[kO][kI];  // L X
#pragma GCC unroll 6
  for (int r = 0; r < kO; ++r)
#pragma GCC unroll 6
    for (int c = 0; c < kI; ++c) {
      float s = 0.f;
#pragma GCC unroll 6
      for (int j = 0; j < kI; ++j)
        if (l(r, j) != 0.f) s += l(r, j) * x(j, c);
      a[r][c] = s;
    }
#pragma GCC unroll 6
  for (int r = 0; r < kO; ++r)  // (L X) L^T
#pragma GCC unroll 6
    for (int c = 0; c < kO; ++c) {
      float s = 0.f;
#pragma GCC unroll 6
      for (int j = 0; j < kI; ++j)
        if (l(c, j) != 0.f) s += a[r][j] * l(c, j);
      z(r, c, s);
    }
}

// U[(xi * O + o) * I + i] = (G g G^T)[xi], g as transform_filters takes it (kR x kR): as there, the
// taps of an output channel's I filters first copied into rows, the transform then over sixteen
// input channels at a time (one filter at a time it took 13% of ZFNet's conv4 by F(4x4, 3x3)).
template <int kM>
void filters(float* U, const float* w, bool transposed, int I, int O) {
  constexpr int kR = 7 - kM, kRR = kR * kR;
  const size_t OI = static_cast<size_t>(O) * I;
#pragma omp parallel for schedule(static)
  for (int o = 0; o < O; ++o) {
    float* taps = scratch(static_cast<size_t>(kRR) * I, 2);  // taps[(kR kh + kw) I + i]
    for (int i = 0; i < I; ++i) {
      const float* f =
          w + (transposed ? static_cast<size_t>(i) * O + o : static_cast<size_t>(o) * I + i) * kRR;
      for (int k = 0; k < kRR; ++k)
        taps[static_cast<size_t>(k) * I + i] = f[transposed ? kRR - 1 - k : k];
    }
    float* u = U + static_cast<size_t>(o) * I;
#pragma omp simd
    for (int i = 0; i < I; ++i)
      sandwich<6, kR>([](int r, int k) { return G<kM>(r, k); },
                      [&](int k, int c) { return taps[static_cast<size_t>(kR * k + c) * I + i]; },
                      [&](int r, int c, float v) { u[(r * 6 + c) * OI + i] = v; });
  }
}

// out[(6 j + l) * xi_stride + t] = (B^T d B)[j][l] for the tiles t < P, tap(k, c, t) reading
// d_t[k][c].
template <class Tap>
inline void transform_tiles(float* out, size_t xi_stride, int P, Tap tap) {
#pragma omp simd
  for (int t = 0; t < P; ++t)
    sandwich<6, 6>([](int r, int k) { return kBT[r][k]; },
                   [&](int k, int c) { return tap(k, c, t); },
                   [&](int r, int c, float v) { out[(6 * r + c) * xi_stride + t] = v; });
}

// V[(xi * I + i) * T + t0 + t] = (B^T d B)[xi] for the 6x6 tiles d of one image's planes. Tiles at
// stride 2 as transform_inputs gathers 4x4 tiles; at stride 4 (a few tiles a plane: 16 on ZFNet's
// 13x13 outputs) read from a zero-padded copy of the plane through each tile's offset.
template <int kM>
void inputs(float* V, const float* x, const Dims& d, int T, int t0) {
  const int P = d.tiles();
  const size_t xi_stride = static_cast<size_t>(d.I) * T;
  if constexpr (kM == 2) {
    const int cw = d.tw + 2, rows = 2 * d.th + 4;
    float* even = scratch(static_cast<size_t>(2) * rows * cw + static_cast<size_t>(36) * P, 2);
    float* odd = even + static_cast<size_t>(rows) * cw;
    float* X = odd + static_cast<size_t>(rows) * cw;
    for (int i = 0; i < d.I; ++i) {
      split_plane(even, odd, x + static_cast<size_t>(i) * d.H * d.W, d, rows, cw);
      for (int ti = 0; ti < d.th; ++ti)
        for (int r = 0; r < kA; ++r) {
          const float* e = even + static_cast<size_t>(2 * ti + r) * cw;
          const float* o = odd + (e - even);
          float* t = X + static_cast<size_t>(kA * r) * P + static_cast<size_t>(ti) * d.tw;
          for (int c = 0; c < kA; ++c)
            std::memcpy(t + static_cast<size_t>(c) * P, (c % 2 ? o : e) + c / 2,
                        sizeof(float) * d.tw);
        }
      transform_tiles(V + static_cast<size_t>(i) * T + t0, xi_stride, P,
                      [X, P](int k, int c, int t) { return X[(kA * k + c) * P + t]; });
    }
  } else {
    const int pw = kM * d.tw + 6 - kM, ph = kM * d.th + 6 - kM;
    float* pad = scratch(static_cast<size_t>(ph) * pw + P, 2);
    int* off = reinterpret_cast<int*>(pad + static_cast<size_t>(ph) * pw);  // tile t's corner
    for (int t = 0; t < P; ++t) off[t] = kM * ((t / d.tw) * pw + t % d.tw);
    std::fill(pad, pad + static_cast<size_t>(ph) * pw, 0.f);
    const int w1 = std::min(d.W, pw - d.p);  // the columns of the plane a tile reads
    for (int i = 0; i < d.I; ++i) {
      const float* plane = x + static_cast<size_t>(i) * d.H * d.W;
      for (int r = 0; r < ph; ++r) {
        const int ih = r - d.p;
        if (ih >= 0 && ih < d.H)
          std::memcpy(pad + static_cast<size_t>(r) * pw + d.p,
                      plane + static_cast<size_t>(ih) * d.W, sizeof(float) * w1);
      }
      transform_tiles(V + static_cast<size_t>(i) * T + t0, xi_stride, P,
                      [pad, off, pw](int k, int c, int t) { return pad[off[t] + k * pw + c]; });
    }
  }
}

// y = A^T M A (+ bias) for one image's tiles (columns t0 .. t0 + tiles of M's T).
template <int kM>
void outputs(float* y, const float* M, const float* bias, const Dims& d, int T, int t0) {
  const int P = d.tiles();
  const size_t xi_stride = static_cast<size_t>(d.O) * T;
  float* R = scratch(static_cast<size_t>(kM * kM) * P, 2);
  for (int o = 0; o < d.O; ++o) {
    const float add = bias ? bias[o] : 0.f;
    const float* m = M + static_cast<size_t>(o) * T + t0;
#pragma omp simd
    for (int t = 0; t < P; ++t)
      sandwich<kM, 6>([](int r, int j) { return AT<kM>(r, j); },
                      [&](int j, int c) { return m[(6 * j + c) * xi_stride + t]; },
                      [&](int r, int c, float v) { R[(kM * r + c) * P + t] = v + add; });
    float* plane = y + static_cast<size_t>(o) * d.OH * d.OW;
    if constexpr (kM == 2) {
      place_outputs(plane, R, d);
    } else {  // R[kM a + b][t]: the output at (kM ti + a, kM tj + b), past the edge clipped
      for (int oh = 0; oh < d.OH; ++oh)
        for (int ow = 0; ow < d.OW; ++ow)
          plane[static_cast<size_t>(oh) * d.OW + ow] =
              R[static_cast<size_t>(kM * (oh % kM) + ow % kM) * P + (oh / kM) * d.tw + ow / kM];
    }
  }
}

// The weight gradient by 6x6 tiles (F(4x4, 3x3)'s adjoint): a 3x3 filter's gradient from the
// 4x4 tile g of dy and the 6x6 input tile d at the same place is G^T [(A g A^T) . (B^T d B)] G,
// with the forward's B^T (the inputs' transforms as there), A = (A^T)^T and G: the forward's sum
// over a tile, differentiated by the filter (exact as the forward is). Summed over tiles inside,
// as transform_grads and transform_weight_grads do for F(3x3, 2x2).

// D[(xi * O + o) * T + t0 + t] = (A g A^T)[xi] for each channel o of one image's dy and each of its
// tiles t: g is dy's kM x kM tile at (kM ti, kM tj), zero past dy's edge.
template <int kM>
void grads(float* D, const float* dy, const Dims& d, int T, int t0) {
  static_assert(kM == 4, "the weight gradient by 6x6 tiles is F(4x4, 3x3)'s");
  const int P = d.tiles();
  const size_t xi_stride = static_cast<size_t>(d.O) * T;
  float* Q = scratch(static_cast<size_t>(kM * kM) * P, 2);  // Q[kM a + b][t] = g_t[a][b]
  const bool clipped = d.OH % kM || d.OW % kM;
  if (clipped) std::fill(Q, Q + static_cast<size_t>(kM * kM) * P, 0.f);
  for (int o = 0; o < d.O; ++o) {
    const float* plane = dy + static_cast<size_t>(o) * d.OH * d.OW;
    for (int oh = 0; oh < d.OH; ++oh) {
      const float* row = plane + static_cast<size_t>(oh) * d.OW;
      float* q = Q + static_cast<size_t>(kM * (oh % kM)) * P + (oh / kM) * d.tw;
      for (int ow = 0; ow < d.OW; ++ow) q[static_cast<size_t>(ow % kM) * P + ow / kM] = row[ow];
    }
    float* out = D + static_cast<size_t>(o) * T + t0;
#pragma omp simd
    for (int t = 0; t < P; ++t)
      sandwich<6, kM>([](int j, int a) { return AT<kM>(a, j); },
                      [&](int a, int b) { return Q[(kM * a + b) * P + t]; },
                      [&](int j, int l, float v) { out[(6 * j + l) * xi_stride + t] = v; });
  }
}

// dw[o][i] = G^T S[.][o][i] G (kR x kR) for every filter: blocks of kFilters filters into rows
// (the transform over sixteen filters at a time, contiguous), then copied into dw's filters.
template <int kM>
void weight_grads(float* dw, const float* S, int I, int O) {
  constexpr int kR = 7 - kM, kRR = kR * kR;
  constexpr size_t kFilters = 512;
  const size_t xi_stride = static_cast<size_t>(O) * I;
  float* rows = scratch(kRR * kFilters, 2);  // rows[(kR u + v) kFilters + j]
  for (size_t oi0 = 0; oi0 < xi_stride; oi0 += kFilters) {
    const size_t count = std::min(kFilters, xi_stride - oi0);
    const float* s = S + oi0;
#pragma omp simd
    for (size_t j = 0; j < count; ++j)
      sandwich<kR, 6>([](int u, int r) { return G<kM>(r, u); },
                      [&](int r, int l) { return s[(6 * r + l) * xi_stride + j]; },
                      [&](int u, int v, float x) { rows[(kR * u + v) * kFilters + j] = x; });
    float* w = dw + oi0 * kRR;
    for (size_t j = 0; j < count; ++j)
      for (int k = 0; k < kRR; ++k) w[j * kRR + k] = rows[k * kFilters + j];
  }
}

}  // namespace t6

// The Winograd tilings, for the drivers below: taps per transformed tile, the filter side, the
// output tile's side, the input and output transforms, the images a product takes, and for the
// weight gradients the transforms of dy's tiles and the back-transform of the sums.
struct F2x2_3x3 {
  static constexpr int kTaps = 16, kK = 3, kM = 2;
  static void inputs(float* V, const float* x, const Dims& d, int T, int t0) {
    transform_inputs(V, x, d, T, t0);
  }
  static void outputs(float* y, const float* M, const float* bias, const Dims& d, int T, int t0) {
    transform_outputs(y, M, bias, d, T, t0);
  }
  static int images(const Dims& d, bool batched) { return images_per_product(d, batched); }
  static void grads(float* D, const float* dy, const Dims& d, int T, int t0) {
    transform_grads(D, dy, d, T, t0);
  }
  static void weight_grads(float* dw, const float* S, int I, int O) {
    transform_weight_grads(dw, S, I, O);
  }
};

// F(2x2, 5x5) (kM = 2) and F(4x4, 3x3) (kM = 4).
template <int kOut>
struct T6 {
  static constexpr int kTaps = 36, kK = 7 - kOut, kM = kOut;
  static void inputs(float* V, const float* x, const Dims& d, int T, int t0) {
    t6::inputs<kM>(V, x, d, T, t0);
  }
  static void outputs(float* y, const float* M, const float* bias, const Dims& d, int T, int t0) {
    t6::outputs<kM>(y, M, bias, d, T, t0);
  }
  static void grads(float* D, const float* dy, const Dims& d, int T, int t0) {
    t6::grads<kM>(D, dy, d, T, t0);
  }
  static void weight_grads(float* dw, const float* S, int I, int O) {
    t6::weight_grads<kM>(dw, S, I, O);
  }
  // Several images a product on planes of any size: one image's (I x O) by (I x tiles) products
  // are thin (Fashion-MNIST's conv2: 64 x 32 by 32 x 64; at batch 64, forward + backward: 1 image
  // a product 25.0 ms, 2 images 24.2, 8 images 27.3).
  static int images(const Dims& d, bool batched) {
    return batched ? (kBatchColumns + d.tiles() - 1) / d.tiles() : 1;
  }
};
using F2x2_5x5 = T6<2>;
using F4x4_3x3 = T6<4>;

// dw = the weight gradient of images lo .. hi (zero if none), S accumulated over chunks of
// kGradImages images; with spans, S[xi] only over its span of input channels (zero past it: the
// filter taps whose transforms are zero are dropped by the caller).
template <class F>
void weight_grad_range(float* dw, const float* dy, const float* x, const Dims& d, int lo, int hi,
                       const Spans* spans) {
  const size_t xs = static_cast<size_t>(d.I) * d.H * d.W;
  const size_t ys = static_cast<size_t>(d.O) * d.OH * d.OW;
  const size_t OI = static_cast<size_t>(d.O) * d.I;
  if (lo == hi) {
    std::fill(dw, dw + OI * 9, 0.f);
    return;
  }
  const int chunk = grad_images(d);
  const int T = std::min(chunk, hi - lo) * d.tiles();
  float* V = scratch(static_cast<size_t>(F::kTaps) * d.I * T, 0);
  float* D = scratch(static_cast<size_t>(F::kTaps) * d.O * T, 1);
  float* S = scratch(F::kTaps * OI, 4);
  for (int n0 = lo; n0 < hi; n0 += chunk) {
    const int count = std::min(chunk, hi - n0), Tc = count * d.tiles();
    for (int n = 0; n < count; ++n) {
      F::inputs(V, x + (n0 + n) * xs, d, T, n * d.tiles());
      F::grads(D, dy + (n0 + n) * ys, d, T, n * d.tiles());
    }
    for (int xi = 0; xi < F::kTaps; ++xi) {
      const Span s = spans ? spans->at[xi] : Span{0, d.I};
      float* sx = S + xi * OI;
      if (n0 == lo && s.n < d.I)  // the columns past the span stay zero
        for (int o = 0; o < d.O; ++o) {
          float* row = sx + static_cast<size_t>(o) * d.I;
          std::fill(row, row + s.lo, 0.f);
          std::fill(row + s.lo + s.n, row + d.I, 0.f);
        }
      sgemm(false, true, d.O, s.n, Tc, 1.f, D + static_cast<size_t>(xi) * d.O * T, T,
            V + (static_cast<size_t>(xi) * d.I + s.lo) * T, T, n0 == lo ? 0.f : 1.f, sx + s.lo,
            d.I);
    }
  }
  F::weight_grads(dw, S, d.I, d.O);
}

// M[xi] = U[xi] V[xi] for each position xi: O x T by I x T, over the span of channels when given
// (the output channels past it zero).
template <int kTaps>
void products(float* M, const float* U, const float* V, const Dims& d, int T, const Spans* spans) {
  static_assert(kTaps <= 36);
  for (int xi = 0; xi < kTaps; ++xi) {
    const float* u = U + static_cast<size_t>(xi) * d.O * d.I;
    const float* v = V + static_cast<size_t>(xi) * d.I * T;
    float* m = M + static_cast<size_t>(xi) * d.O * T;
    if (!spans) {
      sgemm(false, false, d.O, T, d.I, 1.f, u, d.I, v, T, 0.f, m, T);
    } else if (const Span s = spans->at[xi]; !spans->outputs) {
      sgemm(false, false, d.O, T, s.n, 1.f, u + s.lo, d.I, v + static_cast<size_t>(s.lo) * T, T,
            0.f, m, T);
    } else {
      std::fill(m, m + static_cast<size_t>(s.lo) * T, 0.f);
      std::fill(m + static_cast<size_t>(s.lo + s.n) * T, m + static_cast<size_t>(d.O) * T, 0.f);
      sgemm(false, false, s.n, T, d.I, 1.f, u + static_cast<size_t>(s.lo) * d.I, d.I, v, T, 0.f,
            m + static_cast<size_t>(s.lo) * T, T);
    }
  }
}

// `count` consecutive images x into y, their tiles side by side in one product per position xi.
template <class F>
void run_images(float* y, const float* x, const float* U, const float* bias, const Dims& d,
                int count, const Spans* spans) {
  const int T = count * d.tiles();
  const size_t xs = static_cast<size_t>(d.I) * d.H * d.W;
  const size_t ys = static_cast<size_t>(d.O) * d.OH * d.OW;
  float* V = scratch(static_cast<size_t>(F::kTaps) * d.I * T, 0);
  float* M = scratch(static_cast<size_t>(F::kTaps) * d.O * T, 1);
  for (int n = 0; n < count; ++n) F::inputs(V, x + n * xs, d, T, n * d.tiles());
  products<F::kTaps>(M, U, V, d, T, spans);
  for (int n = 0; n < count; ++n) F::outputs(y + n * ys, M, bias, d, T, n * d.tiles());
}

// A batch through tiling F with the filters' transforms U given, in groups of up to F::images
// images: one group per thread when there are enough groups (for_each_image), as many groups for
// every thread, of near-equal sizes (ZFNet's conv2 by F(4x4, 3x3), 8 images in groups of 3, 3
// and 2, left one thread waiting a third of the time).
template <class F>
void conv_transformed(float* y, const float* x, const float* U, const float* bias, int N, int I,
                      int H, int W, int O, int p, bool batched, const Spans* spans = nullptr) {
  const Dims d = dims(I, H, W, O, p, F::kK, F::kM);
  const size_t xs = static_cast<size_t>(I) * H * W, ys = static_cast<size_t>(O) * d.OH * d.OW;
  int G = F::images(d, batched);
  if (G > 1) {
    const int t = num_threads(), per_thread = (N + t * G - 1) / (t * G);
    G = std::max(1, (N + t * per_thread - 1) / (t * per_thread));
  }
  const int groups = (N + G - 1) / G;
  for_each_image(groups, [&](int64_t gi) {
    const int n0 = static_cast<int>(gi) * G;
    run_images<F>(y + n0 * ys, x + n0 * xs, U, bias, d, std::min(G, N - n0), spans);
  });
}

// Whether a 3x3 stride-1 convolution with out_h x out_w outputs takes F(4x4, 3x3): batch-variant,
// tiles_4x4() on, and at least 16 tiles of 4x4 outputs a plane. On smaller planes the transforms,
// a plane's tiles a vector, leave lanes idle (Fashion-MNIST's 8x8 planes, 4 tiles: its training
// step at batch 64 took 65 ms against 56 ms by F(2x2, 3x3)).
bool takes_4x4(int out_h, int out_w, bool batched) {
  return batched && g_f4x4 && ((out_h + 3) / 4) * ((out_w + 3) / 4) >= 16;
}

// The 3x3 filters' transforms for F(4x4, 3x3) (f4) or F(2x2, 3x3), into scratch slot 3.
const float* filters3x3(const float* w, bool transposed, int I, int O, bool f4) {
  float* U = scratch(static_cast<size_t>(f4 ? 36 : 16) * O * I, 3);
  if (f4)
    t6::filters<4>(U, w, transposed, I, O);
  else
    transform_filters(U, w, transposed, I, O);
  return U;
}

// conv_transformed by F(4x4, 3x3) (f4) or F(2x2, 3x3), U from filters3x3.
void conv3x3_by(bool f4, float* y, const float* x, const float* U, const float* bias, int N, int I,
                int H, int W, int O, int p, bool batched, const Spans* spans = nullptr) {
  if (f4)
    conv_transformed<F4x4_3x3>(y, x, U, bias, N, I, H, W, O, p, batched, spans);
  else
    conv_transformed<F2x2_3x3>(y, x, U, bias, N, I, H, W, O, p, batched, spans);
}

// ---- 5x5 stride 2 as 3x3 stride 1 --------------------------------------------------------------
// With kh = 2u + a and kw = 2v + b, y[oh][ow] = sum over a, b in {0, 1} of the 3x3 stride-1
// correlation of the polyphase plane X_ab[i][j] = x_padded[2i + a][2j + b] with the sub-filter
// w_ab[u][v] = w[2u + a][2v + b] (zero where 2u + a or 2v + b passes 4). Stacking the four planes
// as 4C channels (channel kBlock[2a + b] C + c) makes it one 3x3 convolution, unpadded, over
// planes of (OH + 2) x (OW + 2): Winograd's F(2x2, 3x3) and its weight gradient then serve ZFNet's
// conv2. Measured at batch 16: forward 73 -> 66 ms, backward 146 -> 135 (its products, 256 x 384
// by 384 x 169 tiles, run below im2col's rate; several images a product were no faster: 2 to 4
// images 62 / 131 ms, while ZFNet's conv3..5 on 49 tiles lost 40% that way).
//
// The sub-filters of a = 1 have a zero third row, and their transforms G g G^T a zero last row
// (the first, turned for the input gradient); those of b = 1 a zero column. Of the 16 products a
// tile position takes, 9 need all four phases, 3 the two of a = 0, 3 the two of b = 0 and one
// phase (0, 0) alone: 49 multiplies per 2x2 outputs per channel pair instead of 64 (100 direct).
// The phases are stacked in the order (0, 1), (0, 0), (1, 0), (1, 1), which makes each of these
// sets a run of channels (spans), so the products take them without copies. Batch 16, medians of
// alternated runs: forward 61 -> 51 ms, backward 130 -> 112, the deconvnet's filtering 67 -> 55.
// By F(4x4, 3x3) (training: tiles_4x4) the zero rows and columns are G's last (first, turned):
// 25 of its 36 positions need all four phases, 5 and 5 two, one a single phase (121 of 144).
namespace s2 {

constexpr int kImages = 8;               // images packed at a time
constexpr int kBlock[4] = {1, 0, 2, 3};  // the channel block of phase 2a + b

// The channel runs of the stacked sub-filters' transforms on side x side tiles (4: F(2x2, 3x3), 6:
// F(4x4, 3x3)): position xi = side r + c is zero for the phases with a = 1 and r = edge, or b = 1
// and c = edge (edge side - 1; 0 for the input gradient, whose filters are turned by 180 degrees:
// G's first and last rows take one tap each).
Spans spans(int C, bool transposed, int side) {
  Spans s{};
  s.outputs = transposed;
  const int edge = transposed ? 0 : side - 1;
  for (int xi = 0; xi < side * side; ++xi) {
    int lo = 4, hi = -1;
    for (int ab = 0; ab < 4; ++ab) {
      if ((ab / 2 && xi / side == edge) || (ab % 2 && xi % side == edge)) continue;
      lo = std::min(lo, kBlock[ab]);
      hi = std::max(hi, kBlock[ab]);
    }
    s.at[xi] = Span{lo * C, (hi - lo + 1) * C};  // runs by kBlock's order: no gaps inside
  }
  return s;
}

struct Poly {
  int C, H, W, M, p, OH, OW, PH, PW;
  size_t plane() const { return static_cast<size_t>(PH) * PW; }
  size_t image() const { return 4 * static_cast<size_t>(C) * plane(); }
};

// The polyphase planes of `count` images of x into xp.
void pack(float* xp, const float* x, const Poly& q, int count) {
  const int C = q.C, H = q.H, W = q.W, p = q.p, PH = q.PH, PW = q.PW;
  const size_t xs = static_cast<size_t>(C) * H * W, plane = q.plane(), image = q.image();
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < count; ++n)
    for (int ab = 0; ab < 4; ++ab) {
      const int a = ab / 2, b = ab % 2;
      const int first = (p - b + 1) / 2, span = W - 1 + p - b;  // j with 0 <= 2j + b - p < W
      const int last = span < 0 ? -1 : std::min(PW - 1, span / 2);
      for (int c = 0; c < C; ++c) {
        float* out = xp + n * image + (static_cast<size_t>(kBlock[ab]) * C + c) * plane;
        const float* in = x + n * xs + static_cast<size_t>(c) * H * W;
        for (int i = 0; i < PH; ++i) {
          float* row = out + static_cast<size_t>(i) * PW;
          std::fill(row, row + PW, 0.f);
          const int h = 2 * i + a - p;
          if (h < 0 || h >= H || last < first) continue;
          const int w0 = 2 * first + b - p;
          gather_stride2(row + first, in + static_cast<size_t>(h) * W + w0, last - first + 1,
                         W - w0);
        }
      }
    }
}

// dx of `count` images from the gradients of their polyphase planes (each input position is in
// exactly one of them; the padding's positions are dropped). Even and odd positions in two loops:
// one loop picking its row by parity, as ((w + p) % 2 ? r1 : r0)[...], was miscompiled by gcc 12
// under -fsanitize=address,undefined (a garbage index, SEGV), though right in the release build.
void unpack(float* dx, const float* dxp, const Poly& q, int count) {
  const int C = q.C, H = q.H, W = q.W, p = q.p, PW = q.PW;
  const size_t xs = static_cast<size_t>(C) * H * W, plane = q.plane(), image = q.image();
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < count; ++n)
    for (int c = 0; c < C; ++c)
      for (int h = 0; h < H; ++h) {
        const int a = (h + p) % 2, i = (h + p) / 2;
        const float* img = dxp + n * image + static_cast<size_t>(i) * PW + c * plane;
        const float* r0 = img + static_cast<size_t>(kBlock[2 * a]) * C * plane;  // b = 0
        const float* r1 = img + static_cast<size_t>(kBlock[2 * a + 1]) * C * plane;
        float* row = dx + n * xs + static_cast<size_t>(c) * H * W + static_cast<size_t>(h) * W;
        for (int w = p % 2; w < W; w += 2) row[w] = r0[(w + p) / 2];      // w + p even
        for (int w = 1 - p % 2; w < W; w += 2) row[w] = r1[(w + p) / 2];  // odd
      }
}

// w3[m][kBlock[2a + b] C + c][u][v] = w[m][c][2u + a][2v + b], zero past the 5x5 filter.
void subfilters(float* w3, const float* w, int M, int C) {
  for (int m = 0; m < M; ++m)
    for (int ab = 0; ab < 4; ++ab)
      for (int c = 0; c < C; ++c) {
        const int a = ab / 2, b = ab % 2;
        const float* f = w + (static_cast<size_t>(m) * C + c) * 25;
        float* g = w3 + ((static_cast<size_t>(m) * 4 + kBlock[ab]) * C + c) * 9;
        for (int u = 0; u < 3; ++u)
          for (int v = 0; v < 3; ++v) {
            const int kh = 2 * u + a, kw = 2 * v + b;
            g[u * 3 + v] = kh < 5 && kw < 5 ? f[kh * 5 + kw] : 0.f;
          }
      }
}

}  // namespace s2

}  // namespace

int min_tiles() {
  return g_min_tiles;
}

void set_min_tiles(int tiles) {
  g_min_tiles = tiles;
}

bool tiles_4x4() {
  return g_f4x4;
}

void set_tiles_4x4(bool on) {
  g_f4x4 = on;
}

bool applies(int k, int s, int p, int out_h, int out_w, bool batched) {
  const int64_t tiles = static_cast<int64_t>((out_h + 1) / 2) * ((out_w + 1) / 2);
  return k == 3 && s == 1 && p >= 0 && p <= 2 &&
         tiles >= (batched ? std::min(g_min_tiles, kBatchedMinTiles) : g_min_tiles);
}

void conv3x3(float* y, const float* x, const float* w, bool transposed, const float* bias, int N,
             int I, int H, int W, int O, int p, bool batched) {
  const bool f4 = takes_4x4(H + 2 * p - 2, W + 2 * p - 2, batched);
  conv3x3_by(f4, y, x, filters3x3(w, transposed, I, O, f4), bias, N, I, H, W, O, p, batched);
}

bool applies5x5(int k, int s, int p, int out_h, int out_w, bool batched) {
  const int64_t tiles = static_cast<int64_t>((out_h + 1) / 2) * ((out_w + 1) / 2);
  return batched && k == 5 && s == 1 && p >= 0 && p <= 4 && tiles >= kBatchedMinTiles;
}

void conv5x5(float* y, const float* x, const float* w, bool transposed, const float* bias, int N,
             int I, int H, int W, int O, int p, bool batched) {
  float* U = scratch(static_cast<size_t>(36) * O * I, 3);
  t6::filters<2>(U, w, transposed, I, O);
  conv_transformed<F2x2_5x5>(y, x, U, bias, N, I, H, W, O, p, batched);
}

namespace {

// By F(4x4, 3x3)'s adjoint (f4) or F(3x3, 2x2).
void weight_grad(float* dw, const float* dy, const float* x, int N, int I, int H, int W, int O,
                 int p, bool f4, const Spans* spans) {
  const Dims d = dims(I, H, W, O, p, 3, f4 ? 4 : 2);
  const size_t wsize = static_cast<size_t>(O) * I * 9;
  sum_over_threads(dw, wsize, N, 3, [&](float* acc, int64_t lo, int64_t hi) {
    if (f4)
      weight_grad_range<F4x4_3x3>(acc, dy, x, d, static_cast<int>(lo), static_cast<int>(hi), spans);
    else
      weight_grad_range<F2x2_3x3>(acc, dy, x, d, static_cast<int>(lo), static_cast<int>(hi), spans);
  });
}

}  // namespace

void conv3x3_weight_grad(float* dw, const float* dy, const float* x, int N, int I, int H, int W,
                         int O, int p, bool batched) {
  weight_grad(dw, dy, x, N, I, H, W, O, p, takes_4x4(H + 2 * p - 2, W + 2 * p - 2, batched),
              nullptr);
}

bool applies_5x5_stride2(int k, int s, int out_h, int out_w, bool batched) {
  return k == 5 && s == 2 && applies(3, 1, 0, out_h, out_w, batched);
}

namespace {

s2::Poly poly(int C, int H, int W, int M, int p, int OH, int OW) {
  return s2::Poly{C, H, W, M, p, OH, OW, OH + 2, OW + 2};
}

// f(n0, count) for consecutive chunks of about s2::kImages images; a chunk is never smaller than
// the thread count unless the batch is (so every image runs as conv3x3 runs a batch's images).
template <class F>
void for_each_chunk(int N, F&& f) {
  for (int n0 = 0; n0 < N;) {
    const int rest = N - n0;
    const int count = rest < s2::kImages + num_threads() ? rest : s2::kImages;
    f(n0, count);
    n0 += count;
  }
}

}  // namespace

void conv5x5_stride2(float* y, const float* x, const float* w, const float* bias, int N, int C,
                     int H, int W, int M, int p, int OH, int OW, bool batched) {
  const s2::Poly q = poly(C, H, W, M, p, OH, OW);
  float* w3 = scratch(static_cast<size_t>(M) * 4 * C * 9, 6);
  s2::subfilters(w3, w, M, C);
  const bool f4 = takes_4x4(OH, OW, batched);
  const float* U = filters3x3(w3, false, 4 * C, M, f4);  // once for all chunks
  float* xp = scratch(std::min(N, s2::kImages + num_threads()) * q.image(), 5);
  const size_t xs = static_cast<size_t>(C) * H * W, ys = static_cast<size_t>(M) * OH * OW;
  const Spans spans = s2::spans(C, false, f4 ? 6 : 4);
  for_each_chunk(N, [&](int n0, int count) {
    s2::pack(xp, x + n0 * xs, q, count);
    conv3x3_by(f4, y + n0 * ys, xp, U, bias, count, 4 * C, q.PH, q.PW, M, 0, batched, &spans);
  });
}

void conv5x5_stride2_backward_data(float* dx, const float* dy, const float* w, int N, int C, int H,
                                   int W, int M, int p, int OH, int OW, bool batched) {
  const s2::Poly q = poly(C, H, W, M, p, OH, OW);
  float* w3 = scratch(static_cast<size_t>(M) * 4 * C * 9, 6);
  s2::subfilters(w3, w, M, C);
  const bool f4 = takes_4x4(q.PH, q.PW, batched);
  const float* U = filters3x3(w3, true, M, 4 * C, f4);  // once for all chunks
  float* dxp = scratch(std::min(N, s2::kImages + num_threads()) * q.image(), 5);
  const size_t xs = static_cast<size_t>(C) * H * W, ys = static_cast<size_t>(M) * OH * OW;
  const Spans spans = s2::spans(C, true, f4 ? 6 : 4);
  for_each_chunk(N, [&](int n0, int count) {
    conv3x3_by(f4, dxp, dy + n0 * ys, U, nullptr, count, M, OH, OW, 4 * C, 2, batched, &spans);
    s2::unpack(dx + n0 * xs, dxp, q, count);
  });
}

void conv5x5_stride2_weight_grad(float* dw, const float* dy, const float* x, int N, int C, int H,
                                 int W, int M, int p, int OH, int OW, bool batched) {
  const s2::Poly q = poly(C, H, W, M, p, OH, OW);
  const size_t n3 = static_cast<size_t>(M) * 4 * C * 9;
  float* dw3 = scratch(n3, 6);
  float* part = scratch(n3, 7);
  float* xp = scratch(std::min(N, s2::kImages + num_threads()) * q.image(), 5);
  const size_t xs = static_cast<size_t>(C) * H * W, ys = static_cast<size_t>(M) * OH * OW;
  const bool f4 = takes_4x4(OH, OW, batched);
  const Spans spans = s2::spans(C, false, f4 ? 6 : 4);  // S's columns, as the forward's
  for_each_chunk(N, [&](int n0, int count) {
    s2::pack(xp, x + n0 * xs, q, count);
    weight_grad(n0 ? part : dw3, dy + n0 * ys, xp, count, 4 * C, q.PH, q.PW, M, 0, f4, &spans);
    if (n0) {
#pragma omp parallel for simd schedule(static)
      for (size_t i = 0; i < n3; ++i) dw3[i] += part[i];
    }
  });
  for (int m = 0; m < M; ++m)
    for (int c = 0; c < C; ++c)
      for (int kh = 0; kh < 5; ++kh)
        for (int kw = 0; kw < 5; ++kw)
          dw[((static_cast<size_t>(m) * C + c) * 5 + kh) * 5 + kw] =
              dw3[((static_cast<size_t>(m) * 4 + s2::kBlock[(kh % 2) * 2 + kw % 2]) * C + c) * 9 +
                  (kh / 2) * 3 + kw / 2];
}

}  // namespace zf::cpu::winograd
