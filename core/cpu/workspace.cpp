// Thread-local scratch buffers (see workspace.h). OpenMP keeps its worker threads alive, so each
// worker's buffers live for the program's lifetime.
#include "core/cpu/workspace.h"

#include <omp.h>

#include <atomic>
#include <cstdlib>
#include <string>

#include "core/check.h"
#include "core/cpu/cpu_ops.h"

namespace zf::cpu {

namespace {
constexpr int kSlots = 8;
struct Buffers {
  float* ptr[kSlots] = {};
  size_t size[kSlots] = {};
  ~Buffers() {
    for (float* p : ptr) std::free(p);
  }
};
thread_local Buffers tls;
}  // namespace

float* scratch(size_t n, int slot) {
  ZF_CHECK(slot >= 0 && slot < kSlots, "scratch: slot %d out of range", slot);
  if (tls.size[slot] < n) {
    std::free(tls.ptr[slot]);
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    tls.ptr[slot] = static_cast<float*>(std::aligned_alloc(64, bytes));
    ZF_CHECK(tls.ptr[slot], "scratch: out of memory for %zu floats", n);
    tls.size[slot] = n;
  }
  return tls.ptr[slot];
}

namespace {
std::atomic<int>& kernel_choice() {  // -1: not read yet, 0: fast, 1: reference
  static std::atomic<int> choice{-1};
  return choice;
}
}  // namespace

bool reference_kernels() {
  int c = kernel_choice().load();
  if (c < 0) {
    const char* v = std::getenv("ZF_CPU_KERNELS");
    const std::string s = v ? v : "";
    ZF_CHECK(s.empty() || s == "fast" || s == "reference",
             "ZF_CPU_KERNELS=%s: expected fast or reference", s.c_str());
    c = s == "reference";
    kernel_choice().store(c);
  }
  return c == 1;
}

void set_reference_kernels(bool on) {
  kernel_choice().store(on ? 1 : 0);
}

int num_threads() {
  return omp_get_max_threads();
}

}  // namespace zf::cpu
