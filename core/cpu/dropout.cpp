// CPU inverted dropout (the dropout family): the mask comes from the seeded Philox stream of
// core/rng.h, so that it equals the CUDA backend's element for element.
#include <cstdint>

#include "core/cpu/cpu_ops.h"
#include "core/rng.h"

namespace zf::cpu {

void dropout_forward(Tensor& y, Tensor& mask, const Tensor& x, float p, uint64_t seed,
                     uint64_t stream, uint64_t first) {
  const float* X = x.f32();
  float *Y = y.f32(), *M = mask.f32();
  const int64_t n = x.numel();
  const float keep = 1.f / (1.f - p);
  // One Philox block gives the 4 draws of counters 4b..4b+3 (exactly what rng_uniform(i) returns);
  // element i draws counter first + i.
  const int64_t lo = static_cast<int64_t>(first), hi = lo + n;
  const int64_t b0 = lo / 4, b1 = (hi + 3) / 4;
#pragma omp parallel for schedule(static) if (n > kParallelMin)
  for (int64_t b = b0; b < b1; ++b) {
    const U32x4 r =
        philox4x32(static_cast<uint32_t>(b), static_cast<uint32_t>(static_cast<uint64_t>(b) >> 32),
                   static_cast<uint32_t>(stream), static_cast<uint32_t>(stream >> 32), seed);
    for (int lane = 0; lane < 4; ++lane) {
      const int64_t g = 4 * b + lane;
      if (g < lo || g >= hi) continue;
      const int64_t i = g - lo;
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

}  // namespace zf::cpu
