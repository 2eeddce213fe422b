// CUDA convolution as implicit GEMM: no column matrix in memory; tiles of the virtual im2col matrix
// are gathered into shared memory straight from the NCHW tensors. One tiled FP32 kernel serves all
// three products through small index functors:
//   forward          y[m, (n,p)]    = sum_{(c,kh,kw)} W[m, c,kh,kw] * x[n, c, oh*s-pad+kh,
//   ow*s-pad+kw] + b[m] backward_data    dx[c, (n,ih,iw)] = sum_{(m,kh,kw)} W[m, c,kh,kw] * dy[n,
//   m, (ih+pad-kh)/s, (iw+pad-kw)/s]
//                    (a gather: only terms where the division is exact and in range; this is also
//                    the deconvnet's filtering with the transposed filters)
//   backward_weight  dW[m, (c,kh,kw)] = sum_{(n,p)} dy[n, m, p] * x[n, c, ...], split over the
//   reduction
//                    into partial sums that a second kernel adds in a fixed order (no atomics).
#include "cuda/cuda_ops.h"
#include "cuda/launch.h"

namespace zf::cuda {

namespace {

constexpr int BM = 64, BN = 64, BK = 16, TM = 4, TN = 4;  // 16 x 16 threads, 4 x 4 outputs each

struct ConvDims {
  int N, C, H, W, M, k, s, pad, OH, OW;
};

// C[row, col] = sum_{r in [r0, r1)} A(row, r) * B(r, col), written through store(row, col, value).
template <class A, class B, class Store>
__global__ void __launch_bounds__(256)
    implicit_gemm_kernel(int rows, int cols, int red, int split, A a, B b, Store store) {
  __shared__ float As[BK][BM + 4];
  __shared__ float Bs[BK][BN + 4];
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16, t = threadIdx.x;
  const int row0 = blockIdx.y * BM, col0 = blockIdx.x * BN;
  const int chunk = (red + split - 1) / split;
  const int r0 = blockIdx.z * chunk, r1 = min(red, r0 + chunk);
  float acc[TM][TN] = {};
  for (int k0 = r0; k0 < r1; k0 += BK) {
#pragma unroll
    for (int i = 0; i < (BM * BK) / 256; ++i) {
      const int idx = t + i * 256, r = idx / BK, kk = idx % BK;
      const int row = row0 + r, kr = k0 + kk;
      As[kk][r] = (row < rows && kr < r1) ? a(row, kr) : 0.f;
    }
#pragma unroll
    for (int i = 0; i < (BN * BK) / 256; ++i) {
      const int idx = t + i * 256, kk = idx / BN, c = idx % BN;
      const int col = col0 + c, kr = k0 + kk;
      Bs[kk][c] = (col < cols && kr < r1) ? b(kr, col) : 0.f;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < BK; ++kk) {
      float av[TM], bv[TN];
#pragma unroll
      for (int i = 0; i < TM; ++i) av[i] = As[kk][ty * TM + i];
#pragma unroll
      for (int j = 0; j < TN; ++j) bv[j] = Bs[kk][tx * TN + j];
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < TM; ++i)
#pragma unroll
    for (int j = 0; j < TN; ++j) {
      const int row = row0 + ty * TM + i, col = col0 + tx * TN + j;
      if (row < rows && col < cols) store(row, col, blockIdx.z, acc[i][j]);
    }
}

template <class A, class B, class Store>
void gemm(int rows, int cols, int red, int split, A a, B b, Store store) {
  dim3 grid((cols + BN - 1) / BN, (rows + BM - 1) / BM, split);
  ZF_KERNEL(implicit_gemm_kernel, grid, 256)(rows, cols, red, split, a, b, store);
  ZF_LAUNCH_CHECK();
}

// x[n, c, oh*s - pad + kh, ow*s - pad + kw] for im2col row kk = (c, kh, kw) and column (n, p).
struct InputPatch {
  const float* x;
  ConvDims d;
  __device__ float operator()(int kk, int n, int p) const {
    const int kk2 = d.k * d.k, c = kk / kk2, r = kk % kk2, kh = r / d.k, kw = r % d.k;
    const int oh = p / d.OW, ow = p % d.OW;
    const int ih = oh * d.s - d.pad + kh, iw = ow * d.s - d.pad + kw;
    if (ih < 0 || ih >= d.H || iw < 0 || iw >= d.W) return 0.f;
    return x[((static_cast<int64_t>(n) * d.C + c) * d.H + ih) * d.W + iw];
  }
};

ConvDims dims(const Tensor& x, const Tensor& y, const ConvParams& p) {
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

}  // namespace

void conv2d_forward(Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b,
                    const ConvParams& p) {
  const ConvDims d = dims(x, y, p);
  const int K = d.C * d.k * d.k, P = d.OH * d.OW;
  const float *Wt = w.f32(), *B = b.f32();
  float* Y = y.f32();
  const InputPatch patch{x.f32(), d};
  gemm(
      d.M, d.N * P, K, 1,
      [=] __device__(int m, int kk) { return Wt[static_cast<int64_t>(m) * K + kk]; },
      [=] __device__(int kk, int j) { return patch(kk, j / P, j % P); },
      [=] __device__(int m, int j, int, float v) {
        Y[(static_cast<int64_t>(j / P) * d.M + m) * P + j % P] = v + B[m];
      });
}

void conv2d_backward_data(Tensor& dx, const Tensor& dy, const Tensor& w, const ConvParams& p) {
  const ConvDims d = dims(dx, dy, p);
  const int kk2 = d.k * d.k, HW = d.H * d.W;
  const float *Wt = w.f32(), *DY = dy.f32();
  float* DX = dx.f32();
  gemm(
      d.C, d.N * HW, d.M * kk2, 1,
      [=] __device__(int c, int q) {
        return Wt[(static_cast<int64_t>(q / kk2) * d.C + c) * kk2 + q % kk2];
      },
      [=] __device__(int q, int j) {
        const int m = q / kk2, r = q % kk2, kh = r / d.k, kw = r % d.k;
        const int n = j / HW, ih = (j % HW) / d.W, iw = j % d.W;
        const int th = ih + d.pad - kh, tw = iw + d.pad - kw;
        if (th < 0 || tw < 0 || th % d.s || tw % d.s) return 0.f;
        const int oh = th / d.s, ow = tw / d.s;
        if (oh >= d.OH || ow >= d.OW) return 0.f;
        return DY[((static_cast<int64_t>(n) * d.M + m) * d.OH + oh) * d.OW + ow];
      },
      [=] __device__(int c, int j, int, float v) {
        DX[(static_cast<int64_t>(j / HW) * d.C + c) * HW + j % HW] = v;
      });
}

// part[z][i] summed over z in order.
__global__ void sum_partials_kernel(float* out, const float* part, int64_t n, int split) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float s = 0.f;
    for (int z = 0; z < split; ++z) s += part[z * n + i];
    out[i] = s;
  }
}

// db[m] = sum over images and pixels of dy[n, m, :], one block per m.
__global__ void conv_bias_grad_kernel(float* db, const float* dy, int N, int M, int P) {
  const int m = blockIdx.x;
  float s = 0.f;
  for (int64_t i = threadIdx.x; i < static_cast<int64_t>(N) * P; i += blockDim.x)
    s += dy[(i / P * M + m) * P + i % P];
  s = block_sum(s);
  if (threadIdx.x == 0) db[m] = s;
}

namespace {
// Pieces of the weight gradient's reduction over (n, p): enough blocks to fill the GPU when the
// output has few tiles, each piece at least 1024 long.
int weight_grad_split(int M, int K, int red) {
  const int tiles = ((K + BN - 1) / BN) * ((M + BM - 1) / BM);
  return std::max(1, std::min(red / 1024, std::max(1, 1024 / tiles)));
}
}  // namespace

size_t conv2d_scratch_bytes(const Shape& x, const Shape& y, const ConvParams& p) {
  const int M = static_cast<int>(y[1]), K = static_cast<int>(x[1]) * p.kernel * p.kernel;
  const int red = static_cast<int>(y[0] * y[2] * y[3]);
  return static_cast<size_t>(weight_grad_split(M, K, red)) * M * K * sizeof(float);
}

void conv2d_backward_weight(Tensor& dw, Tensor& db, const Tensor& dy, const Tensor& x,
                            const ConvParams& p) {
  const ConvDims d = dims(x, dy, p);
  const int K = d.C * d.k * d.k, P = d.OH * d.OW, red = d.N * P;
  const int split = weight_grad_split(d.M, K, red);
  const float* DY = dy.f32();
  float* PART = scratch(static_cast<size_t>(split) * d.M * K);
  const InputPatch patch{x.f32(), d};
  const int64_t MK = static_cast<int64_t>(d.M) * K;
  gemm(
      d.M, K, red, split,
      [=] __device__(int m, int j) {
        return DY[(static_cast<int64_t>(j / P) * d.M + m) * P + j % P];
      },
      [=] __device__(int j, int kk) { return patch(kk, j / P, j % P); },
      [=] __device__(int m, int kk, int z, float v) {
        PART[z * MK + static_cast<int64_t>(m) * K + kk] = v;
      });
  ZF_KERNEL(sum_partials_kernel, blocks_for(MK), kThreads)(dw.f32(), PART, MK, split);
  ZF_LAUNCH_CHECK();
  ZF_KERNEL(conv_bias_grad_kernel, d.M, kThreads)(db.f32(), DY, d.N, d.M, P);
  ZF_LAUNCH_CHECK();
}

}  // namespace zf::cuda
