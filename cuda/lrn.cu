// CUDA cross-channel LRN, one thread per element, summing its channel window directly (as the CPU
// does).
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

void lrn_forward(Tensor& y, Tensor& scale, const Tensor& x, const LrnParams& p) {
  const int C = static_cast<int>(x.c());
  const int64_t HW = x.h() * x.w();
  const float a = p.alpha / static_cast<float>(p.size), k = p.k, beta = p.beta;
  const int size = p.size;
  const float* X = x.f32();
  float *Y = y.f32(), *S = scale.f32();
  launch_elementwise(context(x.device()).stream, x.numel(), [=] __device__(int64_t i) {
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
  });
}

void lrn_backward(Tensor& dx, const Tensor& dy, const Tensor& x, const Tensor& y,
                  const Tensor& scale, const LrnParams& p) {
  const int C = static_cast<int>(x.c());
  const int64_t HW = x.h() * x.w();
  const float coef = 2.f * p.alpha * p.beta / static_cast<float>(p.size), beta = p.beta;
  const int size = p.size;
  const float *DY = dy.f32(), *X = x.f32(), *Y = y.f32(), *S = scale.f32();
  float* DX = dx.f32();
  launch_elementwise(context(x.device()).stream, x.numel(), [=] __device__(int64_t i) {
    const int c = static_cast<int>((i / HW) % C);
    const int64_t base = i - static_cast<int64_t>(c) * HW;
    const Range win = lrn_window(c, size, C);
    float sum = 0.f;
    for (int cc = win.begin; cc < win.end; ++cc) {
      const int64_t j = base + cc * HW;
      sum += DY[j] * Y[j] / S[j];
    }
    DX[i] = DY[i] * pow_neg(S[i], beta) - coef * X[i] * sum;
  });
}

}  // namespace zf::cuda
