// The CUDA emulator's engine (the model is described in cuda/emu/cuda_runtime.h): fibers for the
// threads of a block, a scheduler that releases barriers and warp exchanges, "device" memory in
// host RAM filled with 0xff bytes (NaN floats, -1 ints: kernels must not rely on zeroed memory),
// streams and events as registered objects, and the runtime API and cublasSgemm that zfnet calls.
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>

#include "cublas_v2.h"
#include "cuda_runtime.h"

// Under AddressSanitizer every stack switch is announced (its fiber API), else ASan takes the fiber
// stacks for overflows of the thread's own stack and reports false errors (scripts/test.sh
// --sanitize builds the emulator this way).
#if defined(__SANITIZE_ADDRESS__)
#define ZF_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ZF_EMU_ASAN 1
#endif
#endif
#if ZF_EMU_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

dim3 threadIdx, blockIdx, blockDim, gridDim;

// zf_emu_switch(save, load): saves the callee-saved registers on the current stack, stores the
// stack pointer in *save, continues on the stack `load` (which was left the same way, or built by
// start_fiber below).
extern "C" void zf_emu_switch(void** save_sp, void* load_sp);
#if defined(__x86_64__)
asm(R"(
  .text
  .globl zf_emu_switch
  .type zf_emu_switch, @function
zf_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size zf_emu_switch, .-zf_emu_switch
)");
#else
#error "the CUDA emulator switches fibers with x86-64 assembly; build with -DZF_CUDA_EMULATOR=OFF"
#endif

namespace zf_emu {
namespace {

enum class State { Runnable, AtSync, AtWarp, Done };

struct Fiber {
  void* sp = nullptr;
  State state = State::Done;
  unsigned mask = 0;             // lanes of the warp exchange this fiber waits in
  int src = 0;                   // the lane whose value it takes
  uint64_t value = 0;            // the value it brings
  uint64_t result = 0;           // the value it takes
  const void* gather = nullptr;  // a gather's bytes to post (gather()), else an exchange
  size_t gather_bytes = 0;
  void* fake_stack = nullptr;  // ASan's use-after-return frames while switched out
};

constexpr int kMaxThreads = 1024;
constexpr size_t kStackBytes = 128 << 10;  // per thread; only touched pages become memory

size_t g_page = 0;
char* g_stacks = nullptr;  // kMaxThreads x (guard page, stack)
Fiber g_fibers[kMaxThreads];
// Each warp's last gather: lane l's bytes at l * bytes, until the warp's next collective.
constexpr size_t kMaxGatherBytes = 64;
unsigned char g_gathered[kMaxThreads / 32][32 * kMaxGatherBytes];
int g_threads = 0, g_current = -1;
void* g_scheduler_sp = nullptr;
void (*g_body)(void*) = nullptr;
void* g_ctx = nullptr;

cudaError_t g_error = cudaSuccess;
std::string g_error_text;

void fail(cudaError_t e, const std::string& text) {
  g_error = e;
  g_error_text = "CUDA emulator: " + text;
  std::fprintf(stderr, "%s\n", g_error_text.c_str());
}

// ---- the stack switches, announced to ASan when it is in (its fiber API): to a fiber, from it
// back to the scheduler, and a finished fiber's last one (ASan may then forget its frames). Without
// them ASan takes the fiber stacks for overflows of the thread's own stack and reports false
// errors.
#if ZF_EMU_ASAN
const void* g_scheduler_stack = nullptr;  // the stack run_grid runs on, as ASan reports it
size_t g_scheduler_stack_size = 0;
void* g_scheduler_fake_stack = nullptr;
#endif

char* fiber_stack(int t) {  // the lowest address of fiber t's stack (above its guard page)
  return g_stacks + static_cast<size_t>(t) * (g_page + kStackBytes) + g_page;
}

// Runs fiber t until it next switches back.
void enter_fiber(int t) {
#if ZF_EMU_ASAN
  __sanitizer_start_switch_fiber(&g_scheduler_fake_stack, fiber_stack(t), kStackBytes);
#endif
  zf_emu_switch(&g_scheduler_sp, g_fibers[t].sp);
#if ZF_EMU_ASAN
  __sanitizer_finish_switch_fiber(g_scheduler_fake_stack, nullptr, nullptr);
#endif
}

// The current fiber switches back to the scheduler; returns when it is resumed.
void leave_fiber(bool finished) {
  Fiber& f = g_fibers[g_current];
#if ZF_EMU_ASAN
  __sanitizer_start_switch_fiber(finished ? nullptr : &f.fake_stack, g_scheduler_stack,
                                 g_scheduler_stack_size);
#endif
  zf_emu_switch(&f.sp, g_scheduler_sp);
#if ZF_EMU_ASAN
  __sanitizer_finish_switch_fiber(f.fake_stack, &g_scheduler_stack, &g_scheduler_stack_size);
#endif
}

void fiber_main() {
#if ZF_EMU_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &g_scheduler_stack, &g_scheduler_stack_size);
#endif
  g_body(g_ctx);
  g_fibers[g_current].state = State::Done;
  leave_fiber(true);
  std::abort();  // a finished fiber is never resumed
}

void suspend(State s) {
  if (g_current < 0) {
    std::fprintf(stderr, "CUDA emulator: a barrier or shuffle called outside a kernel\n");
    std::abort();
  }
  g_fibers[g_current].state = s;
  leave_fiber(false);
}

void allocate_stacks() {
  if (g_stacks) return;
  g_page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t each = g_page + kStackBytes, total = each * kMaxThreads;
  void* p = mmap(nullptr, total, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    std::fprintf(stderr, "CUDA emulator: cannot map %zu bytes of fiber stacks\n", total);
    std::abort();
  }
  g_stacks = static_cast<char*>(p);
  for (int t = 0; t < kMaxThreads; ++t) mprotect(g_stacks + t * each, g_page, PROT_NONE);
}

// A fresh fiber whose first switch-in "returns" into fiber_main with the stack aligned as after a
// call (rsp + 8 a multiple of 16).
void start_fiber(int t) {
  char* top = fiber_stack(t) + kStackBytes;
  void** sp = reinterpret_cast<void**>(top);
  *--sp = nullptr;  // fiber_main's own return address: it never returns
  *--sp = reinterpret_cast<void*>(&fiber_main);
  for (int i = 0; i < 6; ++i) *--sp = nullptr;  // rbp rbx r12 r13 r14 r15
  g_fibers[t] = Fiber{};
  g_fibers[t].sp = sp;
  g_fibers[t].state = State::Runnable;
}

// Releases warp exchanges whose lanes have all arrived. False with `why` set on a malformed one.
bool release_warps(bool* released, std::string* why) {
  for (int first = 0; first < g_threads; first += 32) {
    const int lanes = g_threads - first < 32 ? g_threads - first : 32;
    int lead = -1;
    for (int l = 0; l < lanes && lead < 0; ++l)
      if (g_fibers[first + l].state == State::AtWarp) lead = l;
    if (lead < 0) continue;
    const unsigned mask = g_fibers[first + lead].mask;
    bool all_in = true;
    for (int l = 0; l < 32; ++l) {
      if (!(mask >> l & 1u)) continue;
      if (l >= lanes) {
        *why = "a warp exchange's mask names lanes past the block's last thread";
        return false;
      }
      const Fiber& f = g_fibers[first + l];
      if (f.state == State::Done) {
        *why = "a warp exchange waits for a lane that has exited";
        return false;
      }
      if (f.state == State::AtWarp && f.mask != mask) {
        *why = "lanes of one warp wait in exchanges with different masks";
        return false;
      }
      if (f.state != State::AtWarp) all_in = false;
    }
    if (!all_in) continue;
    const Fiber& lf = g_fibers[first + lead];
    for (int l = 0; l < 32; ++l) {
      const Fiber& f = g_fibers[first + l];
      if (!(mask >> l & 1u)) continue;
      if ((f.gather != nullptr) != (lf.gather != nullptr) || f.gather_bytes != lf.gather_bytes) {
        *why = "lanes of one warp wait in different warp collectives (a gather and a shuffle?)";
        return false;
      }
      if (f.gather)
        std::memcpy(g_gathered[first / 32] + l * f.gather_bytes, f.gather, f.gather_bytes);
    }
    for (int l = 0; l < 32; ++l) {
      if (!(mask >> l & 1u)) continue;
      Fiber& f = g_fibers[first + l];
      const bool src_ok = f.src >= 0 && f.src < 32 && (mask >> f.src & 1u);
      f.result = src_ok ? g_fibers[first + f.src].value : f.value;
      f.state = State::Runnable;
    }
    *released = true;
  }
  return true;
}

// Runs one block to the end; false (with the reason in `why`) when it cannot finish.
bool run_block(bool reverse, std::string* why) {
  for (int t = 0; t < g_threads; ++t) start_fiber(t);
  const unsigned bx = blockDim.x, bxy = blockDim.x * blockDim.y;
  for (;;) {
    for (int i = 0; i < g_threads; ++i) {
      const int t = reverse ? g_threads - 1 - i : i;
      Fiber& f = g_fibers[t];
      if (f.state != State::Runnable) continue;
      threadIdx = dim3(t % bx, (t / bx) % blockDim.y, t / bxy);
      g_current = t;
      enter_fiber(t);
      g_current = -1;
    }
    int done = 0, at_sync = 0, at_warp = 0;
    for (int t = 0; t < g_threads; ++t) {
      done += g_fibers[t].state == State::Done;
      at_sync += g_fibers[t].state == State::AtSync;
      at_warp += g_fibers[t].state == State::AtWarp;
    }
    if (done == g_threads) return true;
    if (at_sync == g_threads) {
      for (int t = 0; t < g_threads; ++t) g_fibers[t].state = State::Runnable;
      continue;
    }
    bool released = false;
    if (!release_warps(&released, why)) return false;
    if (released) continue;
    *why = std::to_string(at_sync) + " of " + std::to_string(g_threads) +
           " threads wait at __syncthreads(), " + std::to_string(at_warp) +
           " in a warp exchange, " + std::to_string(done) +
           " have exited: the block can never finish (a barrier in divergent code?)";
    return false;
  }
}

}  // namespace

int lane() {
  return g_current % 32;
}

void sync_block() {
  suspend(State::AtSync);
}

uint64_t exchange(unsigned mask, uint64_t value, int src) {
  if (g_current < 0) suspend(State::AtWarp);  // aborts with a message
  Fiber& f = g_fibers[g_current];
  f.mask = mask;
  f.value = value;
  f.src = src;
  f.gather = nullptr;
  f.gather_bytes = 0;
  suspend(State::AtWarp);
  return g_fibers[g_current].result;
}

const void* gather(unsigned mask, const void* mine, size_t bytes) {
  if (g_current < 0) suspend(State::AtWarp);  // aborts with a message
  if (bytes == 0 || bytes > kMaxGatherBytes) {
    std::fprintf(stderr, "CUDA emulator: a gather of %zu bytes per lane (at most %zu)\n", bytes,
                 kMaxGatherBytes);
    std::abort();
  }
  Fiber& f = g_fibers[g_current];
  f.mask = mask;
  f.value = 0;
  f.src = g_current % 32;
  f.gather = mine;
  f.gather_bytes = bytes;
  suspend(State::AtWarp);
  g_fibers[g_current].gather = nullptr;
  return g_gathered[g_current / 32];
}

void run_grid(dim3 grid, dim3 block, const char* kernel, void (*body)(void*), void* ctx) {
  const uint64_t threads = static_cast<uint64_t>(block.x) * block.y * block.z;
  if (threads < 1 || threads > kMaxThreads || block.z > 64 || grid.x < 1 || grid.y < 1 ||
      grid.z < 1 || grid.x > 2147483647u || grid.y > 65535 || grid.z > 65535) {
    fail(cudaErrorInvalidConfiguration,
         std::string(kernel) + ": invalid launch configuration grid (" + std::to_string(grid.x) +
             "," + std::to_string(grid.y) + "," + std::to_string(grid.z) + ") block (" +
             std::to_string(block.x) + "," + std::to_string(block.y) + "," +
             std::to_string(block.z) + ")");
    return;
  }
  if (g_current >= 0) {
    fail(cudaErrorLaunchFailure, std::string(kernel) + ": launched from inside a kernel");
    return;
  }
  allocate_stacks();
  g_body = body;
  g_ctx = ctx;
  g_threads = static_cast<int>(threads);
  blockDim = block;
  gridDim = grid;
  uint64_t serial = 0;
  for (unsigned z = 0; z < grid.z; ++z)
    for (unsigned y = 0; y < grid.y; ++y)
      for (unsigned x = 0; x < grid.x; ++x, ++serial) {
        blockIdx = dim3(x, y, z);
        std::string why;
        if (!run_block(serial & 1, &why)) {
#if ZF_EMU_ASAN
          // The block's fibers are abandoned mid-call: their frames' redzones stay poisoned on
          // stacks that the next launch reuses.
          for (int t = 0; t < g_threads; ++t)
            ASAN_UNPOISON_MEMORY_REGION(fiber_stack(t), kStackBytes);
#endif
          fail(cudaErrorLaunchFailure, std::string(kernel) + ", block (" + std::to_string(x) + "," +
                                           std::to_string(y) + "," + std::to_string(z) +
                                           "): " + why);
          return;
        }
      }
}

}  // namespace zf_emu

// ---- streams, events and the host waits ---------------------------------------------------------

struct CUstream_st {
  unsigned flags;
};
struct CUevent_st {
  bool recorded = false;
};
struct cublasContext {
  cudaStream_t stream = nullptr;  // the legacy default stream until cublasSetStream
};

namespace {
std::mutex g_objects_mutex;  // the registries below (the loader's threads never call CUDA, but
std::set<cudaStream_t> g_streams;  // the runtime is thread-safe, so the stand-in is too)
std::set<cudaEvent_t> g_events;
std::atomic<size_t> g_d2h{0}, g_syncs{0};

bool is_legacy(cudaStream_t s) {
  return s == nullptr || s == cudaStreamLegacy || s == cudaStreamPerThread;
}
bool stream_exists(cudaStream_t s) {
  std::lock_guard<std::mutex> lock(g_objects_mutex);
  return g_streams.count(s) != 0;
}
bool event_exists(cudaEvent_t e) {
  std::lock_guard<std::mutex> lock(g_objects_mutex);
  return g_events.count(e) != 0;
}
// cudaSuccess for a created stream; otherwise the error, with a message naming `call`.
cudaError_t check_stream(cudaStream_t s, const std::string& call) {
  if (is_legacy(s)) {
    std::fprintf(stderr,
                 "CUDA emulator: %s on the legacy default stream: ops queue their work on their "
                 "context's stream (core/context.h)\n",
                 call.c_str());
    return cudaErrorInvalidResourceHandle;
  }
  if (!stream_exists(s)) {
    std::fprintf(stderr, "CUDA emulator: %s on a stream that was never created or is destroyed\n",
                 call.c_str());
    return cudaErrorInvalidResourceHandle;
  }
  return cudaSuccess;
}
}  // namespace

namespace zf_emu {
bool launch_stream_ok(cudaStream_t stream, const char* kernel) {
  if (is_legacy(stream)) {
    fail(cudaErrorLaunchFailure, std::string(kernel) +
                                     ": launched on the legacy default stream: ops launch on their "
                                     "context's stream (core/context.h)");
    return false;
  }
  if (!stream_exists(stream)) {
    fail(cudaErrorLaunchFailure,
         std::string(kernel) + ": launched on a stream that was never created or is destroyed");
    return false;
  }
  return true;
}
size_t raw_d2h_copies() {
  return g_d2h.load();
}
size_t raw_syncs() {
  return g_syncs.load();
}
}  // namespace zf_emu

// ---- runtime API --------------------------------------------------------------------------------

namespace {
void* host_alloc(size_t bytes) {
  void* p = std::aligned_alloc(256, (bytes + 255) / 256 * 256 + 256);
  if (p) std::memset(p, 0xff, bytes);
  return p;
}
}  // namespace

cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}
cudaError_t cudaGetDevice(int* device) {
  *device = 0;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) {
  return device == 0 ? cudaSuccess : cudaErrorInvalidValue;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (device != 0) return cudaErrorInvalidValue;
  std::memset(prop, 0, sizeof(*prop));
  std::snprintf(prop->name, sizeof(prop->name), "zfnet CUDA emulator (CPU)");
  prop->totalGlobalMem = size_t{16} << 30;
  prop->major = 9;
  prop->minor = 0;
  prop->multiProcessorCount = 1;
  return cudaSuccess;
}
cudaError_t cudaMalloc(void** p, size_t bytes) {
  *p = host_alloc(bytes);
  return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}
cudaError_t cudaFree(void* p) {
  std::free(p);
  return cudaSuccess;
}
cudaError_t cudaMallocHost(void** p, size_t bytes) {
  return cudaMalloc(p, bytes);
}
cudaError_t cudaFreeHost(void* p) {
  return cudaFree(p);
}
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  if (kind == cudaMemcpyDeviceToHost) ++g_d2h;
  if (bytes) std::memcpy(dst, src, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream) {
  if (cudaError_t e = check_stream(stream, "cudaMemcpyAsync")) return e;
  return cudaMemcpy(dst, src, bytes, kind);
}
cudaError_t cudaMemcpyPeerAsync(void* dst, int dst_device, const void* src, int src_device,
                                size_t bytes, cudaStream_t stream) {
  if (dst_device != 0 || src_device != 0) return cudaErrorInvalidValue;
  return cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream);
}
cudaError_t cudaMemset(void* p, int value, size_t bytes) {
  std::memset(p, value, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t stream) {
  if (cudaError_t e = check_stream(stream, "cudaMemsetAsync")) return e;
  return cudaMemset(p, value, bytes);
}
cudaError_t cudaDeviceSynchronize() {
  ++g_syncs;
  return cudaPeekAtLastError();
}
cudaError_t cudaGetLastError() {
  const cudaError_t e = zf_emu::g_error;
  zf_emu::g_error = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError() {
  return zf_emu::g_error;
}
const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess:
      return "cudaSuccess";
    case cudaErrorInvalidValue:
      return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation:
      return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration:
      return "cudaErrorInvalidConfiguration";
    case cudaErrorInsufficientDriver:
      return "cudaErrorInsufficientDriver";
    case cudaErrorInvalidResourceHandle:
      return "cudaErrorInvalidResourceHandle";
    case cudaErrorNotReady:
      return "cudaErrorNotReady";
    case cudaErrorLaunchFailure:
      return "cudaErrorLaunchFailure";
  }
  return "cudaErrorUnknown";
}
const char* cudaGetErrorString(cudaError_t e) {
  if ((e == cudaErrorLaunchFailure || e == cudaErrorInvalidConfiguration) &&
      !zf_emu::g_error_text.empty())
    return zf_emu::g_error_text.c_str();
  return e == cudaSuccess ? "no error" : "error in the CUDA emulator";
}
cudaError_t cudaStreamCreate(cudaStream_t* s) {
  return cudaStreamCreateWithFlags(s, cudaStreamDefault);
}
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned flags) {
  *s = new CUstream_st{flags};
  std::lock_guard<std::mutex> lock(g_objects_mutex);
  g_streams.insert(*s);
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t s) {
  if (cudaError_t e = check_stream(s, "cudaStreamDestroy")) return e;
  {
    std::lock_guard<std::mutex> lock(g_objects_mutex);
    g_streams.erase(s);
  }
  delete s;
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t s) {
  if (!is_legacy(s))
    if (cudaError_t e = check_stream(s, "cudaStreamSynchronize")) return e;
  ++g_syncs;
  return cudaPeekAtLastError();
}
cudaError_t cudaEventCreate(cudaEvent_t* e) {
  return cudaEventCreateWithFlags(e, cudaEventDefault);
}
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned) {
  *e = new CUevent_st;
  std::lock_guard<std::mutex> lock(g_objects_mutex);
  g_events.insert(*e);
  return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t e) {
  if (!event_exists(e)) return cudaErrorInvalidResourceHandle;
  {
    std::lock_guard<std::mutex> lock(g_objects_mutex);
    g_events.erase(e);
  }
  delete e;
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s) {
  if (!event_exists(e)) return cudaErrorInvalidResourceHandle;
  if (cudaError_t err = check_stream(s, "cudaEventRecord")) return err;
  e->recorded = true;
  return cudaSuccess;
}
cudaError_t cudaEventQuery(cudaEvent_t e) {
  // Work is done when its call returns, so a recorded event has always completed (as has one never
  // recorded, in CUDA too).
  return event_exists(e) ? cudaSuccess : cudaErrorInvalidResourceHandle;
}
cudaError_t cudaEventSynchronize(cudaEvent_t e) {
  if (!event_exists(e)) return cudaErrorInvalidResourceHandle;
  ++g_syncs;
  return cudaSuccess;
}
cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t e, unsigned) {
  if (!event_exists(e)) return cudaErrorInvalidResourceHandle;
  return check_stream(s, "cudaStreamWaitEvent");  // the event has completed: nothing to wait for
}

// ---- cuBLAS -------------------------------------------------------------------------------------

cublasStatus_t cublasCreate(cublasHandle_t* handle) {
  *handle = new cublasContext;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy(cublasHandle_t handle) {
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream(cublasHandle_t handle, cudaStream_t stream) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!is_legacy(stream) && check_stream(stream, "cublasSetStream") != cudaSuccess)
    return CUBLAS_STATUS_INVALID_VALUE;
  handle->stream = stream;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSgemm(cublasHandle_t handle, cublasOperation_t transa,
                           cublasOperation_t transb, int m, int n, int k, const float* alpha,
                           const float* A, int lda, const float* B, int ldb, const float* beta,
                           float* C, int ldc) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (check_stream(handle->stream, "cublasSgemm") != cudaSuccess)
    return CUBLAS_STATUS_EXECUTION_FAILED;
  const bool ta = transa == CUBLAS_OP_T, tb = transb == CUBLAS_OP_T;
  if (m < 0 || n < 0 || k < 0 || ldc < (m > 1 ? m : 1) ||
      lda < ((ta ? k : m) > 1 ? (ta ? k : m) : 1) || ldb < ((tb ? n : k) > 1 ? (tb ? n : k) : 1))
    return CUBLAS_STATUS_INVALID_VALUE;
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      float s = 0.f;
      for (int l = 0; l < k; ++l) {
        const float a =
            ta ? A[l + static_cast<int64_t>(i) * lda] : A[i + static_cast<int64_t>(l) * lda];
        const float b =
            tb ? B[j + static_cast<int64_t>(l) * ldb] : B[l + static_cast<int64_t>(j) * ldb];
        s += a * b;
      }
      float& c = C[i + static_cast<int64_t>(j) * ldc];
      c = *beta == 0.f ? *alpha * s : *alpha * s + *beta * c;
    }
  return CUBLAS_STATUS_SUCCESS;
}
