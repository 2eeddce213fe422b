// Launch helpers shared by the CUDA op files: grid sizes, a grid-stride elementwise launcher, block
// reductions, and the context's cuBLAS handle and scratch. An op takes its context from the device
// of its tensors (Context& c = context(y.device())) and queues everything on c.stream.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "core/context.h"
#include "cuda/cuda_check.h"

namespace zf::cuda {

constexpr int kThreads = 256;

inline unsigned blocks_for(int64_t n, int threads = kThreads) {
  int64_t b = (n + threads - 1) / threads;
  return static_cast<unsigned>(b < 1 ? 1 : (b > 65535 * 32 ? 65535 * 32 : b));
}

template <class F>
__global__ void elementwise_kernel(int64_t n, F f) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    f(i);
}

// f(i) for every i in [0, n), queued on `stream`.
template <class F>
void launch_elementwise(cudaStream_t stream, int64_t n, F f) {
  if (n <= 0) return;
  ZF_KERNEL(elementwise_kernel, blocks_for(n), kThreads, stream)(n, f);
  ZF_LAUNCH_CHECK();
}

// Sum of v over the block (all threads get the result); blockDim.x a multiple of 32, <= 1024.
template <class T>
__device__ T block_sum(T v) {
  __shared__ T part[32];
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  __syncthreads();
  if (lane == 0) part[warp] = v;
  __syncthreads();
  const int warps = static_cast<int>(blockDim.x / 32);
  T s = static_cast<int>(threadIdx.x) < warps ? part[threadIdx.x] : T(0);
  if (warp == 0)
    for (int o = 16; o > 0; o >>= 1) s += __shfl_down_sync(0xffffffffu, s, o);
  if (threadIdx.x == 0) part[0] = s;
  __syncthreads();
  return part[0];
}

__device__ inline float block_max(float v) {
  __shared__ float part[32];
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_down_sync(0xffffffffu, v, o));
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  __syncthreads();
  if (lane == 0) part[warp] = v;
  __syncthreads();
  const int warps = static_cast<int>(blockDim.x / 32);
  float s = static_cast<int>(threadIdx.x) < warps ? part[threadIdx.x] : -INFINITY;
  if (warp == 0)
    for (int o = 16; o > 0; o >>= 1) s = fmaxf(s, __shfl_down_sync(0xffffffffu, s, o));
  if (threadIdx.x == 0) part[0] = s;
  __syncthreads();
  return part[0];
}

// The context's cuBLAS handle, bound to c.stream; created on first use and kept for the process.
cublasHandle_t cublas(Context& c);

// The context's device scratch for op temporaries (split-K partials, per-sample losses): grows to
// the largest request and is then reused, so a training step calls no cudaMalloc after its first
// iteration (a Net reserves it up front). `slot` separates buffers one op needs at once. Contents
// are unspecified. Only work queued on c.stream may use it, which orders its users.
float* scratch(Context& c, size_t floats, int slot = 0);

#define ZF_CUBLAS_CHECK(call)                                             \
  do {                                                                    \
    cublasStatus_t zf_st_ = (call);                                       \
    if (zf_st_ != CUBLAS_STATUS_SUCCESS)                                  \
      ZF_THROW("cuBLAS error %d in %s", static_cast<int>(zf_st_), #call); \
  } while (0)

}  // namespace zf::cuda
