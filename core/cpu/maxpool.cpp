// CPU max-pooling (the maxpool family, unpooling included) with switches (ceil mode, first maximum
// wins) and its backward, which is also the deconvnet's unpooling: each output's value added at its
// switch, in the same order as the CUDA gather.
#include <algorithm>
#include <cstdint>

#include "core/cpu/cpu_ops.h"
#include "core/index_math.h"

namespace zf::cpu {

// The reference: window_max over each window.
void maxpool_forward_reference(Tensor& y, Tensor& switches, const Tensor& x, const PoolParams& p) {
  const int H = static_cast<int>(x.h()), W = static_cast<int>(x.w());
  const int OH = static_cast<int>(y.h()), OW = static_cast<int>(y.w());
  const int64_t planes = x.n() * x.c();
  const float* X = x.f32();
  float* Y = y.f32();
  int32_t* S = switches.i32();
#pragma omp parallel for schedule(static)
  for (int64_t pl = 0; pl < planes; ++pl) {
    const float* xp = X + pl * H * W;
    float* yp = Y + pl * OH * OW;
    int32_t* sp = S + pl * OH * OW;
    for (int oh = 0; oh < OH; ++oh) {
      const Range rh = pool_window(oh, p.kernel, p.stride, H);
      for (int ow = 0; ow < OW; ++ow) {
        int best_i;
        yp[oh * OW + ow] = window_max(xp, W, rh, pool_window(ow, p.kernel, p.stride, W), &best_i);
        sp[oh * OW + ow] = best_i;
      }
    }
  }
}

namespace {

// One output row of windows that lie wholly inside the plane, kernel and stride known at compile
// time: the same strict-> scan in row-major window order as window_max, run for OWF outputs side
// by side (the compiler turns the lanes into vector compares and blends), so values and switches
// are those of the reference loop, NaNs and ties included.
template <int K, int S>
void pool_row_inside(float* yr, int32_t* sr, const float* xp, int W, int row0, int OWF) {
#pragma omp simd
  for (int ow = 0; ow < OWF; ++ow) {
    const int base = row0 * W + ow * S;
    float best = xp[base];
    int best_i = base;
    for (int kh = 0; kh < K; ++kh)
      for (int kw = 0; kw < K; ++kw) {
        const int i = base + kh * W + kw;
        const float v = xp[i];
        if (v > best) {
          best = v;
          best_i = i;
        }
      }
    yr[ow] = best;
    sr[ow] = best_i;
  }
}

// Windows of kernel K, stride S: whole rows and columns of windows through pool_row_inside, the
// clipped last ones through window_max.
template <int K, int S>
void pool_plane(float* yp, int32_t* sp, const float* xp, int H, int W, int OH, int OW) {
  const int OHF = H >= K ? std::min(OH, (H - K) / S + 1) : 0;
  const int OWF = W >= K ? std::min(OW, (W - K) / S + 1) : 0;
  for (int oh = 0; oh < OH; ++oh) {
    float* yr = yp + oh * OW;
    int32_t* sr = sp + oh * OW;
    int ow = 0;
    if (oh < OHF) {
      pool_row_inside<K, S>(yr, sr, xp, W, oh * S, OWF);
      ow = OWF;
    }
    const Range rh = pool_window(oh, K, S, H);
    for (; ow < OW; ++ow) {
      int best_i;
      yr[ow] = window_max(xp, W, rh, pool_window(ow, K, S, W), &best_i);
      sr[ow] = best_i;
    }
  }
}

}  // namespace

void maxpool_forward(Tensor& y, Tensor& switches, const Tensor& x, const PoolParams& p) {
  const bool fast = p.kernel == 3 && p.stride == 2 && !reference_kernels();
  if (!fast) return maxpool_forward_reference(y, switches, x, p);
  const int H = static_cast<int>(x.h()), W = static_cast<int>(x.w());
  const int OH = static_cast<int>(y.h()), OW = static_cast<int>(y.w());
  const int64_t planes = x.n() * x.c();
  const float* X = x.f32();
  float* Y = y.f32();
  int32_t* S = switches.i32();
#pragma omp parallel for schedule(static)
  for (int64_t pl = 0; pl < planes; ++pl)
    pool_plane<3, 2>(Y + pl * OH * OW, S + pl * OH * OW, X + pl * H * W, H, W, OH, OW);
}

void maxpool_backward(Tensor& dx, const Tensor& dy, const Tensor& switches, const PoolParams& p) {
  const int H = static_cast<int>(dx.h()), W = static_cast<int>(dx.w());
  const int OH = static_cast<int>(dy.h()), OW = static_cast<int>(dy.w());
  const int64_t planes = dx.n() * dx.c();
  const float* DY = dy.f32();
  const int32_t* S = switches.i32();
  float* DX = dx.f32();
  // A scatter in row-major output order: every input receives its terms in exactly the order the
  // CUDA gather visits them (pool_outputs_containing, row-major), so both give the same bits, and
  // this costs one pass over the outputs instead of one over the inputs' neighbourhoods.
#pragma omp parallel for schedule(static)
  for (int64_t pl = 0; pl < planes; ++pl) {
    const float* gp = DY + pl * OH * OW;
    const int32_t* sp = S + pl * OH * OW;
    float* dp = DX + pl * H * W;
    for (int i = 0; i < H * W; ++i) dp[i] = 0.f;
    for (int o = 0; o < OH * OW; ++o) dp[sp[o]] += gp[o];
  }
}

void unpool_forward(Tensor& y, const Tensor& x, const Tensor& switches, const PoolParams& p) {
  cpu::maxpool_backward(y, x, switches, p);
}

}  // namespace zf::cpu
