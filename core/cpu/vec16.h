// 16 floats as one value for the CPU kernels' hand-vectorized loops (the GCC/Clang vector extension:
// a zmm register with AVX-512, two ymm with AVX2), loads and stores through memcpy (unaligned vector
// moves), and the stride-2 moves of im2col and col2im.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace zf::cpu {

typedef float V16 __attribute__((vector_size(64)));
typedef int I16 __attribute__((vector_size(64)));  // lane masks of V16 compares; indices

inline V16 load16(const float* p) {
  V16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store16(float* p, V16 v) {
  std::memcpy(p, &v, sizeof v);
}

// The first n <= 16 lanes: loaded, the others `fill` (nothing read past p + n); stored, nothing
// written past p + n. AVX-512's masked moves where there are (a memcpy of a variable count is a
// library call: on pool5's 6-wide rows it took as long as the pooling).
inline V16 load16_first(const float* p, int n, V16 fill) {
#if defined(__AVX512F__)
  const __mmask16 mask = static_cast<__mmask16>((1u << n) - 1);
  return reinterpret_cast<V16>(_mm512_mask_loadu_ps(reinterpret_cast<__m512>(fill), mask, p));
#else
  for (int i = 0; i < n; ++i) fill[i] = p[i];
  return fill;
#endif
}
inline void store16_first(float* p, V16 v, int n) {
#if defined(__AVX512F__)
  _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1), reinterpret_cast<__m512>(v));
#else
  for (int i = 0; i < n; ++i) p[i] = v[i];
#endif
}
inline void store16_first(int32_t* p, I16 v, int n) {
#if defined(__AVX512F__)
  _mm512_mask_storeu_epi32(p, static_cast<__mmask16>((1u << n) - 1), reinterpret_cast<__m512i>(v));
#else
  for (int i = 0; i < n; ++i) p[i] = v[i];
#endif
}

// out[i] = in[2 i] for i < n. Sixteen at a time from two loads (their even lanes) while the loads
// stay within the `avail` floats that follow `in`; the rest one by one.
inline void gather_stride2(float* out, const float* in, int n, int avail) {
  int i = 0;
  for (; i + 16 <= n && 2 * i + 32 <= avail; i += 16) {
    const V16 a = load16(in + 2 * i), b = load16(in + 2 * i + 16);
    store16(out + i, __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24,
                                             26, 28, 30));
  }
  for (; i < n; ++i) out[i] = in[2 * i];
}

// o[2 i] += in[i] for i < n, each element's addition as the scalar loop makes it: sixteen at a
// time while 32 floats from o stay within `avail`, the sums taken into the even lanes and the odd
// lanes stored back as they were (not plus zero, which would turn -0 into +0).
inline void scatter_add_stride2(float* o, const float* in, int n, int avail) {
  const V16 zero = {};
  int i = 0;
  for (; i + 16 <= n && 2 * i + 32 <= avail; i += 16) {
    const V16 v = load16(in + i);
    const V16 a = load16(o + 2 * i), b = load16(o + 2 * i + 16);
    const V16 sa = a + __builtin_shufflevector(v, zero, 0, 16, 1, 16, 2, 16, 3, 16, 4, 16, 5, 16,
                                               6, 16, 7, 16);
    const V16 sb = b + __builtin_shufflevector(v, zero, 8, 16, 9, 16, 10, 16, 11, 16, 12, 16, 13,
                                               16, 14, 16, 15, 16);
    store16(o + 2 * i, __builtin_shufflevector(sa, a, 0, 17, 2, 19, 4, 21, 6, 23, 8, 25, 10, 27,
                                               12, 29, 14, 31));
    store16(o + 2 * i + 16, __builtin_shufflevector(sb, b, 0, 17, 2, 19, 4, 21, 6, 23, 8, 25, 10,
                                                    27, 12, 29, 14, 31));
  }
  for (; i < n; ++i) o[2 * i] += in[i];
}

}  // namespace zf::cpu
