// CPU fully connected layers (the fc family): three OpenBLAS sgemm calls (OpenBLAS threads them
// itself).
//   y[N, out] = x[N, in] * W^T + b;  dx[N, in] = dy * W;  dW[out, in] = dy^T * x;  db = sum_n dy

#include <cstdint>

#include "core/cpu/blas.h"
#include "core/cpu/cpu_ops.h"

namespace zf::cpu {

void fc_forward(Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b) {
  const int N = static_cast<int>(x.dim(0)), in = static_cast<int>(w.dim(1)),
            out = static_cast<int>(w.dim(0));
  const float* B = b.f32();
  float* Y = y.f32();
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n)
    for (int o = 0; o < out; ++o) Y[static_cast<int64_t>(n) * out + o] = B[o];
  sgemm(false, true, N, out, in, 1.f, x.f32(), in, w.f32(), in, 1.f, Y, out);
}

void fc_backward_data(Tensor& dx, const Tensor& dy, const Tensor& w) {
  const int N = static_cast<int>(dy.dim(0)), in = static_cast<int>(w.dim(1)),
            out = static_cast<int>(w.dim(0));
  sgemm(false, false, N, in, out, 1.f, dy.f32(), out, w.f32(), in, 0.f, dx.f32(), in);
}

void fc_backward_weight(Tensor& dw, Tensor& db, const Tensor& dy, const Tensor& x) {
  const int N = static_cast<int>(dy.dim(0)), out = static_cast<int>(dy.dim(1)),
            in = static_cast<int>(dw.dim(1));
  const float* DY = dy.f32();
  sgemm(true, false, out, in, N, 1.f, DY, out, x.f32(), in, 0.f, dw.f32(), in);
  float* DB = db.f32();
#pragma omp parallel for schedule(static)
  for (int o = 0; o < out; ++o) {
    double s = 0.0;
    for (int n = 0; n < N; ++n) s += DY[static_cast<int64_t>(n) * out + o];
    DB[o] = static_cast<float>(s);
  }
}

}  // namespace zf::cpu
