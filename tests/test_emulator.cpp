// The CUDA emulator's stream model (cuda/emu/cuda_runtime.h), which is what lets the emu.* tests
// catch a launch or copy that forgot its context's stream: work queued on the legacy default
// stream or on a stream that does not exist fails, a cuBLAS handle must be bound to a created
// stream, and a context's device must exist. Built into zf_tests_emu only.
#include <gtest/gtest.h>

#include <cmath>

#include "core/context.h"
#include "core/tensor.h"
// After the standard and gtest headers: the emulator's runtime header defines CUDA's keywords.
#include <cublas_v2.h>
#include <cuda_runtime.h>

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
