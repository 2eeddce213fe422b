// The execution context of a device (DESIGN section 8): what every op on that device's tensors is
// queued on. For a GPU: its compute stream (non-blocking, never the legacy default stream), the
// upload stream for input batches, a cuBLAS handle bound to the compute stream, and the ops' device
// scratch. The CPU's context is empty: its ops run on the calling thread.
//
// core does not include CUDA headers: the handles are named by the structs that cudaStream_t,
// cudaEvent_t and cublasHandle_t point to (the same in the CUDA runtime and in cuda/emu), so CUDA
// code uses the fields as those types directly.
#pragma once

#include <cstddef>

#include "core/tensor.h"

struct CUstream_st;
struct CUevent_st;
struct cublasContext;

namespace zf {

// The arithmetic of a GPU's convolutions (cuda/conv_gemm.h): FP32 (the default and the reference),
// or TF32 tensor cores: each product's inputs rounded to TF32 (10 mantissa bits), sums in FP32.
enum class ConvMath { Fp32, Tf32 };

struct Context {
  Device device;
  // Read by the CUDA conv ops; a CUDA context starts with ZF_CONV_MATH's choice (fp32 unless it
  // says tf32), and the trainer sets it from train.conv_math / --conv-math.
  ConvMath conv_math = ConvMath::Fp32;
  // Read by the CPU conv ops. true (the default): every product holds one image's columns, so an
  // image's results are the same bits in any batch, alone or not (the deconvnet's projections and
  // the analyses rely on it: DeconvnetDeterminism). false: where it is faster, products take the
  // columns of several images at once (Winograd on small planes), and an image's bits may then
  // depend on its batch (OpenBLAS picks its kernel, and the order of a sum, by a product's size).
  // The trainer sets false for its steps and evaluations.
  bool batch_invariant = true;
  CUstream_st* stream = nullptr;    // compute: the ops' kernels, copies, memsets and cuBLAS calls
  CUstream_st* upload = nullptr;    // host-to-device uploads of input batches
  CUevent_st* uploaded = nullptr;   // the last upload queued (backend::wait_uploads)
  CUevent_st* ordered = nullptr;    // orders this stream with another GPU's (copies between GPUs)
  cublasContext* cublas = nullptr;  // bound to `stream`
  // The ops' device scratch (split-K partials, per-sample losses): `slots` buffers that grow to the
  // largest request and are then reused (cuda/launch.h: scratch()).
  static constexpr int kScratchSlots = 2;
  void* scratch[kScratchSlots] = {};
  size_t scratch_bytes[kScratchSlots] = {};
};

// The context of device d, created on first use and kept for the process (streams and cuBLAS
// handles are costly to create). For a CUDA device this also makes that device current on the
// calling thread, so that the launches and allocations that follow go to it. Throws for a CUDA
// device in a build without CUDA, or for a GPU index that does not exist.
Context& context(Device d);

// The CPU context's batch_invariant set to `on` for a scope and restored as it was when the scope
// ends, by return or by throw: the trainer's steps run batch-variant, zf_bench's rows run as the
// tool they time would, and the tests choose a setting per case.
class ScopedBatchInvariance {
 public:
  explicit ScopedBatchInvariance(bool on) : before_(context(Device::CPU).batch_invariant) {
    context(Device::CPU).batch_invariant = on;
  }
  ~ScopedBatchInvariance() { context(Device::CPU).batch_invariant = before_; }
  ScopedBatchInvariance(const ScopedBatchInvariance&) = delete;
  ScopedBatchInvariance& operator=(const ScopedBatchInvariance&) = delete;

 private:
  bool before_;
};

}  // namespace zf
