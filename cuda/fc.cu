// CUDA fully connected layers (the fc family) through cuBLAS (row-major tensors seen as
// column-major transposes); the bias gradient is a column sum in a fixed order, so repeated runs
// give the same bits.
#include "cuda/cuda_ops.h"
#include "cuda/launch.h"

namespace zf::cuda {

// out[j] = sum over rows r of m[r * cols + j], one block per column j (deterministic order).
__global__ void column_sum_kernel(float* out, const float* m, int64_t rows, int64_t cols) {
  const int64_t j = blockIdx.x;
  float s = 0.f;
  for (int64_t r = threadIdx.x; r < rows; r += blockDim.x) s += m[r * cols + j];
  s = block_sum(s);
  if (threadIdx.x == 0) out[j] = s;
}

void fc_forward(Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b) {
  const int N = static_cast<int>(x.dim(0)), in = static_cast<int>(w.dim(1)),
            out = static_cast<int>(w.dim(0));
  Context& c = context(x.device());
  const float* B = b.f32();
  float* Y = y.f32();
  launch_elementwise(c.stream, static_cast<int64_t>(N) * out,
                     [=] __device__(int64_t i) { Y[i] = B[i % out]; });
  const float one = 1.f;
  // Y_cm[out, N] = W_cm[in, out]^T * X_cm[in, N] + Y_cm
  ZF_CUBLAS_CHECK(cublasSgemm(cublas(c), CUBLAS_OP_T, CUBLAS_OP_N, out, N, in, &one, w.f32(), in,
                              x.f32(), in, &one, Y, out));
}

void fc_backward_data(Tensor& dx, const Tensor& dy, const Tensor& w) {
  const int N = static_cast<int>(dy.dim(0)), in = static_cast<int>(w.dim(1)),
            out = static_cast<int>(w.dim(0));
  Context& c = context(dy.device());
  const float one = 1.f, zero = 0.f;
  // DX_cm[in, N] = W_cm[in, out] * DY_cm[out, N]
  ZF_CUBLAS_CHECK(cublasSgemm(cublas(c), CUBLAS_OP_N, CUBLAS_OP_N, in, N, out, &one, w.f32(), in,
                              dy.f32(), out, &zero, dx.f32(), in));
}

void fc_backward_weight(Tensor& dw, Tensor& db, const Tensor& dy, const Tensor& x) {
  const int N = static_cast<int>(dy.dim(0)), out = static_cast<int>(dy.dim(1)),
            in = static_cast<int>(dw.dim(1));
  Context& c = context(x.device());
  const float one = 1.f, zero = 0.f;
  // DW_cm[in, out] = X_cm[in, N] * DY_cm[out, N]^T
  ZF_CUBLAS_CHECK(cublasSgemm(cublas(c), CUBLAS_OP_N, CUBLAS_OP_T, in, out, N, &one, x.f32(), in,
                              dy.f32(), out, &zero, dw.f32(), in));
  ZF_KERNEL(column_sum_kernel, out, kThreads, c.stream)(db.f32(), dy.f32(), N, out);
  ZF_LAUNCH_CHECK();
}

}  // namespace zf::cuda
