// Forwards device memory, context, event and host-wait calls to the CUDA runtime wrapper, or
// refuses them (events: ignores them) in a CPU-only build.
#include "core/backend.h"

#include <cstdlib>
#include <utility>

#ifdef ZF_HAVE_CUDA
#include "cuda/runtime.h"
#endif

namespace zf {

namespace {
Context& cpu_context() {
  static Context c{Device::CPU};
  return c;
}
}  // namespace

#ifdef ZF_HAVE_CUDA
Context& context(Device d) {
  return d.is_cuda() ? cuda::device_context(d.index) : cpu_context();
}
#else
Context& context(Device d) {
  ZF_CHECK(!d.is_cuda(), "context(%s): this build has no CUDA backend", device_name(d));
  return cpu_context();
}
#endif

}  // namespace zf

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
void* device_alloc(Device d, size_t bytes) {
  return cuda::malloc_device(d.index, bytes);
}
void device_free(Device d, void* p) {
  cuda::free_device(d.index, p);
}
void device_copy(void* dst, Device dd, const void* src, Device sd, size_t bytes) {
  cuda::copy(dst, dd, src, sd, bytes);
}
void device_memset_zero(Device d, void* p, size_t bytes) {
  cuda::memset_zero(d.index, p, bytes);
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
void upload_async(Device d, void* dst, const void* src, size_t bytes) {
  cuda::upload_async(d.index, dst, src, bytes);
}
void wait_uploads(Device d) {
  if (d.is_cuda()) cuda::wait_uploads(d.index);
}
void device_synchronize(Device d) {
  if (d.is_cuda()) cuda::synchronize(d.index);
}
void reserve_scratch(Device d, size_t bytes) {
  if (d.is_cuda() && bytes) cuda::reserve_scratch(d.index, bytes);
}
HostWaits host_waits() {
  return cuda::host_waits();
}

Event::Event(Device d) : device_(d) {
  if (d.is_cuda()) event_ = cuda::event_create(d.index);
}
void Event::release() {
  if (event_) cuda::event_destroy(event_);
  event_ = nullptr;
}
void Event::record(Queue q) {
  if (event_) cuda::event_record(event_, device_.index, q);
}
void Event::wait(Queue q) const {
  if (event_) cuda::stream_wait(device_.index, q, event_);
}
bool Event::done() const {
  return !event_ || cuda::event_done(event_);
}
void Event::synchronize() const {
  if (event_) cuda::event_synchronize(event_);
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
void* device_alloc(Device, size_t) {
  no_cuda();
}
void device_free(Device, void*) {}
void device_copy(void*, Device, const void*, Device, size_t) {
  no_cuda();
}
void device_memset_zero(Device, void*, size_t) {
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
void upload_async(Device, void*, const void*, size_t) {
  no_cuda();
}
void wait_uploads(Device) {}
void device_synchronize(Device) {}
void reserve_scratch(Device, size_t) {}
HostWaits host_waits() {
  return HostWaits{};
}

// No CUDA, so no event can be made: every Event is the no-op one.
Event::Event(Device d) : device_(d) {}
void Event::release() {}
void Event::record(Queue) {}
void Event::wait(Queue) const {}
bool Event::done() const {
  return true;
}
void Event::synchronize() const {}
#endif

Event::~Event() {
  release();
}

Event::Event(Event&& o) noexcept : device_(o.device_), event_(std::exchange(o.event_, nullptr)) {}

Event& Event::operator=(Event&& o) noexcept {
  if (this != &o) {
    release();
    device_ = o.device_;
    event_ = std::exchange(o.event_, nullptr);
  }
  return *this;
}

Device resolve_device(const std::string& name) {
  if (name == "auto") return cuda_available() ? Device::CUDA : Device::CPU;
  const Device d = parse_device(name);
  if (d.is_cuda()) ZF_CHECK(cuda_available(), "--device %s: %s", name.c_str(), cuda_status().c_str());
  return d;
}

}  // namespace zf::backend
