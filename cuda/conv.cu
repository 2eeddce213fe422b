// CUDA convolution (the conv family) as implicit GEMM: the three ops, their kernels and the
// weight gradient's split-K reduction. The tile code they share, and what each product computes,
// is in cuda/conv_gemm.h.
#include "cuda/conv_gemm.h"

namespace zf::cuda {

using namespace conv_gemm;

// The three products, one kernel each in each math (a profile names the op, the math and the tile
// shape T, one instance per entry of kTileShapes), each running one block of the shared tile code
// and asking for two resident blocks per SM (at most 128 registers per thread): with
// __launch_bounds__(256) alone ptxas (sm_90) gave the 128x128 forward 151 registers and one block
// per SM, so each tile's barrier left the SM idle. Now (CUDA 13) every instance fits 128 with no
// spill, which is fragile (a phase offset moved from the reduction's index to the row's made
// backward_data spill 16 bytes): scripts/gpu_model.sh prints what ptxas gives;
// cuda/dev/conv_forward.cu checks and times other bounds.
template <class T>
__global__ void __launch_bounds__(kGemmThreads, 2)
    conv_forward_kernel(ForwardProblem p, int rows, int cols, int red, int split) {
  run_block<Fp32Math<T>>(p, rows, cols, red, split);
}

template <class T>
__global__ void __launch_bounds__(kGemmThreads, 2)
    conv_backward_data_kernel(BackwardDataProblem p, int rows, int cols, int red, int split) {
  run_block<Fp32Math<T>>(p, rows, cols, red, split);
}

template <class T>
__global__ void __launch_bounds__(kGemmThreads, 2)
    conv_backward_weight_kernel(BackwardWeightProblem p, int rows, int cols, int red, int split) {
  run_block<Fp32Math<T>>(p, rows, cols, red, split);
}

// The same products on TF32 tensor cores (ConvMath::Tf32, ZF_CONV_MATH=tf32).
template <class T>
__global__ void __launch_bounds__(kGemmThreads, 2)
    conv_forward_tf32_kernel(ForwardProblem p, int rows, int cols, int red, int split) {
  run_block<Tf32Math<T>>(p, rows, cols, red, split);
}

template <class T>
__global__ void __launch_bounds__(kGemmThreads, 2)
    conv_backward_data_tf32_kernel(BackwardDataProblem p, int rows, int cols, int red, int split) {
  run_block<Tf32Math<T>>(p, rows, cols, red, split);
}

template <class T>
__global__ void __launch_bounds__(kGemmThreads, 2)
    conv_backward_weight_tf32_kernel(BackwardWeightProblem p, int rows, int cols, int red,
                                     int split) {
  run_block<Tf32Math<T>>(p, rows, cols, red, split);
}

// Each launch runs in the tile shape that pads its output least (conv_tiles.h's choose_tile).
void conv_forward(Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b,
                  const ConvParams& p) {
  const ConvDims d = dims(x, y, p);
  const int rows = d.M, cols = d.N * d.OH * d.OW, red = d.C * d.k * d.k;
  const Context& c = context(x.device());
  const ForwardProblem f{w.f32(), x.f32(), b.f32(), y.f32(), d};
  const int tile = choose_tile(rows, cols);
  const dim3 g = grid(kTileShapes[tile], rows, cols, 1);
  with_tile(tile, [&](auto shape) {
    using T = decltype(shape);
    if (c.conv_math == ConvMath::Tf32) {
      ZF_KERNEL(conv_forward_tf32_kernel<T>, g, kGemmThreads, c.stream)(f, rows, cols, red, 1);
    } else {
      ZF_KERNEL(conv_forward_kernel<T>, g, kGemmThreads, c.stream)(f, rows, cols, red, 1);
    }
  });
  ZF_LAUNCH_CHECK();
}

// One launch per stride phase of dx (conv_gemm::Phase): s*s dense products, each reading only the
// taps that reach its pixels, in the tile shape that pads its own output least. A phase without
// taps (kernel smaller than the stride) still runs, to write its zeros.
void conv_backward_data(Tensor& dx, const Tensor& dy, const Tensor& w, const ConvParams& p) {
  const ConvDims d = dims(dx, dy, p);
  const Context& c = context(dy.device());
  for (int ph = 0; ph < d.s; ++ph)
    for (int pw = 0; pw < d.s; ++pw) {
      const Phase f = phase_of(ph, pw, d.H, d.W, d.k, d.s, d.pad);
      const int rows = d.C, cols = d.N * f.nh * f.nw, red = d.M * f.ta * f.tb;
      if (cols == 0) continue;
      const BackwardDataProblem bd{w.f32(), dy.f32(), dx.f32(), d, f};
      const int tile = choose_tile(rows, cols);
      const dim3 g = grid(kTileShapes[tile], rows, cols, 1);
      with_tile(tile, [&](auto shape) {
        using T = decltype(shape);
        if (c.conv_math == ConvMath::Tf32) {
          ZF_KERNEL(conv_backward_data_tf32_kernel<T>, g, kGemmThreads, c.stream)
          (bd, rows, cols, red, 1);
        } else {
          ZF_KERNEL(conv_backward_data_kernel<T>, g, kGemmThreads, c.stream)
          (bd, rows, cols, red, 1);
        }
      });
      ZF_LAUNCH_CHECK();
    }
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

// part[g][m] = sum over the images of group g and their pixels of dy[n, m, :], one block per (m, g)
// (coalesced along the pixels); the groups spread a layer with few filters (conv1: 96) over the
// GPU, and sum_partials_kernel adds them in a fixed order.
__global__ void conv_backward_weight_bias_kernel(float* part, const float* dy, int N, int M, int P,
                                                 int groups) {
  const int m = blockIdx.x, g = blockIdx.y;
  const int n0 = static_cast<int>(static_cast<int64_t>(N) * g / groups);
  const int n1 = static_cast<int>(static_cast<int64_t>(N) * (g + 1) / groups);
  float s = 0.f;
  for (int n = n0; n < n1; ++n) {
    const float* plane = dy + (static_cast<int64_t>(n) * M + m) * P;
    for (int q = threadIdx.x; q < P; q += blockDim.x) s += plane[q];
  }
  s = block_sum(s);
  if (threadIdx.x == 0) part[static_cast<int64_t>(g) * M + m] = s;
}

namespace {
// Pieces of the weight gradient's reduction over (n, p): enough blocks to fill the GPU when the
// output has few tiles (of shape s), each piece at least 1024 long.
int weight_grad_split(const TileShape& s, int M, int K, int red) {
  const int tiles = ((K + s.bn - 1) / s.bn) * ((M + s.bm - 1) / s.bm);
  return std::max(1, std::min(red / 1024, std::max(1, 1024 / tiles)));
}

// Image groups of the bias gradient: about 1024 blocks in all (a few waves on 132 SMs).
int bias_groups(int N, int M) {
  return std::max(1, std::min(N, (1024 + M - 1) / M));
}
}  // namespace

size_t conv_scratch_bytes(const Shape& x, const Shape& y, const ConvParams& p) {
  const int M = static_cast<int>(y[1]), K = static_cast<int>(x[1]) * p.kernel * p.kernel;
  const int red = static_cast<int>(y[0] * y[2] * y[3]);
  const size_t bias = static_cast<size_t>(bias_groups(static_cast<int>(y[0]), M)) * M;
  const int split = weight_grad_split(kTileShapes[choose_tile(M, K)], M, K, red);
  return (static_cast<size_t>(split) * M * K + bias) * sizeof(float);
}

void conv_backward_weight(Tensor& dw, Tensor& db, const Tensor& dy, const Tensor& x,
                          const ConvParams& p) {
  const ConvDims d = dims(x, dy, p);
  const int K = d.C * d.k * d.k, P = d.OH * d.OW, red = d.N * P;
  const int tile = choose_tile(d.M, K);
  const int split = weight_grad_split(kTileShapes[tile], d.M, K, red);
  const float* DY = dy.f32();
  Context& c = context(x.device());
  const int64_t MK = static_cast<int64_t>(d.M) * K;
  const int groups = bias_groups(d.N, d.M);
  float* PART = scratch(c, static_cast<size_t>(split) * MK + static_cast<size_t>(groups) * d.M);
  float* BPART = PART + split * MK;  // the bias gradient's partials, after the weights'

  const BackwardWeightProblem bw{DY, x.f32(), PART, d};
  const dim3 g = grid(kTileShapes[tile], d.M, K, split);
  with_tile(tile, [&](auto shape) {
    using T = decltype(shape);
    if (c.conv_math == ConvMath::Tf32) {
      ZF_KERNEL(conv_backward_weight_tf32_kernel<T>, g, kGemmThreads, c.stream)
      (bw, d.M, K, red, split);
    } else {
      ZF_KERNEL(conv_backward_weight_kernel<T>, g, kGemmThreads, c.stream)
      (bw, d.M, K, red, split);
    }
  });
  ZF_LAUNCH_CHECK();
  ZF_KERNEL(sum_partials_kernel, blocks_for(MK), kThreads, c.stream)(dw.f32(), PART, MK, split);
  ZF_LAUNCH_CHECK();
  ZF_KERNEL(conv_backward_weight_bias_kernel, dim3(d.M, groups), kThreads, c.stream)
  (BPART, DY, d.N, d.M, P, groups);
  ZF_LAUNCH_CHECK();
  ZF_KERNEL(sum_partials_kernel, blocks_for(d.M), kThreads, c.stream)(db.f32(), BPART, d.M, groups);
  ZF_LAUNCH_CHECK();
}

}  // namespace zf::cuda
