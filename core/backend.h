// Device memory, device discovery, events and the count of host waits. The CPU build answers "no
// CUDA", throws on device memory and makes events no-ops; the CUDA build forwards to
// cuda/runtime.cu. There is no silent fallback from CUDA to the CPU.
#pragma once

#include <cstddef>
#include <string>

#include "core/context.h"
#include "core/tensor.h"

namespace zf::backend {

bool cuda_built();          // the CUDA backend was compiled in
bool cuda_available();      // compiled in, and a driver and at least one GPU are present
std::string cuda_status();  // one line: why CUDA is or is not usable
// A --device option: "cpu", "cuda" / "cuda:N" (throws with cuda_status() when no GPU is usable) or
// "auto" (the first GPU when one is usable, else the CPU).
Device resolve_device(const std::string& name);

void* device_alloc(Device d, size_t bytes);
void device_free(Device d, void* p);
// Copies between the host and a GPU or between GPUs, ordered with the work queued on the compute
// stream of the GPU side(s). A copy to the host returns once the data has arrived (a device-to-host
// copy in host_waits()); one from the host once the host memory has been read (a sync in
// host_waits()); one between device buffers returns at once.
void device_copy(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes);
void device_memset_zero(Device d, void* p, size_t bytes);  // queued on d's compute stream
size_t
device_alloc_count();  // device allocations so far (a training step must add none after its first)

// Page-locked host memory, which the GPU reads while it computes (plain host memory without CUDA).
void* pinned_alloc(size_t bytes);
void pinned_free(void* p);
// Host-to-device copy on d's upload stream: returns at once, overlapping with device work;
// wait_uploads(d) makes d's compute work queued afterwards wait for every upload queued before.
void upload_async(Device d, void* dst_device, const void* src_pinned, size_t bytes);
void wait_uploads(Device d);
// Grows d's device scratch that ops use for temporaries to at least `bytes` (no-op on the CPU).
void reserve_scratch(Device d, size_t bytes);
// Blocks until all work queued on d, on every stream, has finished (timings). No-op on the CPU.
void device_synchronize(Device d);

// The host waits the backend has performed since the process started: device-to-host copies
// (Tensor::to(CPU), copy_from into a host tensor) and synchronizations (device, stream or event).
// Ops perform none; a training step's only ones are its documented read-backs. Zero without CUDA.
struct HostWaits {
  size_t d2h_copies = 0, syncs = 0;
};
HostWaits host_waits();

// The two streams of a device's context: the ops' compute stream and the input upload stream.
enum class Queue { Compute, Upload };

// A marker in the work queued on one of a GPU's streams (cudaEvent, without timing). An Event made
// for the CPU, or default-constructed, is no event: record and wait do nothing and done() is true,
// so code that feeds either device needs no branches.
class Event {
 public:
  Event() = default;
  explicit Event(Device d);
  ~Event();
  Event(Event&& o) noexcept;
  Event& operator=(Event&& o) noexcept;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  void record(Queue q);  // marks the work queued on q so far
  void wait(
      Queue q) const;  // q's work queued from now on starts after the marked work (no host wait)
  bool done() const;   // the marked work has finished, or nothing was recorded; never waits
  void synchronize() const;  // the host waits for the marked work (a sync in host_waits())

 private:
  void release();
  Device device_;
  CUevent_st* event_ = nullptr;
};

}  // namespace zf::backend
