// The CPU backend: the reference every other backend is tested against (OpenMP + OpenBLAS).
#pragma once

#include "core/ops.h"

namespace zf::cpu {
#include "core/op_signatures.inc"

// Threads the CPU ops use (OpenMP's count).
int num_threads();

// Elementwise loops shorter than this run on the calling thread: waking the OpenMP team costs more.
constexpr int64_t kParallelMin = 1 << 15;
}  // namespace zf::cpu
