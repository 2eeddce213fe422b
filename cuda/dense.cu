// CUDA fully connected layers through cuBLAS (row-major tensors seen as column-major transposes),
// softmax cross-entropy, and the per-filter renormalization. Reductions are block-wide tree sums in
// a fixed order: repeated runs give the same bits.
#include <vector>

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
  const float* B = b.f32();
  float* Y = y.f32();
  launch_elementwise(static_cast<int64_t>(N) * out,
                     [=] __device__(int64_t i) { Y[i] = B[i % out]; });
  const float one = 1.f;
  // Y_cm[out, N] = W_cm[in, out]^T * X_cm[in, N] + Y_cm
  ZF_CUBLAS_CHECK(cublasSgemm(cublas(), CUBLAS_OP_T, CUBLAS_OP_N, out, N, in, &one, w.f32(), in,
                              x.f32(), in, &one, Y, out));
}

void fc_backward_data(Tensor& dx, const Tensor& dy, const Tensor& w) {
  const int N = static_cast<int>(dy.dim(0)), in = static_cast<int>(w.dim(1)),
            out = static_cast<int>(w.dim(0));
  const float one = 1.f, zero = 0.f;
  // DX_cm[in, N] = W_cm[in, out] * DY_cm[out, N]
  ZF_CUBLAS_CHECK(cublasSgemm(cublas(), CUBLAS_OP_N, CUBLAS_OP_N, in, N, out, &one, w.f32(), in,
                              dy.f32(), out, &zero, dx.f32(), in));
}

void fc_backward_weight(Tensor& dw, Tensor& db, const Tensor& dy, const Tensor& x) {
  const int N = static_cast<int>(dy.dim(0)), out = static_cast<int>(dy.dim(1)),
            in = static_cast<int>(dw.dim(1));
  const float one = 1.f, zero = 0.f;
  // DW_cm[in, out] = X_cm[in, N] * DY_cm[out, N]^T
  ZF_CUBLAS_CHECK(cublasSgemm(cublas(), CUBLAS_OP_N, CUBLAS_OP_T, in, out, N, &one, x.f32(), in,
                              dy.f32(), out, &zero, dw.f32(), in));
  ZF_KERNEL(column_sum_kernel, out, kThreads)(db.f32(), dy.f32(), N, out);
  ZF_LAUNCH_CHECK();
}

// One block per sample: max-subtracted softmax, and -log p[label] into loss[n].
__global__ void softmax_xent_kernel(float* prob, float* loss, const float* z, const int32_t* labels,
                                    int64_t K) {
  const int64_t n = blockIdx.x;
  const float* zr = z + n * K;
  float* pr = prob + n * K;
  float mx = -INFINITY;
  for (int64_t k = threadIdx.x; k < K; k += blockDim.x) mx = fmaxf(mx, zr[k]);
  mx = block_max(mx);
  float sum = 0.f;
  for (int64_t k = threadIdx.x; k < K; k += blockDim.x) {
    const float e = expf(zr[k] - mx);
    pr[k] = e;
    sum += e;
  }
  sum = block_sum(sum);
  const float inv = 1.f / sum;
  for (int64_t k = threadIdx.x; k < K; k += blockDim.x) pr[k] *= inv;
  if (threadIdx.x == 0) loss[n] = -(zr[labels[n]] - mx - logf(sum));
}

namespace {
void check_labels(const Tensor& labels, int64_t K, const char* op) {
  Tensor host = labels.to(Device::CPU);
  for (int64_t n = 0; n < host.numel(); ++n)
    ZF_CHECK(host.i32()[n] >= 0 && host.i32()[n] < K,
             "%s: label %d of sample %lld outside [0, %lld)", op, host.i32()[n],
             static_cast<long long>(n), static_cast<long long>(K));
}
}  // namespace

size_t softmax_xent_scratch_bytes(const Shape& logits) {
  return static_cast<size_t>(logits[0]) * sizeof(float);
}

float softmax_xent_forward(Tensor& prob, const Tensor& logits, const Tensor& labels) {
  const int64_t N = logits.dim(0), K = logits.dim(1);
  check_labels(labels, K, "softmax_xent_forward");
  float* loss = scratch(static_cast<size_t>(N));
  ZF_KERNEL(softmax_xent_kernel, static_cast<unsigned>(N), kThreads)(prob.f32(), loss, logits.f32(),
                                                              labels.i32(), K);
  ZF_LAUNCH_CHECK();
  std::vector<float> host(static_cast<size_t>(N));
  ZF_CUDA_CHECK(cudaMemcpy(host.data(), loss, sizeof(float) * N, cudaMemcpyDeviceToHost));
  double s = 0.0;
  for (int64_t n = 0; n < N; ++n) s += host[n];
  return static_cast<float>(s / static_cast<double>(N));
}

void softmax_xent_backward(Tensor& dlogits, const Tensor& prob, const Tensor& labels) {
  const int64_t N = prob.dim(0), K = prob.dim(1);
  check_labels(labels, K, "softmax_xent_backward");
  const float* P = prob.f32();
  const int32_t* L = labels.i32();
  float* D = dlogits.f32();
  const float inv_n = 1.f / static_cast<float>(N);
  launch_elementwise(N * K, [=] __device__(int64_t i) {
    const int64_t n = i / K, k = i % K;
    D[i] = P[i] * inv_n - (k == L[n] ? inv_n : 0.f);
  });
}

// One block per filter: RMS over its weights, scaled down to `radius` when above it.
__global__ void renorm_kernel(float* w, int64_t len, float radius) {
  float* p = w + blockIdx.x * len;
  float ss = 0.f;
  for (int64_t i = threadIdx.x; i < len; i += blockDim.x) ss += p[i] * p[i];
  ss = block_sum(ss);
  const float rms = sqrtf(ss / static_cast<float>(len));
  if (rms > radius) {
    const float scale = radius / rms;
    for (int64_t i = threadIdx.x; i < len; i += blockDim.x) p[i] *= scale;
  }
}

void renorm_filters(Tensor& w, float radius) {
  const int64_t filters = w.dim(0);
  ZF_KERNEL(renorm_kernel, static_cast<unsigned>(filters), kThreads)(w.f32(), w.numel() / filters, radius);
  ZF_LAUNCH_CHECK();
}

}  // namespace zf::cuda
