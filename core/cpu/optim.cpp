// CPU optimization ops (the optim family: what no layer type names): SGD with momentum and weight
// decay, the paper's filter-RMS renormalization, the accumulation of gradients (add_inplace), and
// the count of non-finite values a trainer checks its parameters with.
#include <cmath>
#include <cstdint>

#include "core/cpu/cpu_ops.h"

namespace zf::cpu {

void sgd_update(Tensor& w, Tensor& v, const Tensor& dw, float lr, float momentum,
                float weight_decay) {
  float *W = w.f32(), *V = v.f32();
  const float* G = dw.f32();
  const int64_t n = w.numel();
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    V[i] = momentum * V[i] - lr * (G[i] + weight_decay * W[i]);
    W[i] += V[i];
  }
}

void renorm_filters(Tensor& w, float radius) {
  float* W = w.f32();
  const int64_t filters = w.dim(0), len = w.numel() / filters;
#pragma omp parallel for schedule(static)
  for (int64_t f = 0; f < filters; ++f) {
    float* p = W + f * len;
    double ss = 0.0;
    for (int64_t i = 0; i < len; ++i) ss += static_cast<double>(p[i]) * p[i];
    const double rms = std::sqrt(ss / static_cast<double>(len));
    if (rms > radius) {
      const float scale = static_cast<float>(radius / rms);
      for (int64_t i = 0; i < len; ++i) p[i] *= scale;
    }
  }
}

void count_nonfinite(Tensor& count, const Tensor& x) {
  const float* X = x.f32();
  const int64_t n = x.numel();
  int64_t bad = 0;
#pragma omp parallel for reduction(+ : bad) schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) bad += !std::isfinite(X[i]);
  count.f32()[0] += static_cast<float>(bad);
}

void add_inplace(Tensor& y, const Tensor& x) {
  const float* X = x.f32();
  float* Y = y.f32();
  const int64_t n = x.numel();
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) Y[i] += X[i];
}

}  // namespace zf::cpu
