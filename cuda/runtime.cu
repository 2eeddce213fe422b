// Device discovery and device memory for Tensor. cudaGetDeviceCount reports
// cudaErrorInsufficientDriver (35) without setting the count where no driver is installed, so its
// return code decides.
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "cuda/cuda_check.h"
#include "cuda/launch.h"
#include "cuda/runtime.h"

namespace zf::cuda {

bool sync_each_launch() {
  static const bool on = [] {
    const char* v = std::getenv("ZF_SYNC");
    return v && std::strcmp(v, "0") != 0 && *v;
  }();
  return on;
}

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error so later calls are not blamed for it
    return 0;
  }
  return n;
}

std::string status() {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return std::string("no usable GPU: ") + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) +
           ")";
  }
  if (n == 0) return "no usable GPU: no CUDA device found";
  cudaDeviceProp prop;
  ZF_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  return strprintf("%d GPU(s); device 0: %s, sm_%d%d, %.1f GiB", n, prop.name, prop.major,
                   prop.minor, static_cast<double>(prop.totalGlobalMem) / (1 << 30));
}

namespace {
std::atomic<size_t> g_mallocs{0};  // device allocations, for the no-malloc-in-the-loop test
}

size_t malloc_count() {
  return g_mallocs.load();
}

void* malloc_device(size_t bytes) {
  void* p = nullptr;
  ZF_CUDA_CHECK(cudaMalloc(&p, bytes));
  ++g_mallocs;
  return p;
}

void* malloc_pinned(size_t bytes) {
  void* p = nullptr;
  ZF_CUDA_CHECK(cudaMallocHost(&p, bytes));
  return p;
}

void free_pinned(void* p) {
  if (p) cudaFreeHost(p);  // never throws: called from destructors
}

namespace {
// The upload stream (non-blocking, so it does not serialize with the legacy default stream on which
// the ops run) and the event that marks its last upload, per device.
struct Uploads {
  cudaStream_t stream = nullptr;
  cudaEvent_t done = nullptr;
};
Uploads& uploads() {
  static Uploads u[64];
  int dev = 0;
  ZF_CUDA_CHECK(cudaGetDevice(&dev));
  ZF_CHECK(dev >= 0 && dev < 64, "upload stream: device %d", dev);
  if (!u[dev].stream) {
    ZF_CUDA_CHECK(cudaStreamCreateWithFlags(&u[dev].stream, cudaStreamNonBlocking));
    ZF_CUDA_CHECK(cudaEventCreateWithFlags(&u[dev].done, cudaEventDisableTiming));
  }
  return u[dev];
}
}  // namespace

void upload_async(void* dst_device, const void* src_pinned, size_t bytes) {
  Uploads& u = uploads();
  ZF_CUDA_CHECK(cudaMemcpyAsync(dst_device, src_pinned, bytes, cudaMemcpyHostToDevice, u.stream));
  ZF_CUDA_CHECK(cudaEventRecord(u.done, u.stream));
}

void synchronize() {
  ZF_CUDA_CHECK(cudaDeviceSynchronize());
}

void wait_uploads() {
  Uploads& u = uploads();
  ZF_CUDA_CHECK(cudaStreamWaitEvent(cudaStreamLegacy, u.done, 0));
}

void free_device(void* p) {
  if (p) cudaFree(p);  // never throws: called from destructors
}

void copy(void* dst, bool dst_on_device, const void* src, bool src_on_device, size_t bytes) {
  cudaMemcpyKind kind = dst_on_device
                            ? (src_on_device ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                            : (src_on_device ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  ZF_CUDA_CHECK(cudaMemcpy(dst, src, bytes, kind));
}

void memset_zero(void* p, size_t bytes) {
  ZF_CUDA_CHECK(cudaMemset(p, 0, bytes));
}

float* scratch(size_t floats, int slot) {
  struct Buffer {
    void* p = nullptr;
    size_t n = 0;
  };
  static Buffer buffers[64][2];  // [device][slot], kept for the process like the cuBLAS handles
  int dev = 0;
  ZF_CUDA_CHECK(cudaGetDevice(&dev));
  ZF_CHECK(dev >= 0 && dev < 64 && slot >= 0 && slot < 2, "cuda scratch: device %d slot %d", dev,
           slot);
  Buffer& b = buffers[dev][slot];
  if (b.n < floats) {
    if (b.p) ZF_CUDA_CHECK(cudaFree(b.p));
    b.p = nullptr;
    b.p = malloc_device(floats * sizeof(float));
    b.n = floats;
  }
  return static_cast<float*>(b.p);
}

void reserve_scratch(size_t bytes) {
  scratch((bytes + sizeof(float) - 1) / sizeof(float));
}

cublasHandle_t cublas() {
  // One handle per device, created on first use and kept for the process (cuBLAS handles are
  // costly).
  static cublasHandle_t handles[64] = {};
  int dev = 0;
  ZF_CUDA_CHECK(cudaGetDevice(&dev));
  ZF_CHECK(dev >= 0 && dev < 64, "cuBLAS: device %d", dev);
  if (!handles[dev]) ZF_CUBLAS_CHECK(cublasCreate(&handles[dev]));
  return handles[dev];
}

}  // namespace zf::cuda
