// OpenBLAS loaded on first use, with its AVX-512 kernels where the CPU has them (see blas.h).
#include "core/cpu/blas.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

#include "core/check.h"

namespace zf::cpu {

namespace {

// cblas_sgemm's C signature, with the standard CBLAS enum values (so no cblas.h is needed to
// build).
enum { kRowMajor = 101, kNoTrans = 111, kTrans = 112 };
using CblasSgemm = void (*)(int, int, int, int, int, int, float, const float*, int, const float*,
                            int, float, float*, int);

// Where OpenBLAS is not installed (the GPU machine has none of Debian's packages) the CPU backend
// still works, slowly: a plain loop, enough to be the reference for the CUDA equivalence tests.
void fallback_sgemm(int, int ta, int tb, int M, int N, int K, float alpha, const float* A, int lda,
                    const float* B, int ldb, float beta, float* C, int ldc) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < M; ++i) {
    float* c = C + static_cast<size_t>(i) * ldc;
    for (int j = 0; j < N; ++j) c[j] = beta == 0.f ? 0.f : beta * c[j];
    for (int k = 0; k < K; ++k) {
      const float a = alpha * (ta == kTrans ? A[static_cast<size_t>(k) * lda + i]
                                            : A[static_cast<size_t>(i) * lda + k]);
      if (tb == kTrans) {
        for (int j = 0; j < N; ++j) c[j] += a * B[static_cast<size_t>(j) * ldb + k];
      } else {
        const float* b = B + static_cast<size_t>(k) * ldb;
        for (int j = 0; j < N; ++j) c[j] += a * b[j];
      }
    }
  }
}

struct Blas {
  CblasSgemm sgemm = fallback_sgemm;
  std::string description = "built-in fallback sgemm (OpenBLAS not found: slow)";
};

const Blas& blas() {
  static Blas b;
  static std::once_flag once;
  std::call_once(once, [] {
    // ZF_OPENBLAS_CORETYPE decides when set; otherwise the CPU's features do, even over an
    // inherited OPENBLAS_CORETYPE (these machines' environment sets it to Haswell, which
    // costs 1.6x).
    const char* want = std::getenv("ZF_OPENBLAS_CORETYPE");
    const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    if (want && *want)
      setenv("OPENBLAS_CORETYPE", want, 1);
    else if (avx512)
      setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
#ifdef ZF_OPENBLAS_LIBRARY
    const char* path = ZF_OPENBLAS_LIBRARY;
#else
    const char* path = "libopenblas.so.0";
#endif
    const char* force = std::getenv("ZF_BLAS");
    if (force && std::string(force) == "builtin") return;  // tests of the fallback
    void* lib = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    if (!lib) return;
    auto f = reinterpret_cast<CblasSgemm>(dlsym(lib, "cblas_sgemm"));
    if (!f) return;
    b.sgemm = f;
    using CoreName = char* (*)();
    auto core = reinterpret_cast<CoreName>(dlsym(lib, "openblas_get_corename"));
    b.description = std::string(path) + " (" + (core ? core() : "?") + " kernels)";
  });
  return b;
}

}  // namespace

void sgemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda,
           const float* B, int ldb, float beta, float* C, int ldc) {
  blas().sgemm(kRowMajor, ta ? kTrans : kNoTrans, tb ? kTrans : kNoTrans, M, N, K, alpha, A, lda, B,
               ldb, beta, C, ldc);
}

std::string blas_description() {
  return blas().description;
}

}  // namespace zf::cpu
