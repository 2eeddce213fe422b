// The CUDA backend: the same op signatures as the CPU backend (core/op_signatures.inc).
#pragma once

#include "core/ops.h"

namespace zf::cuda {
#include "core/op_signatures.inc"
}  // namespace zf::cuda
