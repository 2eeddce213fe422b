// ZF_CUDA_CHECK wraps every CUDA runtime call, ZF_LAUNCH_CHECK follows every kernel launch; both
// throw zf::Error with file:line. With ZF_SYNC=1 in the environment each launch is followed by a
// device synchronisation, so a fault is reported at the kernel that caused it.
#pragma once

#include <cuda_runtime.h>

#include "core/check.h"

// kernel<<<grid, block, 0, stream>>>(args) is written ZF_KERNEL(kernel, grid, block, stream)(args),
// so that the CUDA emulator (cuda/emu/cuda_runtime.h, which defines it first) can run the same
// sources on the CPU. Every launch names its stream (its context's, core/context.h): the emulator
// fails a launch on the legacy default stream.
#ifndef ZF_KERNEL
#define ZF_KERNEL(kernel, grid, block, stream) kernel<<<grid, block, 0, stream>>>
#endif

namespace zf::cuda {
bool sync_each_launch();  // ZF_SYNC=1
}

#define ZF_CUDA_CHECK(call)                                                    \
  do {                                                                         \
    cudaError_t zf_err_ = (call);                                              \
    if (zf_err_ != cudaSuccess)                                                \
      ZF_THROW("CUDA error %s (%d) in %s: %s", cudaGetErrorName(zf_err_),      \
               static_cast<int>(zf_err_), #call, cudaGetErrorString(zf_err_)); \
  } while (0)

#define ZF_LAUNCH_CHECK()                                                       \
  do {                                                                          \
    ZF_CUDA_CHECK(cudaGetLastError());                                          \
    if (::zf::cuda::sync_each_launch()) ZF_CUDA_CHECK(cudaDeviceSynchronize()); \
  } while (0)
