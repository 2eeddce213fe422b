// CUDA runtime wrapper used by Tensor for device memory (runtime API only: the build machines have
// no driver, and a binary linked against libcuda would not even start there).
#pragma once

#include <cstddef>
#include <string>

namespace zf::cuda {

int device_count();    // 0 when no driver or no GPU (never throws)
std::string status();  // one line: the GPU found, or why none is usable
void* malloc_device(size_t bytes);
void free_device(void* p);
void copy(void* dst, bool dst_on_device, const void* src, bool src_on_device, size_t bytes);
void memset_zero(void* p, size_t bytes);
size_t malloc_count();
void* malloc_pinned(size_t bytes);  // page-locked host memory
void free_pinned(void* p);
void upload_async(void* dst_device, const void* src_pinned, size_t bytes);  // on the upload stream
void wait_uploads();                 // the default stream waits for the uploads queued so far
void synchronize();                  // cudaDeviceSynchronize
void reserve_scratch(size_t bytes);  // grows the ops' scratch (launch.h) to at least `bytes`

}  // namespace zf::cuda
