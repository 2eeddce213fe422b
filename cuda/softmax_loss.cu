// CUDA softmax and softmax cross-entropy (the softmax_loss family), with the loss and the top-1
// count kept on the device. Reductions are block-wide tree sums in a fixed order: repeated runs
// give the same bits.
#include "cuda/cuda_ops.h"
#include "cuda/launch.h"

namespace zf::cuda {

namespace {
// Block n's sample: max-subtracted softmax; with labels also -log p[label] into loss[n] and into
// hit[n] whether the label is a top-1 prediction (no class strictly more probable: ties count for
// the label, as on the CPU). One body for both kernels below, so that their probabilities are the
// same bits.
__device__ __forceinline__ void softmax_row(float* prob, float* loss, float* hit, const float* z,
                                            const int32_t* labels, int64_t K) {
  const int64_t n = blockIdx.x;
  const float* zr = z + n * K;
  float* pr = prob + n * K;
  float mx = -INFINITY;
  for (int64_t k = threadIdx.x; k < K; k += blockDim.x) mx = fmaxf(mx, zr[k]);
  mx = block_max(mx);
  float sum = 0.f;
  for (int64_t k = threadIdx.x; k < K; k += blockDim.x) {
    const float e = expf(zr[k] - mx);
    pr[k] = e;
    sum += e;
  }
  sum = block_sum(sum);
  const float inv = 1.f / sum;
  for (int64_t k = threadIdx.x; k < K; k += blockDim.x) pr[k] *= inv;
  if (!labels) return;
  const int32_t label = labels[n];
  __syncthreads();  // every thread's probabilities are written before the label's is read
  const float target = pr[label];
  int above = 0;
  for (int64_t k = threadIdx.x; k < K; k += blockDim.x) above += pr[k] > target;
  above = block_sum(above);
  if (threadIdx.x == 0) {
    loss[n] = -(zr[label] - mx - logf(sum));
    hit[n] = above == 0 ? 1.f : 0.f;
  }
}
}  // namespace

// One block per sample: the probabilities alone.
__global__ void softmax_forward_kernel(float* prob, const float* z, int64_t K) {
  softmax_row(prob, nullptr, nullptr, z, nullptr, K);
}

// One block per sample: the probabilities, the sample's loss and whether it is a top-1 hit.
__global__ void softmax_loss_forward_kernel(float* prob, float* loss, float* hit, const float* z,
                                            const int32_t* labels, int64_t K) {
  softmax_row(prob, loss, hit, z, labels, K);
}

// stats[0] = mean of loss[0..N), stats[1] = sum of hit[0..N); one block, each thread summing a
// fixed stride in double, then the block's fixed tree: the same bits on every run.
__global__ void softmax_loss_forward_stats_kernel(float* stats, const float* loss, const float* hit,
                                                  int64_t N) {
  double l = 0.0, h = 0.0;
  for (int64_t n = threadIdx.x; n < N; n += blockDim.x) {
    l += loss[n];
    h += hit[n];
  }
  l = block_sum(l);
  h = block_sum(h);
  if (threadIdx.x == 0) {
    stats[0] = static_cast<float>(l / static_cast<double>(N));
    stats[1] = static_cast<float>(h);
  }
}

size_t softmax_loss_scratch_bytes(const Shape& logits) {
  return 2 * static_cast<size_t>(logits[0]) * sizeof(float);
}

void softmax_forward(Tensor& prob, const Tensor& logits) {
  const int64_t N = logits.dim(0), K = logits.dim(1);
  Context& c = context(logits.device());
  ZF_KERNEL(softmax_forward_kernel, static_cast<unsigned>(N), kThreads, c.stream)
  (prob.f32(), logits.f32(), K);
  ZF_LAUNCH_CHECK();
}

void softmax_loss_forward(Tensor& prob, Tensor& stats, const Tensor& logits, const Tensor& labels) {
  const int64_t N = logits.dim(0), K = logits.dim(1);
  Context& c = context(logits.device());
  float* loss = scratch(c, 2 * static_cast<size_t>(N));
  float* hit = loss + N;
  ZF_KERNEL(softmax_loss_forward_kernel, static_cast<unsigned>(N), kThreads, c.stream)
  (prob.f32(), loss, hit, logits.f32(), labels.i32(), K);
  ZF_LAUNCH_CHECK();
  ZF_KERNEL(softmax_loss_forward_stats_kernel, 1, kThreads, c.stream)(stats.f32(), loss, hit, N);
  ZF_LAUNCH_CHECK();
}

void softmax_loss_backward(Tensor& dlogits, const Tensor& prob, const Tensor& labels) {
  const int64_t N = prob.dim(0), K = prob.dim(1);
  const float* P = prob.f32();
  const int32_t* L = labels.i32();
  float* D = dlogits.f32();
  const float inv_n = 1.f / static_cast<float>(N);
  launch_elementwise(context(prob.device()).stream, N * K, [=] __device__(int64_t i) {
    const int64_t n = i / K, k = i % K;
    D[i] = P[i] * inv_n - (k == L[n] ? inv_n : 0.f);
  });
}

}  // namespace zf::cuda
