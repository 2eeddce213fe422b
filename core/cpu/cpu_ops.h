// The CPU backend: the reference every other backend is tested against (OpenMP + OpenBLAS).
#pragma once

#include "core/ops.h"

namespace zf::cpu {
#include "core/op_signatures.inc"

// Threads the CPU ops use (OpenMP's count).
int num_threads();
}  // namespace zf::cpu
