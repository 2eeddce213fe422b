// TF32 tensor-core math (sm_80+) for the conv family's TF32 path (cuda/conv_gemm.h): the rounding
// of an FP32 value to TF32 and the warp-wide product D = A*B + C of one m16n8k8 mma.sync (A 16x8,
// B 8x8, TF32 in, FP32 accumulate). On nvcc for sm_80 and newer these are the PTX instructions
// themselves; under the CUDA emulator (and on older GPUs, where it runs as ordinary device code)
// the same functions model them exactly, so the CPU-vs-CUDA tests check the TF32 path everywhere.
//
// The model (tests/test_emulator.cpp checks it against a float64 product):
// - to_tf32 is cvt.rna.tf32.f32: round to nearest on the 10 explicit mantissa bits, ties away from
//   zero (add half a TF32 ulp to the magnitude, clear the 13 low bits); infinities stay, NaN
//   becomes the canonical NaN; a finite value past TF32's largest rounds to infinity.
// - mma reads only the TF32 bits of its operands (the low 13 bits are dropped, as if truncated),
//   so a kernel that forgets to_tf32 computes something else than the rounded product.
// - Fragments as the PTX ISA lays them out for .m16n8k8 with .tf32 (groupID g = lane >> 2,
//   threadID_in_group q = lane % 4): a0 = A[g][q], a1 = A[g+8][q], a2 = A[g][q+4],
//   a3 = A[g+8][q+4]; b0 = B[q][g], b1 = B[q+4][g]; c0/d0 = C[g][2q], c1 = C[g][2q+1],
//   c2 = C[g+8][2q], c3 = C[g+8][2q+1].
// - Each output is accumulated in FP32 in a fixed order: d = c, then d += a[k] * b[k] for
//   k = 0..7, each step one fused multiply-add (one rounding; a product of two TF32 values is
//   exact in FP32 anyway, short of underflow). The hardware's internal order is not documented;
//   this is the one the model fixes; the conv tests' tolerance against the CPU on the same rounded
//   inputs (3e-5 relative) covers the difference.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace zf::cuda {

#if !defined(ZF_CUDA_EMULATOR) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#define ZF_HAVE_MMA_TF32 1  // the PTX instructions; otherwise the model below
#endif

// The TF32 bits of x, rounded as cvt.rna.tf32.f32 rounds.
__device__ __forceinline__ uint32_t to_tf32(float x) {
#ifdef ZF_HAVE_MMA_TF32
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
  return r;
#else
  const uint32_t u = __float_as_uint(x);
  if ((u & 0x7f800000u) == 0x7f800000u) return (u & 0x007fffffu) ? 0x7fffffffu : u;
  return (u + 0x1000u) & 0xffffe000u;  // a carry out of the mantissa bumps the exponent: right
#endif
}

namespace mma_model {

// The TF32 value of a register's bits: the low 13 are dropped.
__device__ __forceinline__ float tf32_value(uint32_t bits) {
  return __uint_as_float(bits & 0xffffe000u);
}

// d[i] += row (i >> 1) of A times column (i & 1) of B, in the model's order, from the rows g and
// g+8 of A (arow[h][k] = A[g+8h][k]) and the columns 2q and 2q+1 of B (bcol[c][k] = B[k][2q+c]).
__device__ __forceinline__ void accumulate(float d[4], const float arow[2][8],
                                           const float bcol[2][8]) {
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    float s = d[i];
#pragma unroll
    for (int k = 0; k < 8; ++k) s = fmaf(arow[i >> 1][k], bcol[i & 1][k], s);
    d[i] = s;
  }
}

// The model with warp shuffles: each lane gathers the rows and columns it needs from the lanes
// that hold them (two registers per shuffle, 16 shuffles). Runs on any GPU and on the emulator.
__device__ __forceinline__ void mma_shuffled(float d[4], const uint32_t a[4], const uint32_t b[2]) {
  const unsigned all = 0xffffffffu;
  const int lane = static_cast<int>(threadIdx.x % 32), g = lane >> 2, q = lane & 3;
  const uint64_t a01 = a[0] | static_cast<uint64_t>(a[1]) << 32;
  const uint64_t a23 = a[2] | static_cast<uint64_t>(a[3]) << 32;
  const uint64_t b01 = b[0] | static_cast<uint64_t>(b[1]) << 32;
  float arow[2][8], bcol[2][8];
#pragma unroll
  for (int j = 0; j < 4; ++j) {  // A[g][j], A[g+8][j], A[g][j+4], A[g+8][j+4] are in lane 4g+j
    const uint64_t lo = __shfl_sync(all, a01, 4 * g + j), hi = __shfl_sync(all, a23, 4 * g + j);
    arow[0][j] = tf32_value(static_cast<uint32_t>(lo));
    arow[1][j] = tf32_value(static_cast<uint32_t>(lo >> 32));
    arow[0][j + 4] = tf32_value(static_cast<uint32_t>(hi));
    arow[1][j + 4] = tf32_value(static_cast<uint32_t>(hi >> 32));
  }
#pragma unroll
  for (int c = 0; c < 2; ++c)
#pragma unroll
    for (int j = 0; j < 4; ++j) {  // B[j][n] and B[j+4][n] are in lane 4n+j
      const uint64_t v = __shfl_sync(all, b01, 4 * (2 * q + c) + j);
      bcol[c][j] = tf32_value(static_cast<uint32_t>(v));
      bcol[c][j + 4] = tf32_value(static_cast<uint32_t>(v >> 32));
    }
  accumulate(d, arow, bcol);
}

#ifdef ZF_CUDA_EMULATOR
// The same model for the emulator in one warp exchange instead of 16 (the conv tests run thousands
// of these per block): the lanes post their fragments, and each reads the ones it needs.
inline void mma_gathered(float d[4], const uint32_t a[4], const uint32_t b[2]) {
  struct Posted {
    uint32_t a[4], b[2];
  };
  const Posted mine = {{a[0], a[1], a[2], a[3]}, {b[0], b[1]}};
  const Posted* warp =
      static_cast<const Posted*>(zf_emu::gather(0xffffffffu, &mine, sizeof(Posted)));
  const int lane = static_cast<int>(threadIdx.x % 32), g = lane >> 2, q = lane & 3;
  float arow[2][8], bcol[2][8];
  for (int j = 0; j < 4; ++j) {
    const Posted& p = warp[4 * g + j];
    for (int h = 0; h < 2; ++h) {
      arow[h][j] = tf32_value(p.a[h]);
      arow[h][j + 4] = tf32_value(p.a[h + 2]);
    }
  }
  for (int c = 0; c < 2; ++c)
    for (int j = 0; j < 4; ++j) {
      const Posted& p = warp[4 * (2 * q + c) + j];
      bcol[c][j] = tf32_value(p.b[0]);
      bcol[c][j + 4] = tf32_value(p.b[1]);
    }
  accumulate(d, arow, bcol);
}
#endif

}  // namespace mma_model

// d = A*B + d over the warp: every lane of the (fully converged) warp calls it with its fragments
// a (4 TF32 values of A), b (2 of B) and d (4 accumulators), laid out as above. Block dimensions
// other than x must be 1 (the lane is threadIdx.x % 32).
__device__ __forceinline__ void mma_tf32_16x8x8(float d[4], const uint32_t a[4],
                                                const uint32_t b[2]) {
#if defined(ZF_HAVE_MMA_TF32)
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
      "{%8, %9}, {%0, %1, %2, %3};"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#elif defined(ZF_CUDA_EMULATOR)
  mma_model::mma_gathered(d, a, b);
#else
  mma_model::mma_shuffled(d, a, b);  // a GPU older than sm_80: slow, but the same numbers
#endif
}

}  // namespace zf::cuda
