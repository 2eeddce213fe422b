// The CPU backend: the reference every other backend is tested against (OpenMP + OpenBLAS).
#pragma once

#include "core/ops.h"

namespace zf::cpu {
#include "core/op_signatures.inc"

// Threads the CPU ops use (OpenMP's count).
int num_threads();

// Whether the ops with a faster path run their reference code instead: maxpool_forward (3/2
// windows; same bits), conv_backward_weight's bias gradient and the convolutions' stride-2 im2col
// and col2im (same bits), the convolutions' column matrix in bands of output rows (ConvBands; y:
// the same products on fewer columns; dx and dW: summed in another order), fc_forward,
// fc_backward_weight and fc_backward_data at batches <= 32 (summed in order, which is not
// necessarily OpenBLAS's order). ZF_CPU_KERNELS=reference (or fast, the default) in the
// environment, read at first use; set_reference_kernels overrides it (tests, benchmarks).
bool reference_kernels();
void set_reference_kernels(bool on);

// The fast convolution path cuts a column matrix larger than `bytes` into bands of output rows of
// about `bytes` each, when such a band still has at least `min_columns` columns (core/cpu/conv.cpp
// says why). Defaults: 512 KB (ZF_CONV_BAND_KB in the environment) and 512 columns; tests set
// small values to cut small layers.
struct ConvBands {
  size_t bytes = 512 * 1024;
  int min_columns = 512;
};
ConvBands conv_bands();
void set_conv_bands(const ConvBands& b);

// The reference loops themselves, callable whatever ZF_CPU_KERNELS says (for the tests).
void maxpool_forward_reference(Tensor& y, Tensor& switches, const Tensor& x, const PoolParams& p);

// Elementwise loops shorter than this run on the calling thread: waking the OpenMP team costs more.
constexpr int64_t kParallelMin = 1 << 15;
}  // namespace zf::cpu
