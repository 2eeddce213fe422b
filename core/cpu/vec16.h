// 16 floats as one value for the CPU kernels' hand-vectorized loops (the GCC/Clang vector extension:
// a zmm register with AVX-512, two ymm with AVX2), loads and stores through memcpy (unaligned vector
// moves), and the stride-2 moves of im2col and col2im.
#pragma once

#include <cstring>

namespace zf::cpu {

typedef float V16 __attribute__((vector_size(64)));
typedef int I16 __attribute__((vector_size(64)));

inline V16 load16(const float* p) {
  V16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store16(float* p, V16 v) {
  std::memcpy(p, &v, sizeof v);
}

// out[i] = in[2 i] for i < n. Sixteen at a time from two loads (their even lanes) while the loads
// stay within the `avail` floats that follow `in`; the rest one by one.
inline void gather_stride2(float* out, const float* in, int n, int avail) {
  const I16 even = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30};
  int i = 0;
  for (; i + 16 <= n && 2 * i + 32 <= avail; i += 16)
    store16(out + i, __builtin_shuffle(load16(in + 2 * i), load16(in + 2 * i + 16), even));
  for (; i < n; ++i) out[i] = in[2 * i];
}

// o[2 i] += in[i] for i < n, each element's addition as the scalar loop makes it (the odd elements
// are stored back unchanged), sixteen at a time while 32 floats from o stay within `avail`.
inline void scatter_add_stride2(float* o, const float* in, int n, int avail) {
  const I16 lo = {0, 16, 1, 16, 2, 16, 3, 16, 4, 16, 5, 16, 6, 16, 7, 16};
  const I16 hi = {8, 16, 9, 16, 10, 16, 11, 16, 12, 16, 13, 16, 14, 16, 15, 16};
  const I16 is_even = {-1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0};
  const V16 zero = {};
  int i = 0;
  for (; i + 16 <= n && 2 * i + 32 <= avail; i += 16) {
    const V16 v = load16(in + i);
    const V16 a = load16(o + 2 * i), b = load16(o + 2 * i + 16);
    store16(o + 2 * i, is_even ? a + __builtin_shuffle(v, zero, lo) : a);
    store16(o + 2 * i + 16, is_even ? b + __builtin_shuffle(v, zero, hi) : b);
  }
  for (; i < n; ++i) o[2 * i] += in[i];
}

}  // namespace zf::cpu
