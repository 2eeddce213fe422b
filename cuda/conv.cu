// CUDA convolution (the conv family) as implicit GEMM: the three ops, their kernels and the
// weight gradient's split-K reduction. The tile code they share, and what each product computes,
// is in cuda/conv_gemm.h.
#include "cuda/conv_gemm.h"

namespace zf::cuda {

using namespace conv_gemm;

// The three products, one kernel each (a profile names the op); each runs one block of the shared
// tile code. __launch_bounds__(256) alone: ptxas (sm_90) gives the forward 151 registers per thread
// (backward_data 126, backward_weight 127), one block per SM; cuda/dev/conv_forward.cu checks and
// times variants that ask for two or three.
__global__ void __launch_bounds__(kGemmThreads)
    conv_forward_kernel(ForwardProblem p, int rows, int cols, int red, int split) {
  run_block(p, rows, cols, red, split);
}

__global__ void __launch_bounds__(kGemmThreads)
    conv_backward_data_kernel(BackwardDataProblem p, int rows, int cols, int red, int split) {
  run_block(p, rows, cols, red, split);
}

__global__ void __launch_bounds__(kGemmThreads)
    conv_backward_weight_kernel(BackwardWeightProblem p, int rows, int cols, int red, int split) {
  run_block(p, rows, cols, red, split);
}

void conv_forward(Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b,
                  const ConvParams& p) {
  const ConvDims d = dims(x, y, p);
  const int rows = d.M, cols = d.N * d.OH * d.OW, red = d.C * d.k * d.k;
  ZF_KERNEL(conv_forward_kernel, grid(rows, cols, 1), kGemmThreads, context(x.device()).stream)
  (ForwardProblem{w.f32(), x.f32(), b.f32(), y.f32(), d}, rows, cols, red, 1);
  ZF_LAUNCH_CHECK();
}

void conv_backward_data(Tensor& dx, const Tensor& dy, const Tensor& w, const ConvParams& p) {
  const ConvDims d = dims(dx, dy, p);
  const int rows = d.C, cols = d.N * d.H * d.W, red = d.M * d.k * d.k;
  ZF_KERNEL(conv_backward_data_kernel, grid(rows, cols, 1), kGemmThreads,
            context(dy.device()).stream)
  (BackwardDataProblem{w.f32(), dy.f32(), dx.f32(), d}, rows, cols, red, 1);
  ZF_LAUNCH_CHECK();
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

// db[m] = sum over images and pixels of dy[n, m, :], one block per m (coalesced along the pixels).
__global__ void conv_backward_weight_bias_kernel(float* db, const float* dy, int N, int M, int P) {
  const int m = blockIdx.x;
  float s = 0.f;
  for (int n = 0; n < N; ++n) {
    const float* plane = dy + (static_cast<int64_t>(n) * M + m) * P;
    for (int q = threadIdx.x; q < P; q += blockDim.x) s += plane[q];
  }
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

size_t conv_scratch_bytes(const Shape& x, const Shape& y, const ConvParams& p) {
  const int M = static_cast<int>(y[1]), K = static_cast<int>(x[1]) * p.kernel * p.kernel;
  const int red = static_cast<int>(y[0] * y[2] * y[3]);
  return static_cast<size_t>(weight_grad_split(M, K, red)) * M * K * sizeof(float);
}

void conv_backward_weight(Tensor& dw, Tensor& db, const Tensor& dy, const Tensor& x,
                          const ConvParams& p) {
  const ConvDims d = dims(x, dy, p);
  const int K = d.C * d.k * d.k, P = d.OH * d.OW, red = d.N * P;
  const int split = weight_grad_split(d.M, K, red);
  const float* DY = dy.f32();
  Context& c = context(x.device());
  float* PART = scratch(c, static_cast<size_t>(split) * d.M * K);
  const int64_t MK = static_cast<int64_t>(d.M) * K;
  ZF_KERNEL(conv_backward_weight_kernel, grid(d.M, K, split), kGemmThreads, c.stream)
  (BackwardWeightProblem{DY, x.f32(), PART, d}, d.M, K, red, split);
  ZF_LAUNCH_CHECK();
  ZF_KERNEL(sum_partials_kernel, blocks_for(MK), kThreads, c.stream)(dw.f32(), PART, MK, split);
  ZF_LAUNCH_CHECK();
  ZF_KERNEL(conv_backward_weight_bias_kernel, d.M, kThreads, c.stream)(db.f32(), DY, d.N, d.M, P);
  ZF_LAUNCH_CHECK();
}

}  // namespace zf::cuda
