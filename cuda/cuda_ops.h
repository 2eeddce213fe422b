// The CUDA backend: the same op signatures as the CPU backend (core/op_signatures.inc).
#pragma once

#include "core/ops.h"

namespace zf::cuda {
#include "core/op_signatures.inc"
size_t conv_scratch_bytes(const Shape& x, const Shape& y, const ConvParams& p);
size_t softmax_loss_scratch_bytes(const Shape& logits);
}  // namespace zf::cuda
