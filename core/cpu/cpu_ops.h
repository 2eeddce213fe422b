// The CPU backend: the reference every other backend is tested against (OpenMP + OpenBLAS).
#pragma once

#include "core/ops.h"

namespace zf::cpu {
#include "core/op_signatures.inc"

// Threads the CPU ops use (OpenMP's count).
int num_threads();

// Whether the ops with a faster path (maxpool_forward, lrn_forward/backward) run their plain
// reference loops instead: ZF_CPU_KERNELS=reference in the environment, read once. The fast paths
// give the same bits; the reference is what their tests compare them against.
bool reference_kernels();

// The reference loops themselves, callable whatever ZF_CPU_KERNELS says (for the tests).
void maxpool_forward_reference(Tensor& y, Tensor& switches, const Tensor& x, const PoolParams& p);

// Elementwise loops shorter than this run on the calling thread: waking the OpenMP team costs more.
constexpr int64_t kParallelMin = 1 << 15;
}  // namespace zf::cpu
