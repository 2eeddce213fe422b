// CPU inverted dropout (the dropout family): the mask comes from the seeded Philox stream of
// core/rng.h, so that it equals the CUDA backend's element for element.
#include <algorithm>
#include <cstdint>

#include "core/cpu/cpu_ops.h"
#include "core/rng.h"

namespace zf::cpu {

namespace {

constexpr int kLanes = 16;

// philox4x32 of the blocks b .. b + kLanes - 1 (counter (b, b >> 32, stream, stream >> 32), key
// seed) side by side, r[4 l + w] its word w for block b + l (the draw of counter 4 (b + l) + w):
// the same rounds, written over lanes so that the compiler vectorizes them (the 32 x 32 -> 64-bit
// products as vector multiplies).
void philox_lanes(uint32_t* r, int64_t b, uint64_t stream, uint64_t seed) {
  uint32_t c0[kLanes], c1[kLanes], c2[kLanes], c3[kLanes];
  for (int l = 0; l < kLanes; ++l) {
    const uint64_t block = static_cast<uint64_t>(b + l);
    c0[l] = static_cast<uint32_t>(block);
    c1[l] = static_cast<uint32_t>(block >> 32);
    c2[l] = static_cast<uint32_t>(stream);
    c3[l] = static_cast<uint32_t>(stream >> 32);
  }
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
#pragma omp simd
    for (int l = 0; l < kLanes; ++l) {
      const uint64_t p0 = uint64_t{0xD2511F53u} * c0[l], p1 = uint64_t{0xCD9E8D57u} * c2[l];
      const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1[l] ^ k0;
      const uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3[l] ^ k1;
      c1[l] = static_cast<uint32_t>(p1);
      c3[l] = static_cast<uint32_t>(p0);
      c0[l] = n0;
      c2[l] = n2;
    }
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  for (int l = 0; l < kLanes; ++l) {
    r[4 * l] = c0[l];
    r[4 * l + 1] = c1[l];
    r[4 * l + 2] = c2[l];
    r[4 * l + 3] = c3[l];
  }
}

}  // namespace

void dropout_forward(Tensor& y, Tensor& mask, const Tensor& x, float p, uint64_t seed,
                     uint64_t stream, uint64_t first) {
  const float* X = x.f32();
  float *Y = y.f32(), *M = mask.f32();
  const int64_t n = x.numel();
  const float keep = 1.f / (1.f - p);
  // One Philox block gives the 4 draws of counters 4b..4b+3 (exactly what rng_uniform(i) returns);
  // element i draws counter first + i. Blocks run kLanes at a time (philox_lanes, vectorized),
  // the elements of a group's first and last blocks outside [first, first + n) skipped.
  const int64_t lo = static_cast<int64_t>(first), hi = lo + n;
  const int64_t b0 = lo / 4, b1 = (hi + 3) / 4, groups = (b1 - b0 + kLanes - 1) / kLanes;
#pragma omp parallel for schedule(static) if (n > kParallelMin)
  for (int64_t gi = 0; gi < groups; ++gi) {
    const int64_t b = b0 + gi * kLanes;
    uint32_t r[4 * kLanes];
    philox_lanes(r, b, stream, seed);
    const int64_t g0 = std::max(lo, 4 * b), g1 = std::min(hi, 4 * (b + kLanes));
    const int64_t i0 = g0 - lo, j0 = g0 - 4 * b;  // element i0 draws r[j0]
#pragma omp simd
    for (int64_t k = 0; k < g1 - g0; ++k) {
      const int64_t i = i0 + k;
      M[i] = static_cast<float>(r[j0 + k] >> 8) * (1.0f / 16777216.0f) >= p ? keep : 0.f;
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
