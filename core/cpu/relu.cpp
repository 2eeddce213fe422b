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

void relu_backward(Tensor& dx, const Tensor& dy, const Tensor& x) {
  const float *DY = dy.f32(), *X = x.f32();
  float* DX = dx.f32();
  const int64_t n = x.numel();
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) DX[i] = X[i] > 0.f ? DY[i] : 0.f;
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
