// Per-thread scratch memory for the CPU ops (im2col columns, LRN temporaries). It grows to the
// largest request and is then reused, so a training step touches no fresh pages after its first
// iteration.
#pragma once

#include <cstddef>

namespace zf::cpu {

// A float buffer of at least n elements owned by the calling thread; slot separates buffers that
// one thread needs at the same time. Contents are unspecified.
float* scratch(size_t n, int slot = 0);

}  // namespace zf::cpu
