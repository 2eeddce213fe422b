// CUDA fully connected layers through cuBLAS (row-major tensors seen as column-major transposes),
// softmax cross-entropy with its loss and top-1 count kept on the device, and the per-filter
// renormalization. Reductions are block-wide tree sums in a fixed order: repeated runs give the
// same bits.
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

// One block per sample: max-subtracted softmax; with labels also -log p[label] into loss[n] and
// into hit[n] whether the label is a top-1 prediction (no class strictly more probable: ties count
// for the label, as on the CPU).
__global__ void softmax_xent_kernel(float* prob, float* loss, float* hit, const float* z,
                                    const int32_t* labels, int64_t K) {
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
  if (!labels) return;
  const int32_t label = labels[n];
  __syncthreads();  // every thread's probabilities are written before the label's is read
  const float target = pr[label];
  int above = 0;
  for (int64_t k = threadIdx.x; k < K; k += blockDim.x) above += pr[k] > target;
  above = block_sum(above);
  if (threadIdx.x == 0) {
    loss[n] = -(zr[label] - mx - logf(sum));
    hit[n] = above == 0 ? 1.f : 0.f;
  }
}

// stats[0] = mean of loss[0..N), stats[1] = sum of hit[0..N); one block, each thread summing a
// fixed stride in double, then the block's fixed tree: the same bits on every run.
__global__ void softmax_xent_stats_kernel(float* stats, const float* loss, const float* hit,
                                          int64_t N) {
  double l = 0.0, h = 0.0;
  for (int64_t n = threadIdx.x; n < N; n += blockDim.x) {
    l += loss[n];
    h += hit[n];
  }
  l = block_sum(l);
  h = block_sum(h);
  if (threadIdx.x == 0) {
    stats[0] = static_cast<float>(l / static_cast<double>(N));
    stats[1] = static_cast<float>(h);
  }
}

size_t softmax_xent_scratch_bytes(const Shape& logits) {
  return 2 * static_cast<size_t>(logits[0]) * sizeof(float);
}

void softmax_forward(Tensor& prob, const Tensor& logits) {
  const int64_t N = logits.dim(0), K = logits.dim(1);
  Context& c = context(logits.device());
  ZF_KERNEL(softmax_xent_kernel, static_cast<unsigned>(N), kThreads, c.stream)
  (prob.f32(), nullptr, nullptr, logits.f32(), nullptr, K);
  ZF_LAUNCH_CHECK();
}

void softmax_xent_forward(Tensor& prob, Tensor& stats, const Tensor& logits, const Tensor& labels) {
  const int64_t N = logits.dim(0), K = logits.dim(1);
  Context& c = context(logits.device());
  float* loss = scratch(c, 2 * static_cast<size_t>(N));
  float* hit = loss + N;
  ZF_KERNEL(softmax_xent_kernel, static_cast<unsigned>(N), kThreads, c.stream)
  (prob.f32(), loss, hit, logits.f32(), labels.i32(), K);
  ZF_LAUNCH_CHECK();
  ZF_KERNEL(softmax_xent_stats_kernel, 1, kThreads, c.stream)(stats.f32(), loss, hit, N);
  ZF_LAUNCH_CHECK();
}

void softmax_xent_backward(Tensor& dlogits, const Tensor& prob, const Tensor& labels) {
  const int64_t N = prob.dim(0), K = prob.dim(1);
  const float* P = prob.f32();
  const int32_t* L = labels.i32();
  float* D = dlogits.f32();
  const float inv_n = 1.f / static_cast<float>(N);
  launch_elementwise(context(prob.device()).stream, N * K, [=] __device__(int64_t i) {
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
  ZF_KERNEL(renorm_kernel, static_cast<unsigned>(filters), kThreads, context(w.device()).stream)
  (w.f32(), w.numel() / filters, radius);
  ZF_LAUNCH_CHECK();
}

}  // namespace zf::cuda
