// CPU cross-channel LRN (the lrn family; PyTorch's formula, DESIGN section 2). Parallel over
// (image, channel) planes; each output sums its own channel window directly (no running sum), so no
// rounding drift builds up across channels.
//   forward:  s_c = k + alpha/n * sum_{c' in win(c)} x_c'^2,   y_c = x_c * s_c^-beta
//   backward: dx_c = dy_c * s_c^-beta - 2*alpha*beta/n * x_c * sum_{c' in win(c)} dy_c' * y_c' /
//   s_c'
// (the window relation is symmetric: c is in win(c') exactly when c' is in win(c)).
#include <cmath>
#include <cstdint>

#include "core/cpu/cpu_ops.h"
#include "core/cpu/workspace.h"
#include "core/index_math.h"

namespace zf::cpu {

namespace {

// s^-beta, with the paper's beta = 0.75 (and 0.5, 1) through square roots, which vectorize.
void pow_neg_beta(float* out, const float* s, int64_t n, float beta) {
  if (beta == 0.75f) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) {
      const float r = 1.f / std::sqrt(s[i]);
      out[i] = r * std::sqrt(r);
    }
  } else if (beta == 0.5f) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) out[i] = 1.f / std::sqrt(s[i]);
  } else if (beta == 1.f) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) out[i] = 1.f / s[i];
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = std::pow(s[i], -beta);
  }
}

}  // namespace

void lrn_forward(Tensor& y, Tensor& scale, const Tensor& x, const LrnParams& p) {
  const int C = static_cast<int>(x.c());
  const int64_t HW = x.h() * x.w(), planes = x.n() * C;
  const float a = p.alpha / static_cast<float>(p.size);
  const float* X = x.f32();
  float *Y = y.f32(), *S = scale.f32();
#pragma omp parallel for schedule(static)
  for (int64_t pl = 0; pl < planes; ++pl) {
    const int64_t n = pl / C;
    const int c = static_cast<int>(pl % C);
    const Range win = lrn_window(c, p.size, C);
    float* s = S + pl * HW;
    for (int64_t i = 0; i < HW; ++i) s[i] = 0.f;
    for (int cc = win.begin; cc < win.end; ++cc) {
      const float* xc = X + (n * C + cc) * HW;
#pragma omp simd
      for (int64_t i = 0; i < HW; ++i) s[i] += xc[i] * xc[i];
    }
#pragma omp simd
    for (int64_t i = 0; i < HW; ++i) s[i] = p.k + a * s[i];
    float* yp = Y + pl * HW;
    pow_neg_beta(yp, s, HW, p.beta);
    const float* xp = X + pl * HW;
#pragma omp simd
    for (int64_t i = 0; i < HW; ++i) yp[i] *= xp[i];
  }
}

void lrn_backward(Tensor& dx, const Tensor& dy, const Tensor& x, const Tensor& y,
                  const Tensor& scale, const LrnParams& p) {
  const int C = static_cast<int>(x.c());
  const int64_t HW = x.h() * x.w(), planes = x.n() * C, total = planes * HW;
  const float coef = 2.f * p.alpha * p.beta / static_cast<float>(p.size);
  const float *DY = dy.f32(), *X = x.f32(), *Y = y.f32(), *S = scale.f32();
  float* DX = dx.f32();
  float* t = scratch(static_cast<size_t>(total), 2);  // dy * y / s, shared by all threads

#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < total; ++i) t[i] = DY[i] * Y[i] / S[i];

#pragma omp parallel for schedule(static)
  for (int64_t pl = 0; pl < planes; ++pl) {
    const int64_t n = pl / C;
    const int c = static_cast<int>(pl % C);
    const Range win = lrn_window(c, p.size, C);
    float* d = DX + pl * HW;
    for (int64_t i = 0; i < HW; ++i) d[i] = 0.f;
    for (int cc = win.begin; cc < win.end; ++cc) {
      const float* tc = t + (n * C + cc) * HW;
#pragma omp simd
      for (int64_t i = 0; i < HW; ++i) d[i] += tc[i];
    }
    float* pw = scratch(static_cast<size_t>(HW), 3);
    pow_neg_beta(pw, S + pl * HW, HW, p.beta);
    const float *g = DY + pl * HW, *xp = X + pl * HW;
#pragma omp simd
    for (int64_t i = 0; i < HW; ++i) d[i] = g[i] * pw[i] - coef * xp[i] * d[i];
  }
}

}  // namespace zf::cpu
