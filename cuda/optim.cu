// CUDA optimization ops (the optim family: what no layer type names): SGD with momentum, the
// per-filter RMS renormalization (one block per filter, a fixed-order tree sum), and the
// accumulation of gradients, and the count of non-finite values (one block, fixed order).
#include "cuda/cuda_ops.h"
#include "cuda/launch.h"

namespace zf::cuda {

void sgd_update(Tensor& w, Tensor& v, const Tensor& dw, float lr, float momentum,
                float weight_decay) {
  float *W = w.f32(), *V = v.f32();
  const float* G = dw.f32();
  launch_elementwise(context(w.device()).stream, w.numel(), [=] __device__(int64_t i) {
    V[i] = momentum * V[i] - lr * (G[i] + weight_decay * W[i]);
    W[i] += V[i];
  });
}

// One block per filter: RMS over its weights, scaled down to `radius` when above it.
__global__ void renorm_filters_kernel(float* w, int64_t len, float radius) {
  float* p = w + blockIdx.x * len;
  float ss = 0.f;
  for (int64_t i = threadIdx.x; i < len; i += blockDim.x) ss += p[i] * p[i];
  ss = block_sum(ss);
  const float rms = sqrtf(ss / static_cast<float>(len));
  if (rms > radius) {
    const float scale = radius / rms;
    for (int64_t i = threadIdx.x; i < len; i += blockDim.x) p[i] *= scale;
  }
}

void renorm_filters(Tensor& w, float radius) {
  const int64_t filters = w.dim(0);
  ZF_KERNEL(renorm_filters_kernel, static_cast<unsigned>(filters), kThreads,
            context(w.device()).stream)
  (w.f32(), w.numel() / filters, radius);
  ZF_LAUNCH_CHECK();
}

// One block: a fixed-order count over the whole tensor (a check run every few hundred steps, so one
// SM's bandwidth is enough), added to count[0] by thread 0: no atomics, no race.
__global__ void count_nonfinite_kernel(float* count, const float* x, int64_t n) {
  int bad = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) bad += isfinite(x[i]) ? 0 : 1;
  bad = block_sum(bad);
  if (threadIdx.x == 0) count[0] += static_cast<float>(bad);
}

void count_nonfinite(Tensor& count, const Tensor& x) {
  ZF_KERNEL(count_nonfinite_kernel, 1, 1024, context(x.device()).stream)
  (count.f32(), x.f32(), x.numel());
  ZF_LAUNCH_CHECK();
}

void add_inplace(Tensor& y, const Tensor& x) {
  const float* X = x.f32();
  float* Y = y.f32();
  launch_elementwise(context(x.device()).stream, x.numel(),
                     [=] __device__(int64_t i) { Y[i] += X[i]; });
}

}  // namespace zf::cuda
