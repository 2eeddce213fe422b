// CUDA cross-channel LRN (the lrn family), one thread per element (grid-stride), summing its
// channel window directly (as the CPU does). Named kernels rather than the elementwise launcher's
// lambdas, so that a profile shows each op by name.
//   s_c = k + alpha/n * sum_{c' in win(c)} x_c'^2,  y_c = x_c * s_c^-beta
//   dx_c = dy_c * s_c^-beta - 2*alpha*beta/n * x_c * sum_{c' in win(c)} dy_c' * y_c' / s_c'
#include "core/index_math.h"
#include "cuda/cuda_ops.h"
#include "cuda/launch.h"

namespace zf::cuda {

namespace {
__device__ __forceinline__ float pow_neg(float s, float beta) {
  if (beta == 0.75f) {
    const float r = rsqrtf(s);
    return r * sqrtf(r);
  }
  return powf(s, -beta);
}
}  // namespace

// s_c and y_c of the elements [i] of this thread's grid-stride range; a = alpha / size.
__global__ void lrn_forward_kernel(float* Y, float* S, const float* X, int64_t n, int C, int64_t HW,
                                   int size, float a, float k, float beta) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int c = static_cast<int>((i / HW) % C);
    const int64_t base = i - static_cast<int64_t>(c) * HW;  // channel 0 of this pixel
    const Range win = lrn_window(c, size, C);
    float sum = 0.f;
    for (int cc = win.begin; cc < win.end; ++cc) {
      const float v = X[base + cc * HW];
      sum += v * v;
    }
    const float s = k + a * sum;
    S[i] = s;
    Y[i] = X[i] * pow_neg(s, beta);
  }
}

// dx_c of this thread's elements; coef = 2 alpha beta / size.
__global__ void lrn_backward_kernel(float* DX, const float* DY, const float* X, const float* Y,
                                    const float* S, int64_t n, int C, int64_t HW, int size,
                                    float coef, float beta) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int c = static_cast<int>((i / HW) % C);
    const int64_t base = i - static_cast<int64_t>(c) * HW;
    const Range win = lrn_window(c, size, C);
    float sum = 0.f;
    for (int cc = win.begin; cc < win.end; ++cc) {
      const int64_t j = base + cc * HW;
      sum += DY[j] * Y[j] / S[j];
    }
    DX[i] = DY[i] * pow_neg(S[i], beta) - coef * X[i] * sum;
  }
}

void lrn_forward(Tensor& y, Tensor& scale, const Tensor& x, const LrnParams& p) {
  const int64_t n = x.numel();
  if (n <= 0) return;
  ZF_KERNEL(lrn_forward_kernel, blocks_for(n), kThreads, context(x.device()).stream)
  (y.f32(), scale.f32(), x.f32(), n, static_cast<int>(x.c()), x.h() * x.w(), p.size,
   p.alpha / static_cast<float>(p.size), p.k, p.beta);
  ZF_LAUNCH_CHECK();
}

void lrn_backward(Tensor& dx, const Tensor& dy, const Tensor& x, const Tensor& y,
                  const Tensor& scale, const LrnParams& p) {
  const int64_t n = x.numel();
  if (n <= 0) return;
  ZF_KERNEL(lrn_backward_kernel, blocks_for(n), kThreads, context(x.device()).stream)
  (dx.f32(), dy.f32(), x.f32(), y.f32(), scale.f32(), n, static_cast<int>(x.c()), x.h() * x.w(),
   p.size, 2.f * p.alpha * p.beta / static_cast<float>(p.size), p.beta);
  ZF_LAUNCH_CHECK();
}

}  // namespace zf::cuda
