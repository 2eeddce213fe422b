// CUDA runtime wrapper used by core (Tensor memory, contexts, events, host waits) through
// core/backend.cpp. Runtime API only: the build machines have no driver, and a binary linked
// against libcuda would not even start there. This header names no CUDA type (core includes it,
// compiled without CUDA headers): streams and events are the CUstream_st / CUevent_st pointers of
// core/context.h. Every device-to-host copy and every host synchronization goes through here and is
// counted (host_waits).
#pragma once

#include <cstddef>
#include <string>

#include "core/backend.h"
#include "core/context.h"

namespace zf::cuda {

int device_count();    // 0 when no driver or no GPU (never throws)
std::string status();  // one line: the GPU found, or why none is usable
// The context of GPU `index` (core/context.h: zf::context), made current on the calling thread.
Context& device_context(int index);

void* malloc_device(int index, size_t bytes);
void free_device(int index, void* p);  // never throws
// Ordered on the compute stream of the device side; a copy to the host returns once it has
// arrived, one from the host once the host memory has been read (both are host waits).
void copy(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes);
void memset_zero(int index, void* p, size_t bytes);  // queued on the compute stream
size_t malloc_count();
void* malloc_pinned(size_t bytes);  // page-locked host memory
void free_pinned(void* p);
// On the upload stream of GPU `index`, without waiting; wait_uploads makes its compute stream wait
// for the uploads queued so far.
void upload_async(int index, void* dst_device, const void* src_pinned, size_t bytes);
void wait_uploads(int index);
void synchronize(int index);                    // cudaDeviceSynchronize on GPU `index` (counted)
void reserve_scratch(int index, size_t bytes);  // grows the ops' scratch to at least `bytes`

CUevent_st* event_create(int index);
void event_destroy(CUevent_st* e);  // never throws
void event_record(CUevent_st* e, int index, backend::Queue q);
void stream_wait(int index, backend::Queue q, CUevent_st* e);
bool event_done(CUevent_st* e);         // cudaEventQuery: never waits
void event_synchronize(CUevent_st* e);  // counted

backend::HostWaits host_waits();

}  // namespace zf::cuda
