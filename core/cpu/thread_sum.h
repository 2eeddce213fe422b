// How the convolutions (core/cpu/conv.cpp, core/cpu/winograd.cpp) share images among threads: one
// image per thread when there are enough images, and a sum over images that the threads split.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "core/cpu/cpu_ops.h"
#include "core/cpu/workspace.h"

namespace zf::cpu {

// Images run one per thread (sgemm single-threaded inside the team) when there are at least as many
// images as threads; otherwise one at a time, each product threaded by OpenBLAS.
inline bool per_image_threads(int64_t n) {
  return n >= num_threads() && num_threads() > 1;
}

// f(n) for every image n in 0 .. N, spread as per_image_threads says.
template <class F>
void for_each_image(int64_t N, F&& f) {
  if (per_image_threads(N)) {
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; ++n) f(n);
  } else {
    for (int64_t n = 0; n < N; ++n) f(n);
  }
}

// out[0 .. n) = the sum over images 0 .. N of their contributions, where range(acc, lo, hi) writes
// the sum of images lo .. hi into acc (zeros when lo == hi). Each thread of the team takes an even
// share of the images into its own buffer (thread 0: out itself, the others: scratch `slot`), and
// the buffers are then added in thread order, so the result does not depend on scheduling. With
// fewer images than threads, range(out, 0, N) alone.
template <class Range>
void sum_over_threads(float* out, size_t n, int64_t N, int slot, Range&& range) {
  if (!per_image_threads(N)) return range(out, 0, N);
  constexpr int kMaxThreads = 256;
  float* partial[kMaxThreads] = {};
  int used = 1;
#pragma omp parallel
  {
    const int T = std::min(omp_get_num_threads(), kMaxThreads), t = omp_get_thread_num();
#pragma omp single
    used = T;
    if (t < T) {
      float* acc = t == 0 ? out : scratch(n, slot);
      partial[t] = acc;
      range(acc, N * t / T, N * (t + 1) / T);
    }
#pragma omp barrier
#pragma omp for schedule(static)
    for (int64_t i = 0; i < static_cast<int64_t>(n); ++i) {
      float v = out[i];
      for (int u = 1; u < used; ++u) v += partial[u][i];
      out[i] = v;
    }
  }
}

}  // namespace zf::cpu
