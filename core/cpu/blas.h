// The one BLAS call the CPU backend makes (row-major sgemm), through OpenBLAS loaded at first use.
//
// Why not plain linking: Debian's OpenBLAS 0.3.21 does not know these machines' CPU and picks its
// AVX2
// ("Haswell") kernels, about 250 GFLOP/s on 2 cores, although the CPU runs AVX-512; its "SkylakeX"
// kernels reach about 400 (and the machines' environment even sets OPENBLAS_CORETYPE=Haswell). The
// kernel set is chosen from OPENBLAS_CORETYPE when the library is loaded, which for a linked
// library is before main(). So we load it ourselves, after setting OPENBLAS_CORETYPE to
// ZF_OPENBLAS_CORETYPE when that is set, else to SkylakeX when the CPU has the AVX-512 subsets
// those kernels use.
#pragma once

#include <string>

namespace zf::cpu {

// C[M,N] = alpha * op(A) * op(B) + beta * C, all row-major; op transposes when ta / tb.
void sgemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda,
           const float* B, int ldb, float beta, float* C, int ldc);

// ZF_BLAS=builtin in the environment forces the slow built-in sgemm (used to test that fallback).
// "OpenBLAS 0.3.21 (SkylakeX kernels)": what was loaded, for benchmark reports.
std::string blas_description();

}  // namespace zf::cpu
