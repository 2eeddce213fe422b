// CPU elementwise ops: ReLU and its three deconvnet rules, dropout, accumulation.
#include <cstdint>

#include "core/cpu/cpu_ops.h"
#include "core/rng.h"

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

void dropout_forward(Tensor& y, Tensor& mask, const Tensor& x, float p, uint64_t seed,
                     uint64_t stream) {
  const float* X = x.f32();
  float *Y = y.f32(), *M = mask.f32();
  const int64_t n = x.numel();
  const float keep = 1.f / (1.f - p);
  // One Philox block gives the 4 draws of elements 4b..4b+3 (exactly what rng_uniform(i) returns).
  const int64_t blocks = (n + 3) / 4;
#pragma omp parallel for schedule(static) if (n > kParallelMin)
  for (int64_t b = 0; b < blocks; ++b) {
    const U32x4 r =
        philox4x32(static_cast<uint32_t>(b), static_cast<uint32_t>(static_cast<uint64_t>(b) >> 32),
                   static_cast<uint32_t>(stream), static_cast<uint32_t>(stream >> 32), seed);
    for (int lane = 0; lane < 4 && 4 * b + lane < n; ++lane) {
      const int64_t i = 4 * b + lane;
      M[i] = static_cast<float>(r.v[lane] >> 8) * (1.0f / 16777216.0f) >= p ? keep : 0.f;
      Y[i] = X[i] * M[i];
    }
  }
}

void dropout_backward(Tensor& dx, const Tensor& dy, const Tensor& mask) {
  const float *DY = dy.f32(), *M = mask.f32();
  float* DX = dx.f32();
  const int64_t n = dy.numel();
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) DX[i] = DY[i] * M[i];
}

void add_inplace(Tensor& y, const Tensor& x) {
  const float* X = x.f32();
  float* Y = y.f32();
  const int64_t n = x.numel();
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) Y[i] += X[i];
}

}  // namespace zf::cpu
