// CUDA elementwise ops: ReLU and its deconvnet rules, dropout (the shared Philox stream, so the
// mask equals the CPU's), accumulation, SGD with momentum.
#include "core/rng.h"
#include "cuda/cuda_ops.h"
#include "cuda/launch.h"

namespace zf::cuda {

void relu_forward(Tensor& y, const Tensor& x) {
  const float* X = x.f32();
  float* Y = y.f32();
  launch_elementwise(context(x.device()).stream, x.numel(),
                     [=] __device__(int64_t i) { Y[i] = X[i] > 0.f ? X[i] : 0.f; });
}

void relu_backward(Tensor& dx, const Tensor& dy, const Tensor& x) {
  const float *DY = dy.f32(), *X = x.f32();
  float* DX = dx.f32();
  launch_elementwise(context(x.device()).stream, x.numel(),
                     [=] __device__(int64_t i) { DX[i] = X[i] > 0.f ? DY[i] : 0.f; });
}

void relu_project(Tensor& out, const Tensor& r, const Tensor& x, ReluRule rule) {
  const float *R = r.f32(), *X = x.f32();
  float* O = out.f32();
  const int mode = static_cast<int>(rule);
  launch_elementwise(context(r.device()).stream, r.numel(), [=] __device__(int64_t i) {
    const float v = R[i];
    const bool open = X[i] > 0.f;
    O[i] = mode == static_cast<int>(ReluRule::Deconv)   ? (v > 0.f ? v : 0.f)
           : mode == static_cast<int>(ReluRule::Guided) ? ((v > 0.f && open) ? v : 0.f)
                                                        : (open ? v : 0.f);
  });
}

void dropout_forward(Tensor& y, Tensor& mask, const Tensor& x, float p, uint64_t seed,
                     uint64_t stream) {
  const float* X = x.f32();
  float *Y = y.f32(), *M = mask.f32();
  const float keep = 1.f / (1.f - p);
  launch_elementwise(context(x.device()).stream, x.numel(), [=] __device__(int64_t i) {
    M[i] = rng_uniform(seed, stream, static_cast<uint64_t>(i)) >= p ? keep : 0.f;
    Y[i] = X[i] * M[i];
  });
}

void dropout_backward(Tensor& dx, const Tensor& dy, const Tensor& mask) {
  const float *DY = dy.f32(), *M = mask.f32();
  float* DX = dx.f32();
  launch_elementwise(context(dy.device()).stream, dy.numel(),
                     [=] __device__(int64_t i) { DX[i] = DY[i] * M[i]; });
}

void add_inplace(Tensor& y, const Tensor& x) {
  const float* X = x.f32();
  float* Y = y.f32();
  launch_elementwise(context(x.device()).stream, x.numel(),
                     [=] __device__(int64_t i) { Y[i] += X[i]; });
}

void sgd_update(Tensor& w, Tensor& v, const Tensor& dw, float lr, float momentum,
                float weight_decay) {
  float *W = w.f32(), *V = v.f32();
  const float* G = dw.f32();
  launch_elementwise(context(w.device()).stream, w.numel(), [=] __device__(int64_t i) {
    V[i] = momentum * V[i] - lr * (G[i] + weight_decay * W[i]);
    W[i] += V[i];
  });
}

}  // namespace zf::cuda
