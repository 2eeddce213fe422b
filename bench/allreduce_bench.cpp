// zf_allreduce_bench: how long the data-parallel gradient sum of train/comm.h takes, by default on
// ZFNet's 62.4M parameter gradients (249 MB of fp32), between the ranks mpirun starts:
//   mpirun -np 2 --oversubscribe zf_allreduce_bench [FLOATS] [REPEATS] [mpi]
// Prints, from rank 0, the median time of one sum and its bus bandwidth (2 (N-1)/N bytes / time,
// what each rank sends), and checks the result against the exact sum. With `mpi`, times Open MPI's
// own MPI_Allreduce instead (no fixed order), for comparison.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "train/comm.h"

int main(int argc, char** argv) {
  try {
    const size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 62357608;  // ZFNet
    const int repeats = argc > 2 ? std::atoi(argv[2]) : 5;
    const bool plain = argc > 3 && std::strcmp(argv[3], "mpi") == 0;
    std::unique_ptr<zf::Comm> comm = zf::make_comm();
    const int N = comm->size(), r = comm->rank();
    std::vector<float> buf(n);
    std::vector<double> ms;
    bool exact = true;
    for (int k = 0; k < repeats + 1; ++k) {  // the first sum touches fresh memory: not counted
      for (size_t i = 0; i < n; ++i) buf[i] = static_cast<float>((i + r) % 7);
      const auto t0 = std::chrono::steady_clock::now();
      if (plain)
        MPI_Allreduce(MPI_IN_PLACE, buf.data(), static_cast<int>(n), MPI_FLOAT, MPI_SUM,
                      MPI_COMM_WORLD);
      else
        comm->sum(buf.data(), n, 1.f);
      const auto t1 = std::chrono::steady_clock::now();
      if (k) ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      for (size_t i = 0; i < n; i += 4097) {
        float want = 0;
        for (int q = 0; q < N; ++q) want += static_cast<float>((i + q) % 7);
        exact = exact && buf[i] == want;
      }
    }
    std::sort(ms.begin(), ms.end());
    const double med = ms[ms.size() / 2];
    const double bytes = 4.0 * static_cast<double>(n);
    if (r == 0)
      std::printf(
          "%s sum over %d ranks of %zu floats (%.0f MB): median %.1f ms of %d (min %.1f), "
          "bus bandwidth %.2f GB/s, %s\n",
          plain ? "MPI_Allreduce" : comm->backend(), N, n, bytes / 1e6, med, repeats, ms.front(),
          N > 1 ? 2.0 * (N - 1) / N * bytes / (med * 1e6) : 0.0,
          exact ? "result exact" : "RESULT WRONG");
    return exact ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "zf_allreduce_bench: %s\n", e.what());
    return 1;
  }
}
