// The CUDA emulator's stand-in for <cuda_runtime.h>: the slice of the CUDA runtime API and of the
// device language that zfnet's kernels use, executed on the CPU, so that every kernel in cuda/ runs
// and is tested on machines without a GPU (ctest runs the CPU-vs-CUDA tests through it as `emu.*`).
//
// How: a kernel is an ordinary C++ function; a launch runs the grid one block at a time, and each
// thread of the block as a fiber with its own stack (cuda/emu/emulator.cpp). __syncthreads(), the
// warp shuffles and zf_emu::gather suspend the calling fiber until every thread of its block (or
// warp) has arrived, so barrier placement, shared-memory tiling and warp reductions execute as
// written. __shared__ becomes `static`: one copy per kernel, shared by the block that is running.
// Odd blocks run their threads in reverse order, so a read of shared memory that misses a barrier
// sees stale data in one order or the other. A barrier that not every thread reaches, or a shuffle
// that not every lane of its warp joins, fails the launch (cudaGetLastError reports it, the message
// names the kernel's state).
//
// Streams and events are modelled as objects that must be created before use: a kernel launched, or
// an async copy or memset queued, on the legacy default stream (0, cudaStreamLegacy) or on a stream
// that does not exist fails, and so does a cublasSgemm whose handle has no stream set, so a call
// that forgot its context's stream is caught by the tests. Work runs synchronously (every stream's
// work is done when the call returns, so events are always complete). The emulator also counts the
// host waits it sees (device-to-host copies, device/stream/event synchronizations) itself, beside
// the backend's own counters, so that a test can tell that nothing bypasses cuda/runtime.cu.
//
// What it cannot show: speed, the memory model between warps without barriers (threads never run
// at once), races between streams, out-of-bounds reads inside host allocations, resource limits
// beyond 1024 threads/block.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __restrict__ __restrict
#define __align__(n) __attribute__((aligned(n)))

// CUDA's device math names the classification functions without std:: (isfinite, isnan, ...).
using std::isfinite;
using std::isinf;
using std::isnan;

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

struct __attribute__((aligned(8))) float2 {
  float x, y;
};

struct __attribute__((aligned(16))) float4 {
  float x, y, z, w;
};

extern dim3 threadIdx, blockIdx, blockDim, gridDim;  // of the fiber that is running

inline int min(int a, int b) {
  return a < b ? a : b;
}
inline int max(int a, int b) {
  return a > b ? a : b;
}
inline float rsqrtf(float x) {
  return 1.f / std::sqrt(x);
}
inline unsigned __float_as_uint(float x) {
  unsigned u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}
inline float __uint_as_float(unsigned u) {
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

// ---- runtime API --------------------------------------------------------------------------------

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInsufficientDriver = 35,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorNotReady = 600,
  cudaErrorLaunchFailure = 719,
};
enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
};
struct cudaDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  int major, minor, multiProcessorCount;
};
typedef struct CUstream_st* cudaStream_t;
typedef struct CUevent_st* cudaEvent_t;
#define cudaStreamLegacy ((cudaStream_t)0x1)
#define cudaStreamPerThread ((cudaStream_t)0x2)
#define cudaStreamDefault 0x00
#define cudaStreamNonBlocking 0x01
#define cudaEventDefault 0x00
#define cudaEventDisableTiming 0x02

cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device);
cudaError_t cudaMalloc(void** p, size_t bytes);
template <class T>
cudaError_t cudaMalloc(T** p, size_t bytes) {
  return cudaMalloc(reinterpret_cast<void**>(p), bytes);
}
cudaError_t cudaFree(void* p);
cudaError_t cudaMallocHost(void** p, size_t bytes);
cudaError_t cudaFreeHost(void* p);
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind);
// The async calls take their stream without a default, so a call that forgets it does not compile.
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream);
cudaError_t cudaMemcpyPeerAsync(void* dst, int dst_device, const void* src, int src_device,
                                size_t bytes, cudaStream_t stream);
cudaError_t cudaMemset(void* p, int value, size_t bytes);
cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t stream);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
const char* cudaGetErrorName(cudaError_t e);
const char* cudaGetErrorString(cudaError_t e);
cudaError_t cudaStreamCreate(cudaStream_t* s);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaEventCreate(cudaEvent_t* e);
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned flags);
cudaError_t cudaEventDestroy(cudaEvent_t e);
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s);
cudaError_t cudaEventQuery(cudaEvent_t e);
cudaError_t cudaEventSynchronize(cudaEvent_t e);
cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t e, unsigned flags = 0);

// ---- device functions and launches --------------------------------------------------------------

namespace zf_emu {

void sync_block();  // suspends the fiber until the whole block has arrived
// Suspends until every lane in `mask` has arrived; returns the value that lane `src` brought.
uint64_t exchange(unsigned mask, uint64_t value, int src);
// Suspends until every lane in `mask` has arrived, each posting `bytes` (<= 64) bytes at `mine`;
// returns the warp's table of them (lane l's at l * bytes), which stays until the warp's next
// collective. One warp exchange where shuffles would need many (cuda/mma.h's model of mma.sync).
const void* gather(unsigned mask, const void* mine, size_t bytes);
int lane();
// Runs body(ctx) once per thread of every block of the grid.
void run_grid(dim3 grid, dim3 block, const char* kernel, void (*body)(void*), void* ctx);
// False (and the launch failed, for cudaGetLastError) unless `stream` is a live created stream.
bool launch_stream_ok(cudaStream_t stream, const char* kernel);

// The host waits the emulated runtime has performed: device-to-host copies (cudaMemcpy or
// cudaMemcpyAsync) and device, stream and event synchronizations.
size_t raw_d2h_copies();
size_t raw_syncs();

template <class T>
T shuffle(unsigned mask, T v, int src) {
  static_assert(sizeof(T) <= sizeof(uint64_t), "shuffle of a type wider than 8 bytes");
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  bits = exchange(mask, bits, src);
  std::memcpy(&v, &bits, sizeof(T));
  return v;
}

template <class F>
struct Launcher {
  dim3 grid, block;
  cudaStream_t stream;
  const char* name;
  F kernel;
  template <class... A>
  void operator()(A... args) const {
    if (!launch_stream_ok(stream, name)) return;
    // Each thread gets its own copies of the arguments, as on the device.
    auto one_thread = [&] { kernel(args...); };
    run_grid(
        grid, block, name, [](void* c) { (*static_cast<decltype(one_thread)*>(c))(); },
        &one_thread);
  }
};

template <class F>
Launcher<F> launcher(dim3 grid, dim3 block, cudaStream_t stream, const char* name, F kernel) {
  return Launcher<F>{grid, block, stream, name, kernel};
}

}  // namespace zf_emu

// The compiler barriers make shared memory (function-local statics) reloaded after each barrier.
inline void __syncthreads() {
  asm volatile("" ::: "memory");
  zf_emu::sync_block();
  asm volatile("" ::: "memory");
}
inline void __syncwarp(unsigned mask = 0xffffffffu) {
  asm volatile("" ::: "memory");
  zf_emu::exchange(mask, 0, zf_emu::lane());
  asm volatile("" ::: "memory");
}
template <class T>
T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
  const int l = zf_emu::lane();
  return zf_emu::shuffle(mask, v, (l / width) * width + src % width);
}
template <class T>
T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  const int l = zf_emu::lane(), s = l + static_cast<int>(delta);
  return zf_emu::shuffle(mask, v, s / width == l / width ? s : l);
}
template <class T>
T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
  const int l = zf_emu::lane(), s = l ^ lane_mask;
  return zf_emu::shuffle(mask, v, s / width == l / width ? s : l);
}

// kernel<<<grid, block, 0, stream>>>(args) is written ZF_KERNEL(kernel, grid, block, stream)(args)
// in cuda/.
#define ZF_KERNEL(kernel, grid, block, stream) \
  ::zf_emu::launcher(grid, block, stream, #kernel, [](auto... zf_args_) { kernel(zf_args_...); })
