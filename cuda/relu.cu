// CUDA ReLU (the relu family): forward, backward and the deconvnet's three rules (relu_project),
// each one pass of the generic elementwise launcher (cuda/launch.h).
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

}  // namespace zf::cuda
