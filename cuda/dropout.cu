// CUDA inverted dropout (the dropout family): the mask from the shared Philox stream (core/rng.h),
// so that it equals the CPU's element for element.
#include "core/rng.h"
#include "cuda/cuda_ops.h"
#include "cuda/launch.h"

namespace zf::cuda {

void dropout_forward(Tensor& y, Tensor& mask, const Tensor& x, float p, uint64_t seed,
                     uint64_t stream, uint64_t first) {
  const float* X = x.f32();
  float *Y = y.f32(), *M = mask.f32();
  const float keep = 1.f / (1.f - p);
  launch_elementwise(context(x.device()).stream, x.numel(), [=] __device__(int64_t i) {
    M[i] = rng_uniform(seed, stream, first + static_cast<uint64_t>(i)) >= p ? keep : 0.f;
    Y[i] = X[i] * M[i];
  });
}

void dropout_backward(Tensor& dx, const Tensor& dy, const Tensor& mask) {
  const float *DY = dy.f32(), *M = mask.f32();
  float* DX = dx.f32();
  launch_elementwise(context(dy.device()).stream, dy.numel(),
                     [=] __device__(int64_t i) { DX[i] = DY[i] * M[i]; });
}

}  // namespace zf::cuda
