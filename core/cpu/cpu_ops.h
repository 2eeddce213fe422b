// The CPU backend: the reference every other backend is tested against (OpenMP + OpenBLAS).
#pragma once

#include "core/ops.h"

namespace zf::cpu {
#include "core/op_signatures.inc"

// Threads the CPU ops use (OpenMP's count).
int num_threads();

// Whether the ops with a faster path run their reference code instead: maxpool_forward (3/2
// windows; same bits), conv_backward_weight's bias gradient and the convolutions' stride-2 im2col
// and col2im (same bits), fc_forward, fc_backward_weight and fc_backward_data at batches <= 32 (dW:
// the same bits; y and dx: summed in another order than OpenBLAS's). ZF_CPU_KERNELS=reference (or fast, the default) in the environment, read at first
// use; set_reference_kernels overrides it (tests, benchmarks).
bool reference_kernels();
void set_reference_kernels(bool on);

// The reference loops themselves, callable whatever ZF_CPU_KERNELS says (for the tests).
void maxpool_forward_reference(Tensor& y, Tensor& switches, const Tensor& x, const PoolParams& p);

// Elementwise loops shorter than this run on the calling thread: waking the OpenMP team costs more.
constexpr int64_t kParallelMin = 1 << 15;
}  // namespace zf::cpu
