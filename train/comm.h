// The communicator of data-parallel training (DESIGN section 8): which rank of how many this
// process is, and the sum over ranks of the parameter gradients that sits between the backward
// pass and the optimizer step. One small interface, three implementations:
//   - single: one process (zf_train without mpirun); the sum is the identity;
//   - mpi: the ranks mpirun started (train/comm_mpi.cpp, compiled when CMake finds MPI), for ranks
//     that train on the CPU, and for the host-side exchanges of GPU ranks;
//   - nccl: the gradients of ranks that train on GPUs, one GPU per rank (train/comm_nccl.cpp,
//     compiled when CUDA, NCCL and MPI are all found; NCCL's ids travel through MPI).
// MPI's sum is in a fixed order (rank 0's value, plus rank 1's, plus rank 2's, ...), so that every
// rank gets the same bits and two runs with the same number of ranks are bit-identical (MPI's own
// MPI_Allreduce promises no order). NCCL's ring sums in an order fixed by the ranks and the
// topology, the same from run to run on the same machines.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "core/tensor.h"

namespace zf {

class Comm {
 public:
  virtual ~Comm() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual int local_rank() const = 0;  // among the ranks on this machine (selects a GPU)
  virtual const char* backend() const = 0;
  // data[i] = the sum over ranks of weight * data[i] (each rank's own weight), on every rank: in
  // host memory, or for nccl in the device memory of its GPU (queued on the compute stream).
  virtual void sum(float* data, size_t n, float weight) = 0;
  // sum() in buckets, for the backward pass: sum_start() queues the sum of one bucket whose
  // gradients are final (in stream order) and returns at once; sum_finish() orders all the queued
  // sums before whatever is queued next (the optimizer's step). nccl overlaps each bucket's sum
  // with the rest of the backward pass on a stream of its own. By default (single, mpi) the
  // buckets, which must tile one range from its end down to its start, are summed by one sum() at
  // sum_finish(): the same bits as sum() over the whole range.
  virtual void sum_start(float* data, size_t n, float weight);
  virtual void sum_finish();
  // Rank 0's `bytes` bytes at `data` to every rank (host memory).
  virtual void broadcast(void* data, size_t bytes) = 0;
  // The largest of the ranks' values (a stop signal or a failure one rank saw), on every rank.
  virtual int max(int v) = 0;
  // Ends every rank at once with exit status `code`: for a failure only this rank met, while the
  // others may be waiting for it in a collective. Returns only for the single process.
  virtual void abort(int code) = 0;

 private:
  float* pending_ = nullptr;  // the range the default sum_start() has gathered
  size_t pending_n_ = 0;
  float pending_weight_ = 1.f;
};

// The one process of a run without mpirun.
std::unique_ptr<Comm> make_single_comm();

// The communicator of this process: MPI's when mpirun started it (OMPI_COMM_WORLD_SIZE or
// PMI_SIZE set) and this build has MPI (throws zf::Error when it has not: each rank would train
// alone and write the same files), else the single process. Call once, before any thread starts.
std::unique_ptr<Comm> make_comm();

// This process's rank as the launcher announced it (OMPI_COMM_WORLD_RANK or PMI_RANK; 0 without
// mpirun): who reports an error met before the communicator exists.
int launched_rank();

// The NCCL communicator of the ranks of `host` (MPI's, or the single process's for a one-rank NCCL
// run: zf_train --nccl), each on its GPU `device`: sums device memory; rank(), size(), max() are
// host's. Throws zf::Error when this build has no NCCL.
std::unique_ptr<Comm> make_nccl_comm(Comm& host, Device device);

// Whether this build includes the MPI and the NCCL backends.
bool comm_has_mpi();
bool comm_has_nccl();

}  // namespace zf
