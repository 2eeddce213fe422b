// The NCCL communicator (see comm.h): the gradients of ranks that train on GPUs, one GPU per rank.
// Built when CUDA and NCCL (the CUDA toolkit's nccl.h, or NCCL_ROOT's) are found. mpirun starts the
// ranks, MPI carries NCCL's unique id from rank 0 to the others and the host-side exchanges (the
// loss statistics, stop signals: host()); with one process (zf_train --nccl) the host is the single
// communicator. Each rank's weight (its share of the global batch) is applied by NCCL itself (a
// pre-multiplied sum, ncclRedOpCreatePreMulSum).
//
// Streams. sum() is queued on the compute stream. The backward pass's buckets (sum_start) go to a
// stream of this communicator's own: an event recorded on the compute stream after the bucket's
// last gradient makes the NCCL stream wait for it, so that the bucket's all-reduce runs while the
// compute stream goes on with the lower layers; sum_finish() makes the compute stream wait for the
// NCCL stream before the optimizer's step. Nothing waits on the host.
#include <cuda_runtime.h>
#include <nccl.h>

#include "core/check.h"
#include "cuda/runtime.h"
#include "train/comm.h"

namespace zf {

namespace {

void cuda_check(cudaError_t rc, const char* call) {
  ZF_CHECK(rc == cudaSuccess, "%s failed: %s", call, cudaGetErrorString(rc));
}

void nccl_check(ncclResult_t rc, const char* call) {
  ZF_CHECK(rc == ncclSuccess, "%s failed: %s (another rank has probably stopped)", call,
           ncclGetErrorString(rc));
}

class NcclComm : public Comm {
 public:
  NcclComm(Comm& host, Device device) : host_(host), device_(device) {
    ZF_CHECK(device.is_cuda(), "NCCL communicator on %s", device_name(device));
    ZF_CHECK(device.index < cuda::device_count(),
             "mpirun: rank %d is number %d on its machine, which has %d GPUs (one GPU per rank)",
             host.rank(), device.index, cuda::device_count());
    stream_ = reinterpret_cast<cudaStream_t>(cuda::device_context(device.index).stream);
    ncclUniqueId id;
    if (host.rank() == 0) nccl_check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    host.broadcast(&id, sizeof id);
    nccl_check(ncclCommInitRank(&comm_, host.size(), id, host.rank()), "ncclCommInitRank");
    cuda_check(cudaStreamCreateWithFlags(&own_, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
    cuda_check(cudaEventCreateWithFlags(&ready_, cudaEventDisableTiming), "cudaEventCreate");
    cuda_check(cudaEventCreateWithFlags(&summed_, cudaEventDisableTiming), "cudaEventCreate");
  }
  ~NcclComm() override {
    if (comm_) ncclCommDestroy(comm_);
    if (ready_) cudaEventDestroy(ready_);
    if (summed_) cudaEventDestroy(summed_);
    if (own_) cudaStreamDestroy(own_);
  }
  int rank() const override { return host_.rank(); }
  int size() const override { return host_.size(); }
  int local_rank() const override { return host_.local_rank(); }
  const char* backend() const override { return "nccl"; }

  void sum(float* data, size_t n, float weight) override {
    cuda::device_context(device_.index);  // this rank's GPU, current on this thread
    all_reduce(data, n, weight, stream_);
  }
  void sum_start(float* data, size_t n, float weight) override {
    cuda::device_context(device_.index);
    cuda_check(cudaEventRecord(ready_, stream_), "cudaEventRecord");
    cuda_check(cudaStreamWaitEvent(own_, ready_, 0), "cudaStreamWaitEvent");
    all_reduce(data, n, weight, own_);
    started_ = true;
  }
  void sum_finish() override {
    if (!started_) return;
    started_ = false;
    cuda_check(cudaEventRecord(summed_, own_), "cudaEventRecord");
    cuda_check(cudaStreamWaitEvent(stream_, summed_, 0), "cudaStreamWaitEvent");
  }
  void broadcast(void* data, size_t bytes) override { host_.broadcast(data, bytes); }

  int max(int v) override { return host_.max(v); }
  void abort(int code) override {
    ncclCommAbort(comm_);
    comm_ = nullptr;
    host_.abort(code);
  }

 private:
  void all_reduce(float* data, size_t n, float weight, cudaStream_t stream) {
    ncclRedOp_t op;
    nccl_check(ncclRedOpCreatePreMulSum(&op, &weight, ncclFloat, ncclScalarHostImmediate, comm_),
               "ncclRedOpCreatePreMulSum");
    const ncclResult_t rc = ncclAllReduce(data, data, n, ncclFloat, op, comm_, stream);
    ncclRedOpDestroy(op, comm_);
    nccl_check(rc, "ncclAllReduce");
  }
  Comm& host_;
  Device device_;
  cudaStream_t stream_ = nullptr;  // the GPU's compute stream
  cudaStream_t own_ = nullptr;     // the buckets' all-reduces
  cudaEvent_t ready_ = nullptr, summed_ = nullptr;
  bool started_ = false;  // a bucket was queued since the last sum_finish()
  ncclComm_t comm_ = nullptr;
};

}  // namespace

std::unique_ptr<Comm> make_nccl_comm(Comm& host, Device device) {
  return std::make_unique<NcclComm>(host, device);
}

}  // namespace zf
