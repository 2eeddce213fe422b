// The CUDA emulator's stream model (cuda/emu/cuda_runtime.h), which is what lets the emu.* tests
// catch a launch or copy that forgot its context's stream: work queued on the legacy default
// stream or on a stream that does not exist fails, a cuBLAS handle must be bound to a created
// stream, and a context's device must exist. Built into zf_tests_emu only.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/context.h"
#include "core/tensor.h"
// After the standard and gtest headers: the emulator's runtime header defines CUDA's keywords.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "cuda/mma.h"

namespace {

__global__ void write_ones_kernel(float* p) {
  p[threadIdx.x] = 1.f;
}

struct DeviceFloats {
  float* p = nullptr;
  explicit DeviceFloats(size_t n) { EXPECT_EQ(cudaMalloc(&p, n * sizeof(float)), cudaSuccess); }
  ~DeviceFloats() { cudaFree(p); }
};

}  // namespace

TEST(Emulator, LaunchesNeedACreatedStream) {
  DeviceFloats buf(32);  // the emulator fills fresh memory with 0xff bytes: NaN
  cudaGetLastError();
  ZF_KERNEL(write_ones_kernel, 1, 32, nullptr)(buf.p);
  EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchFailure) << "stream 0";
  ZF_KERNEL(write_ones_kernel, 1, 32, cudaStreamLegacy)(buf.p);
  EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchFailure) << "cudaStreamLegacy";
  EXPECT_TRUE(std::isnan(buf.p[0])) << "a refused launch ran";

  cudaStream_t s = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
  ZF_KERNEL(write_ones_kernel, 1, 32, s)(buf.p);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  EXPECT_EQ(buf.p[31], 1.f);
  EXPECT_EQ(cudaMemsetAsync(buf.p, 0, 4, s), cudaSuccess);
  EXPECT_EQ(buf.p[0], 0.f);
  EXPECT_NE(cudaMemsetAsync(buf.p, 0, 4, nullptr), cudaSuccess);
  float host = 0.f;
  EXPECT_NE(cudaMemcpyAsync(&host, buf.p, 4, cudaMemcpyDeviceToHost, cudaStreamLegacy),
            cudaSuccess);
  ASSERT_EQ(cudaStreamDestroy(s), cudaSuccess);
  ZF_KERNEL(write_ones_kernel, 1, 32, s)(buf.p);
  EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchFailure) << "a destroyed stream";
}

TEST(Emulator, EventsAndStreamWaits) {
  cudaStream_t a = nullptr, b = nullptr;
  cudaEvent_t e = nullptr;
  ASSERT_EQ(cudaStreamCreate(&a), cudaSuccess);
  ASSERT_EQ(cudaStreamCreateWithFlags(&b, cudaStreamNonBlocking), cudaSuccess);
  ASSERT_EQ(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), cudaSuccess);
  EXPECT_EQ(cudaEventRecord(e, a), cudaSuccess);
  EXPECT_EQ(cudaStreamWaitEvent(b, e, 0), cudaSuccess);
  EXPECT_EQ(cudaEventQuery(e), cudaSuccess);  // work is done when its call returns
  EXPECT_EQ(cudaEventSynchronize(e), cudaSuccess);
  EXPECT_EQ(cudaStreamSynchronize(b), cudaSuccess);
  EXPECT_NE(cudaEventRecord(e, nullptr), cudaSuccess);
  EXPECT_EQ(cudaEventDestroy(e), cudaSuccess);
  EXPECT_NE(cudaEventQuery(e), cudaSuccess);
  EXPECT_EQ(cudaStreamDestroy(a), cudaSuccess);
  EXPECT_EQ(cudaStreamDestroy(b), cudaSuccess);
}

TEST(Emulator, CublasRunsOnlyOnItsStream) {
  DeviceFloats a(4), c(4);
  for (int i = 0; i < 4; ++i) a.p[i] = static_cast<float>(i + 1);
  cublasHandle_t h = nullptr;
  ASSERT_EQ(cublasCreate(&h), CUBLAS_STATUS_SUCCESS);
  const float one = 1.f, zero = 0.f;
  EXPECT_EQ(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &one, a.p, 2, a.p, 2, &zero, c.p, 2),
            CUBLAS_STATUS_EXECUTION_FAILED)
      << "no stream set";
  cudaStream_t s = nullptr;
  ASSERT_EQ(cudaStreamCreate(&s), cudaSuccess);
  ASSERT_EQ(cublasSetStream(h, s), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &one, a.p, 2, a.p, 2, &zero, c.p, 2),
            CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(c.p[0], 1.f * 1.f + 3.f * 2.f);  // column-major [[1,3],[2,4]] squared
  cublasDestroy(h);
  cudaStreamDestroy(s);
}

TEST(Emulator, ContextsAreOnTheirDevice) {
  zf::Context& c = zf::context(zf::Device::CUDA);
  EXPECT_NE(c.stream, nullptr);
  EXPECT_NE(c.stream, cudaStreamLegacy);
  // The emulator has one GPU: cuda:1 is refused, for its context and for its memory.
  EXPECT_THROW(zf::context(zf::Device::cuda(1)), zf::Error);
  EXPECT_THROW(zf::Tensor(zf::Shape{4}, zf::Device::cuda(1)), zf::Error);
}

// ---- the TF32 tensor-core model (cuda/mma.h) --------------------------------------------------

namespace {

// x rounded to TF32 as cvt.rna.tf32.f32 does, computed apart from cuda/mma.h's bit arithmetic: 11
// significant bits, to nearest, ties away from zero (std::round).
float tf32_round(float x) {
  if (!std::isfinite(x) || x == 0.f) return x;
  int e = 0;
  const double m = std::frexp(static_cast<double>(x), &e);
  return static_cast<float>(std::ldexp(std::round(m * 2048.0) / 2048.0, e));
}

__global__ void to_tf32_kernel(float* out, const float* in, int n) {
  const int i = threadIdx.x;
  if (i < n) out[i] = __uint_as_float(zf::cuda::to_tf32(in[i]));
}

// Each warp w multiplies its own A (16x8, row-major), B (8x8, row-major) and C (16x8) from A +
// 128w, B + 64w, C + 128w into D + 128w, every lane loading its fragments as the PTX ISA's tables
// for mma.m16n8k8 .tf32 lay them out (written here from those tables, not from cuda/mma.h).
template <bool Shuffled>
__global__ void mma_kernel(float* D, const float* A, const float* B, const float* C) {
  const int lane = threadIdx.x % 32, w = threadIdx.x / 32, g = lane >> 2, q = lane & 3;
  const float *a_ = A + 128 * w, *b_ = B + 64 * w, *c_ = C + 128 * w;
  float* d_ = D + 128 * w;
  using zf::cuda::to_tf32;
  const uint32_t a[4] = {to_tf32(a_[g * 8 + q]), to_tf32(a_[(g + 8) * 8 + q]),
                         to_tf32(a_[g * 8 + q + 4]), to_tf32(a_[(g + 8) * 8 + q + 4])};
  const uint32_t b[2] = {to_tf32(b_[q * 8 + g]), to_tf32(b_[(q + 4) * 8 + g])};
  const int at[4] = {g * 8 + 2 * q, g * 8 + 2 * q + 1, (g + 8) * 8 + 2 * q,
                     (g + 8) * 8 + 2 * q + 1};
  float d[4];
  for (int i = 0; i < 4; ++i) d[i] = c_[at[i]];
  if (Shuffled) {
    zf::cuda::mma_model::mma_shuffled(d, a, b);
  } else {
    zf::cuda::mma_tf32_16x8x8(d, a, b);
  }
  for (int i = 0; i < 4; ++i) d_[at[i]] = d[i];
}

// One warp whose A and B fragment registers all hold 1 + 2^-11 + 2^-12 unrounded: D = A*B.
__global__ void mma_unrounded_kernel(float* out) {
  const float v = 1.f + std::ldexp(1.f, -11) + std::ldexp(1.f, -12);
  const uint32_t bits = __float_as_uint(v);
  const uint32_t a[4] = {bits, bits, bits, bits}, b[2] = {bits, bits};
  float acc[4] = {0.f, 0.f, 0.f, 0.f};
  zf::cuda::mma_tf32_16x8x8(acc, a, b);
  if (threadIdx.x == 0) out[0] = acc[0];
}

struct MmaRun {
  std::vector<float> a, b, c, d;
};

// Two warps' products on random data through the kernel (model `Shuffled` or the emulator's).
template <bool Shuffled>
MmaRun run_mma(uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-2.f, 2.f);
  MmaRun r;
  for (auto* v : {&r.a, &r.b, &r.c}) {
    v->resize(v == &r.b ? 128 : 256);
    for (float& x : *v) x = u(gen);
  }
  DeviceFloats a(256), b(128), c(256), d(256);
  std::memcpy(a.p, r.a.data(), 256 * sizeof(float));
  std::memcpy(b.p, r.b.data(), 128 * sizeof(float));
  std::memcpy(c.p, r.c.data(), 256 * sizeof(float));
  cudaStream_t s = nullptr;
  EXPECT_EQ(cudaStreamCreate(&s), cudaSuccess);
  ZF_KERNEL(mma_kernel<Shuffled>, 1, 64, s)(d.p, a.p, b.p, c.p);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  cudaStreamDestroy(s);
  r.d.assign(d.p, d.p + 256);
  return r;
}

// D against a float64 product of the TF32-rounded inputs (any fragment misplaced is off by O(1)),
// and bit for bit against the model's documented order: d = c, then fmaf over k = 0..7.
void expect_mma_product(const MmaRun& r) {
  for (int w = 0; w < 2; ++w)
    for (int i = 0; i < 16; ++i)
      for (int j = 0; j < 8; ++j) {
        double exact = r.c[128 * w + i * 8 + j], scale = std::fabs(exact);
        float ordered = r.c[128 * w + i * 8 + j];
        for (int k = 0; k < 8; ++k) {
          const float x = tf32_round(r.a[128 * w + i * 8 + k]);
          const float y = tf32_round(r.b[64 * w + k * 8 + j]);
          exact += static_cast<double>(x) * y;
          scale += std::fabs(static_cast<double>(x) * y);
          ordered = std::fmaf(x, y, ordered);
        }
        const float got = r.d[128 * w + i * 8 + j];
        EXPECT_NEAR(got, exact, 1e-6 * scale) << "warp " << w << " D[" << i << "][" << j << "]";
        EXPECT_EQ(got, ordered) << "warp " << w << " D[" << i << "][" << j << "]";
      }
}

}  // namespace

// cvt.rna.tf32.f32: ties away from zero (not to even), the carry into the exponent, overflow to
// infinity, infinities and NaN kept, already-TF32 values unchanged; and random values against the
// independent rounding above.
TEST(Emulator, Tf32RoundingIsCvtRna) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> in = {1.f + std::ldexp(1.f, -11),  // a tie: up, where ties-to-even keeps 1
                           -(1.f + std::ldexp(1.f, -11)),
                           1.f + 3 * std::ldexp(1.f, -11),  // a tie above an odd last bit
                           1.f + std::ldexp(1.f, -11) - std::ldexp(1.f, -23),  // just below: down
                           2.f - std::ldexp(1.f, -23),  // rounds up into the next binade
                           std::numeric_limits<float>::max(),
                           inf,
                           -inf,
                           0.f,
                           -0.f,
                           1.5f};
  std::vector<float> want = {1.f + std::ldexp(1.f, -10),
                             -(1.f + std::ldexp(1.f, -10)),
                             1.f + std::ldexp(1.f, -9),
                             1.f,
                             2.f,
                             inf,
                             inf,
                             -inf,
                             0.f,
                             -0.f,
                             1.5f};
  std::mt19937 gen(7);
  std::uniform_real_distribution<float> u(-100.f, 100.f);
  while (in.size() < 255) {
    in.push_back(u(gen));
    want.push_back(tf32_round(in.back()));
  }
  in.push_back(std::numeric_limits<float>::quiet_NaN());
  DeviceFloats din(in.size()), dout(in.size());
  std::memcpy(din.p, in.data(), in.size() * sizeof(float));
  cudaStream_t s = nullptr;
  ASSERT_EQ(cudaStreamCreate(&s), cudaSuccess);
  ZF_KERNEL(to_tf32_kernel, 1, 256, s)(dout.p, din.p, static_cast<int>(in.size()));
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  cudaStreamDestroy(s);
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(dout.p[i], want[i]) << "to_tf32(" << in[i] << ")";
    EXPECT_EQ(std::signbit(dout.p[i]), std::signbit(want[i])) << "to_tf32(" << in[i] << ")";
    uint32_t bits = 0;
    std::memcpy(&bits, &dout.p[i], 4);
    EXPECT_EQ(bits & 0x1fffu, 0u) << "to_tf32(" << in[i] << ") keeps low bits";
  }
  EXPECT_TRUE(std::isnan(dout.p[in.size() - 1]));
}

// The emulator's mma.sync (two warps, so the warp's lanes are found in the block) and the
// shuffle model that GPUs older than sm_80 run.
TEST(Emulator, MmaTf32MatchesFloat64Product) {
  expect_mma_product(run_mma<false>(11));
  expect_mma_product(run_mma<true>(12));
}

// The operands' bits below TF32's are dropped by the product, not rounded: a kernel that skipped
// to_tf32 would not get the rounded product.
TEST(Emulator, MmaTf32ReadsOnlyTf32Bits) {
  DeviceFloats d(4);
  cudaStream_t s = nullptr;
  ASSERT_EQ(cudaStreamCreate(&s), cudaSuccess);
  ZF_KERNEL(mma_unrounded_kernel, 1, 32, s)(d.p);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  cudaStreamDestroy(s);
  EXPECT_EQ(d.p[0], 8.f) << "truncated to 1: 8 products of 1";
}
