// CPU ReLU (the relu family): forward, backward, and the three rules by which the deconvnet passes
// a signal back through a rectification (relu_project).
#include <cstdint>

#include "core/cpu/cpu_ops.h"

namespace zf::cpu {

void relu_forward(Tensor& y, const Tensor& x) {
  const float* X = x.f32();
  float* Y = y.f32();
  const int64_t n = x.numel();
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) Y[i] = X[i] > 0.f ? X[i] : 0.f;
}

// dx = x > 0 ? dy : +0, as a bit mask on dy's bits: the select GCC made of the conditional was a
// branch on the sign of random data, 3x slower than the forward pass (10x where the tensor is too
// small to be split among threads).
void relu_backward(Tensor& dx, const Tensor& dy, const Tensor& x) {
  const float* X = x.f32();
  const uint32_t* DY = static_cast<const uint32_t*>(dy.raw());
  uint32_t* DX = static_cast<uint32_t*>(dx.raw());
  const int64_t n = x.numel();
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) DX[i] = DY[i] & (X[i] > 0.f ? 0xffffffffu : 0u);
}

void relu_project(Tensor& out, const Tensor& r, const Tensor& x, ReluRule rule) {
  const float *R = r.f32(), *X = x.f32();
  float* O = out.f32();
  const int64_t n = r.numel();
  switch (rule) {
    case ReluRule::Deconv:
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
      for (int64_t i = 0; i < n; ++i) O[i] = R[i] > 0.f ? R[i] : 0.f;
      break;
    case ReluRule::Guided:
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
      for (int64_t i = 0; i < n; ++i) O[i] = (R[i] > 0.f && X[i] > 0.f) ? R[i] : 0.f;
      break;
    case ReluRule::Backprop:
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
      for (int64_t i = 0; i < n; ++i) O[i] = X[i] > 0.f ? R[i] : 0.f;
      break;
  }
}

}  // namespace zf::cpu
