// The single-process communicator and the choice of backend (see comm.h).
#include "train/comm.h"

#include <cstdlib>

#include "core/check.h"

namespace zf {

namespace {

class SingleComm : public Comm {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_rank() const override { return 0; }
  const char* backend() const override { return "single"; }
  void sum(float* data, size_t n, float weight) override {
    if (weight != 1.f)
      for (size_t i = 0; i < n; ++i) data[i] *= weight;
  }
  void broadcast(void*, size_t) override {}
  int max(int v) override { return v; }
  void abort(int) override {}
};

// The number of ranks the launcher announced (0 when not launched by mpirun).
int launched_ranks() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
    if (const char* v = std::getenv(var)) return std::atoi(v);
  return 0;
}

}  // namespace

int launched_rank() {
  for (const char* var : {"OMPI_COMM_WORLD_RANK", "PMI_RANK"})
    if (const char* v = std::getenv(var)) return std::atoi(v);
  return 0;
}

void Comm::sum_start(float* data, size_t n, float weight) {
  if (!pending_) {
    pending_ = data, pending_n_ = n, pending_weight_ = weight;
    return;
  }
  ZF_CHECK(data + n == pending_ && weight == pending_weight_,
           "Comm::sum_start: buckets must tile one range downwards with one weight");
  pending_ = data, pending_n_ += n;
}

void Comm::sum_finish() {
  if (!pending_) return;
  float* data = pending_;
  pending_ = nullptr;
  sum(data, pending_n_, pending_weight_);
}

#ifdef ZF_HAVE_MPI
std::unique_ptr<Comm> make_mpi_comm();  // comm_mpi.cpp
bool comm_has_mpi() {
  return true;
}
#else
bool comm_has_mpi() {
  return false;
}
#endif

#ifdef ZF_HAVE_NCCL
bool comm_has_nccl() {
  return true;
}
#else
bool comm_has_nccl() {
  return false;
}
std::unique_ptr<Comm> make_nccl_comm(Comm&, Device device) {
  ZF_CHECK(false,
           "training on %s with --nccl or under mpirun needs NCCL, and this build has none (it "
           "needs the CUDA toolkit's nccl.h, or NCCL_ROOT at configure time)",
           device_name(device));
  return nullptr;
}
#endif

std::unique_ptr<Comm> make_single_comm() {
  return std::make_unique<SingleComm>();
}

std::unique_ptr<Comm> make_comm() {
  const int n = launched_ranks();
  if (n <= 0) return make_single_comm();
#ifdef ZF_HAVE_MPI
  return make_mpi_comm();
#else
  ZF_CHECK(n == 1,
           "launched by mpirun as one of %d ranks, but this build has no MPI (install "
           "libopenmpi-dev and configure again)",
           n);
  return make_single_comm();
#endif
}

}  // namespace zf
