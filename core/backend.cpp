// Forwards device memory calls to the CUDA runtime wrapper, or refuses them in a CPU-only build.
#include "core/backend.h"

#include <cstdlib>

#ifdef ZF_HAVE_CUDA
#include "cuda/runtime.h"
#endif

namespace zf::backend {

#ifdef ZF_HAVE_CUDA
bool cuda_built() {
  return true;
}
bool cuda_available() {
  return cuda::device_count() > 0;
}
std::string cuda_status() {
  return cuda::status();
}
void* device_alloc(size_t bytes) {
  return cuda::malloc_device(bytes);
}
void device_free(void* p) {
  cuda::free_device(p);
}
void device_copy(void* dst, Device dd, const void* src, Device sd, size_t bytes) {
  cuda::copy(dst, dd == Device::CUDA, src, sd == Device::CUDA, bytes);
}
void device_memset_zero(void* p, size_t bytes) {
  cuda::memset_zero(p, bytes);
}
size_t device_alloc_count() {
  return cuda::malloc_count();
}
void* pinned_alloc(size_t bytes) {
  return cuda::malloc_pinned(bytes);
}
void pinned_free(void* p) {
  cuda::free_pinned(p);
}
void upload_async(void* dst, const void* src, size_t bytes) {
  cuda::upload_async(dst, src, bytes);
}
void wait_uploads() {
  cuda::wait_uploads();
}
void device_synchronize() {
  cuda::synchronize();
}
void reserve_scratch(size_t bytes) {
  if (bytes) cuda::reserve_scratch(bytes);
}
#else
bool cuda_built() {
  return false;
}
bool cuda_available() {
  return false;
}
std::string cuda_status() {
  return "this build has no CUDA backend (nvcc not found or ZF_CUDA=OFF)";
}
[[noreturn]] static void no_cuda() {
  ZF_THROW("CUDA tensor requested, but this build has no CUDA backend");
}
void* device_alloc(size_t) {
  no_cuda();
}
void device_free(void*) {}
void device_copy(void*, Device, const void*, Device, size_t) {
  no_cuda();
}
void device_memset_zero(void*, size_t) {
  no_cuda();
}
size_t device_alloc_count() {
  return 0;
}
void* pinned_alloc(size_t bytes) {
  void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  ZF_CHECK(p, "out of host memory allocating %zu bytes", bytes);
  return p;
}
void pinned_free(void* p) {
  std::free(p);
}
void upload_async(void*, const void*, size_t) {
  no_cuda();
}
void wait_uploads() {}
void device_synchronize() {}
void reserve_scratch(size_t) {}
#endif

}  // namespace zf::backend
