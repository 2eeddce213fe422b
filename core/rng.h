// Counter-based RNG (Philox4x32-10, Salmon et al. 2011): the value drawn for element i depends only
// on (seed, stream, i), never on thread order, so weight init, dropout masks and crops are
// identical on every backend and survive checkpoint/resume by storing a counter.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/index_math.h"

namespace zf {

struct U32x4 {
  uint32_t v[4];
};

ZF_HD uint32_t mulhilo32(uint32_t a, uint32_t b, uint32_t* hi) {
  uint64_t p = static_cast<uint64_t>(a) * b;
  *hi = static_cast<uint32_t>(p >> 32);
  return static_cast<uint32_t>(p);
}

// Ten rounds of Philox4x32 on counter (c0..c3) with a 64-bit key.
ZF_HD U32x4 philox4x32(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint64_t key) {
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int r = 0; r < 10; ++r) {
    uint32_t hi0, hi1;
    uint32_t lo0 = mulhilo32(0xD2511F53u, c0, &hi0);
    uint32_t lo1 = mulhilo32(0xCD9E8D57u, c2, &hi1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return U32x4{{c0, c1, c2, c3}};
}

// 32 random bits for element `index` of stream `stream` under `seed`.
ZF_HD uint32_t rng_u32(uint64_t seed, uint64_t stream, uint64_t index) {
  U32x4 r = philox4x32(static_cast<uint32_t>(index >> 2), static_cast<uint32_t>(index >> 34),
                       static_cast<uint32_t>(stream), static_cast<uint32_t>(stream >> 32), seed);
  return r.v[index & 3];
}

// Uniform in [0, 1) with 24 bits.
ZF_HD float rng_uniform(uint64_t seed, uint64_t stream, uint64_t index) {
  return static_cast<float>(rng_u32(seed, stream, index) >> 8) * (1.0f / 16777216.0f);
}

// Standard normal by Box-Muller on two uniforms drawn from consecutive element indices.
inline float rng_normal(uint64_t seed, uint64_t stream, uint64_t index) {
  U32x4 r = philox4x32(static_cast<uint32_t>(index), static_cast<uint32_t>(index >> 32),
                       static_cast<uint32_t>(stream), static_cast<uint32_t>(stream >> 32), seed);
  double u1 = (static_cast<double>(r.v[0] >> 8) + 1.0) / 16777217.0;  // (0, 1]
  double u2 = static_cast<double>(r.v[1] >> 8) / 16777216.0;
  return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
}

}  // namespace zf
