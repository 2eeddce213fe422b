// The MPI communicator (see comm.h): the ranks mpirun started, training on the CPU.
//
// sum() is a reduce-scatter and an all-gather built from MPI's data-moving collectives, with the
// arithmetic done here in rank order: the buffer is cut into one chunk per rank; MPI_Alltoallv
// brings every rank's copy of chunk j to rank j, which adds them up in rank order; MPI_Allgatherv
// hands the summed chunks to everyone. Each rank sends and receives 2 (N-1)/N of the buffer, as a
// ring all-reduce does, and the result does not depend on how MPI schedules its messages.
//
// Failure: errors are returned (MPI_ERRORS_RETURN) and thrown as zf::Error naming the call; a rank
// that dies or exits with an error makes mpirun end the others (Open MPI's default), and abort()
// ends them all at once for a failure one rank met alone.
#include <mpi.h>

#include <climits>
#include <vector>

#include "core/check.h"
#include "train/comm.h"

namespace zf {

namespace {

void mpi_check(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  ZF_CHECK(false, "%s failed: %s (another rank has probably stopped)", call, text);
}

class MpiComm : public Comm {
 public:
  MpiComm() {
    int provided = 0;
    // The loader's threads never call MPI: the main thread alone does.
    mpi_check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm node;
    mpi_check(
        MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node),
        "MPI_Comm_split_type");
    MPI_Comm_rank(node, &local_rank_);
    MPI_Comm_free(&node);
  }
  ~MpiComm() override { MPI_Finalize(); }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  const char* backend() const override { return "mpi"; }

  void sum(float* data, size_t n, float weight) override {
    if (weight != 1.f)
      for (size_t i = 0; i < n; ++i) data[i] *= weight;
    if (size_ == 1 || n == 0) return;
    ZF_CHECK(n < static_cast<size_t>(INT_MAX),
             "all-reduce of %zu floats: more than MPI's int counts", n);
    const int N = size_;
    std::vector<int> start(N + 1), count(N), rdispl(N);
    for (int j = 0; j <= N; ++j) start[j] = static_cast<int>(n * j / N);
    for (int j = 0; j < N; ++j) count[j] = start[j + 1] - start[j];
    const int mine = count[rank_];
    std::vector<int> rcount(N, mine);
    for (int i = 0; i < N; ++i) rdispl[i] = i * mine;
    recv_.resize(static_cast<size_t>(N) * mine);
    mpi_check(MPI_Alltoallv(data, count.data(), start.data(), MPI_FLOAT, recv_.data(),
                            rcount.data(), rdispl.data(), MPI_FLOAT, MPI_COMM_WORLD),
              "MPI_Alltoallv");
    float* out = data + start[rank_];
    for (int k = 0; k < mine; ++k) {
      float s = recv_[k];
      for (int i = 1; i < N; ++i) s += recv_[static_cast<size_t>(i) * mine + k];
      out[k] = s;
    }
    mpi_check(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_FLOAT, data, count.data(), start.data(),
                             MPI_FLOAT, MPI_COMM_WORLD),
              "MPI_Allgatherv");
  }

  void broadcast(void* data, size_t bytes) override {
    ZF_CHECK(bytes < static_cast<size_t>(INT_MAX), "broadcast of %zu bytes", bytes);
    mpi_check(MPI_Bcast(data, static_cast<int>(bytes), MPI_BYTE, 0, MPI_COMM_WORLD), "MPI_Bcast");
  }

  int max(int v) override {
    int out = v;
    mpi_check(MPI_Allreduce(&v, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");
    return out;
  }

  void abort(int code) override { MPI_Abort(MPI_COMM_WORLD, code); }

 private:
  int rank_ = 0, size_ = 1, local_rank_ = 0;
  std::vector<float> recv_;
};

}  // namespace

std::unique_ptr<Comm> make_mpi_comm() {
  return std::make_unique<MpiComm>();
}

}  // namespace zf
