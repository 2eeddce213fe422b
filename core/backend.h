// Device memory and device discovery. The CPU build answers "no CUDA" and throws on device memory;
// the CUDA build forwards to cuda/runtime.cu. There is no silent fallback from CUDA to the CPU.
#pragma once

#include <cstddef>
#include <string>

#include "core/tensor.h"

namespace zf::backend {

bool cuda_built();          // the CUDA backend was compiled in
bool cuda_available();      // compiled in, and a driver and at least one GPU are present
std::string cuda_status();  // one line: why CUDA is or is not usable

void* device_alloc(size_t bytes);
void device_free(void* p);
void device_copy(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes);
void device_memset_zero(void* p, size_t bytes);
size_t
device_alloc_count();  // device allocations so far (a training step must add none after its first)

// Page-locked host memory, which the GPU reads while it computes (plain host memory without CUDA).
void* pinned_alloc(size_t bytes);
void pinned_free(void* p);
// Host-to-device copy on the backend's upload stream: returns at once, overlapping with device
// work; wait_uploads() makes device work queued afterwards wait for every upload queued before.
void upload_async(void* dst_device, const void* src_pinned, size_t bytes);
void wait_uploads();
// Grows the device scratch that ops use for temporaries to at least `bytes` (no-op without CUDA).
void reserve_scratch(size_t bytes);
// Blocks until all queued device work, on every stream, has finished (timings). No-op without CUDA.
void device_synchronize();

}  // namespace zf::backend
