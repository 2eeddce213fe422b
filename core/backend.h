// Device memory and device discovery. The CPU build answers "no CUDA" and throws on device memory; the
// CUDA build forwards to cuda/runtime.cu. There is no silent fallback from CUDA to the CPU.
#pragma once

#include <cstddef>
#include <string>

#include "core/tensor.h"

namespace zf::backend {

bool cuda_built();      // the CUDA backend was compiled in
bool cuda_available();  // compiled in, and a driver and at least one GPU are present
std::string cuda_status();  // one line: why CUDA is or is not usable

void* device_alloc(size_t bytes);
void device_free(void* p);
void device_copy(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes);
void device_memset_zero(void* p, size_t bytes);

}  // namespace zf::backend
