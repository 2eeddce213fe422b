// The NCCL communicator (see comm.h): the gradients of ranks that train on GPUs, one GPU per rank.
// Built when CUDA, NCCL (the CUDA toolkit's nccl.h) and MPI are all found: mpirun starts the ranks,
// MPI carries NCCL's unique id from rank 0 to the others and the host-side exchanges (the loss
// statistics, stop signals: host()), and NCCL sums the device buffers on each GPU's compute stream,
// so the sum is ordered after the backward pass and before the optimizer's step without a host
// wait. Each rank's weight (its share of the global batch) is applied by NCCL itself (a
// pre-multiplied sum, ncclRedOpCreatePreMulSum).
#include <cuda_runtime.h>
#include <nccl.h>

#include "core/check.h"
#include "cuda/runtime.h"
#include "train/comm.h"

namespace zf {

namespace {

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
  }
  ~NcclComm() override {
    if (comm_) ncclCommDestroy(comm_);
  }
  int rank() const override { return host_.rank(); }
  int size() const override { return host_.size(); }
  int local_rank() const override { return host_.local_rank(); }
  const char* backend() const override { return "nccl"; }

  void sum(float* data, size_t n, float weight) override {
    cuda::device_context(device_.index);  // this rank's GPU, current on this thread
    ncclRedOp_t op;
    nccl_check(ncclRedOpCreatePreMulSum(&op, &weight, ncclFloat, ncclScalarHostImmediate, comm_),
               "ncclRedOpCreatePreMulSum");
    const ncclResult_t rc = ncclAllReduce(data, data, n, ncclFloat, op, comm_, stream_);
    ncclRedOpDestroy(op, comm_);
    nccl_check(rc, "ncclAllReduce");
  }
  void broadcast(void* data, size_t bytes) override { host_.broadcast(data, bytes); }
  int max(int v) override { return host_.max(v); }
  void abort(int code) override {
    ncclCommAbort(comm_);
    comm_ = nullptr;
    host_.abort(code);
  }

 private:
  Comm& host_;
  Device device_;
  cudaStream_t stream_ = nullptr;
  ncclComm_t comm_ = nullptr;
};

}  // namespace

std::unique_ptr<Comm> make_nccl_comm(Comm& host, Device device) {
  return std::make_unique<NcclComm>(host, device);
}

}  // namespace zf
