// Device discovery, the per-GPU execution contexts, device memory, copies, events and the count of
// host waits. cudaGetDeviceCount reports cudaErrorInsufficientDriver (35) without setting the count
// where no driver is installed, so its return code decides. Every call that concerns one GPU first
// makes it current (device_context), so nothing depends on whichever device happened to be current.
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>

#include "core/ops.h"
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
constexpr int kMaxDevices = 64;
std::atomic<size_t> g_mallocs{0};  // device allocations, for the no-malloc-in-the-loop test
std::atomic<size_t> g_d2h{0}, g_syncs{0};

cudaStream_t queue_stream(Context& c, backend::Queue q) {
  return q == backend::Queue::Upload ? c.upload : c.stream;
}
}  // namespace

Context& device_context(int index) {
  // Never destroyed: a context's streams, events, cuBLAS handle and scratch live as long as the
  // process (destroying them at exit would race the static destructors of the runtime itself), and
  // kept reachable from here, so LeakSanitizer does not count them as leaks.
  static Context* contexts[kMaxDevices] = {};
  static std::mutex mutex;
  ZF_CHECK(index >= 0 && index < kMaxDevices, "cuda:%d: no such device", index);
  ZF_CUDA_CHECK(cudaSetDevice(index));
  std::lock_guard<std::mutex> lock(mutex);
  Context*& c = contexts[index];
  if (!c) {
    // Non-blocking streams: they never serialize with the legacy default stream, which nothing
    // here uses. Kept for the process, like the cuBLAS handle.
    auto fresh = std::make_unique<Context>();
    fresh->device = Device::cuda(index);
    fresh->conv_math = conv_math_from_env();
    ZF_CUDA_CHECK(cudaStreamCreateWithFlags(&fresh->stream, cudaStreamNonBlocking));
    ZF_CUDA_CHECK(cudaStreamCreateWithFlags(&fresh->upload, cudaStreamNonBlocking));
    ZF_CUDA_CHECK(cudaEventCreateWithFlags(&fresh->uploaded, cudaEventDisableTiming));
    ZF_CUDA_CHECK(cudaEventCreateWithFlags(&fresh->ordered, cudaEventDisableTiming));
    c = fresh.release();
  }
  return *c;
}

size_t malloc_count() {
  return g_mallocs.load();
}

void* malloc_device(int index, size_t bytes) {
  device_context(index);
  void* p = nullptr;
  ZF_CUDA_CHECK(cudaMalloc(&p, bytes));
  ++g_mallocs;
  return p;
}

void free_device(int index, void* p) {
  // Never throws: called from destructors. cudaFree waits for the device's work, which may still
  // read p.
  if (!p) return;
  if (cudaSetDevice(index) == cudaSuccess) cudaFree(p);
}

void* malloc_pinned(size_t bytes) {
  void* p = nullptr;
  ZF_CUDA_CHECK(cudaMallocHost(&p, bytes));
  return p;
}

void free_pinned(void* p) {
  if (p) cudaFreeHost(p);  // never throws: called from destructors
}

void upload_async(int index, void* dst_device, const void* src_pinned, size_t bytes) {
  Context& c = device_context(index);
  ZF_CUDA_CHECK(cudaMemcpyAsync(dst_device, src_pinned, bytes, cudaMemcpyHostToDevice, c.upload));
  ZF_CUDA_CHECK(cudaEventRecord(c.uploaded, c.upload));
}

void wait_uploads(int index) {
  Context& c = device_context(index);
  ZF_CUDA_CHECK(cudaStreamWaitEvent(c.stream, c.uploaded, 0));
}

void synchronize(int index) {
  device_context(index);
  ++g_syncs;
  ZF_CUDA_CHECK(cudaDeviceSynchronize());
}

namespace {
// Between two GPUs: the copy runs on the destination's stream after the source's queued work, and
// the source's later work waits for it, so neither side needs the host to wait.
void copy_between_gpus(void* dst, int dst_index, const void* src, int src_index, size_t bytes) {
  Context& s = device_context(src_index);
  ZF_CUDA_CHECK(cudaEventRecord(s.ordered, s.stream));
  Context& d = device_context(dst_index);
  ZF_CUDA_CHECK(cudaStreamWaitEvent(d.stream, s.ordered, 0));
  ZF_CUDA_CHECK(cudaMemcpyPeerAsync(dst, dst_index, src, src_index, bytes, d.stream));
  ZF_CUDA_CHECK(cudaEventRecord(d.ordered, d.stream));
  ZF_CUDA_CHECK(cudaStreamWaitEvent(s.stream, d.ordered, 0));
}
}  // namespace

void copy(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes) {
  const bool to_gpu = dst_dev.is_cuda(), from_gpu = src_dev.is_cuda();
  if (to_gpu && from_gpu && dst_dev.index != src_dev.index)
    return copy_between_gpus(dst, dst_dev.index, src, src_dev.index, bytes);
  ZF_CHECK(to_gpu || from_gpu, "cuda::copy: host to host");
  Context& c = device_context(to_gpu ? dst_dev.index : src_dev.index);
  const cudaMemcpyKind kind = to_gpu
                                  ? (from_gpu ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                                  : cudaMemcpyDeviceToHost;
  ZF_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kind, c.stream));
  if (to_gpu && from_gpu) return;
  // The host side is ordinary (pageable) memory the caller may reuse at once: wait for the copy.
  if (from_gpu)
    ++g_d2h;  // the wait is what a device-to-host copy is; it counts once, as a copy
  else
    ++g_syncs;
  ZF_CUDA_CHECK(cudaStreamSynchronize(c.stream));
}

void memset_zero(int index, void* p, size_t bytes) {
  Context& c = device_context(index);
  ZF_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, c.stream));
}

float* scratch(Context& c, size_t floats, int slot) {
  ZF_CHECK(slot >= 0 && slot < Context::kScratchSlots, "cuda scratch: slot %d", slot);
  const size_t bytes = floats * sizeof(float);
  if (c.scratch_bytes[slot] < bytes) {
    // cudaFree waits for the device, so work still queued on the old buffer finishes first. Only
    // the Net's setup grows it (reserve_scratch); a step never does.
    free_device(c.device.index, c.scratch[slot]);
    c.scratch[slot] = nullptr;
    c.scratch_bytes[slot] = 0;
    c.scratch[slot] = malloc_device(c.device.index, bytes);
    c.scratch_bytes[slot] = bytes;
  }
  return static_cast<float*>(c.scratch[slot]);
}

void reserve_scratch(int index, size_t bytes) {
  scratch(device_context(index), (bytes + sizeof(float) - 1) / sizeof(float));
}

cublasHandle_t cublas(Context& c) {
  if (!c.cublas) {
    cublasHandle_t h = nullptr;
    ZF_CUDA_CHECK(cudaSetDevice(c.device.index));
    ZF_CUBLAS_CHECK(cublasCreate(&h));
    ZF_CUBLAS_CHECK(cublasSetStream(h, c.stream));
    c.cublas = h;
  }
  return c.cublas;
}

CUevent_st* event_create(int index) {
  device_context(index);
  cudaEvent_t e = nullptr;
  ZF_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  return e;
}

void event_destroy(CUevent_st* e) {
  if (e) cudaEventDestroy(e);  // never throws: called from destructors
}

void event_record(CUevent_st* e, int index, backend::Queue q) {
  ZF_CUDA_CHECK(cudaEventRecord(e, queue_stream(device_context(index), q)));
}

void stream_wait(int index, backend::Queue q, CUevent_st* e) {
  ZF_CUDA_CHECK(cudaStreamWaitEvent(queue_stream(device_context(index), q), e, 0));
}

bool event_done(CUevent_st* e) {
  const cudaError_t r = cudaEventQuery(e);
  if (r == cudaErrorNotReady) {
    cudaGetLastError();  // "not ready" is an answer, not an error: clear it, as PyTorch does
    return false;
  }
  ZF_CUDA_CHECK(r);
  return true;
}

void event_synchronize(CUevent_st* e) {
  ++g_syncs;
  ZF_CUDA_CHECK(cudaEventSynchronize(e));
}

backend::HostWaits host_waits() {
  return backend::HostWaits{g_d2h.load(), g_syncs.load()};
}

}  // namespace zf::cuda
