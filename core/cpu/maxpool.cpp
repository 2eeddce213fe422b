// CPU max-pooling (the maxpool family, unpooling included) with switches (ceil mode, first maximum
// wins) and its backward, which is also the deconvnet's unpooling: each output's value added at its
// switch, in the same order as the CUDA gather.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>

#include "core/cpu/cpu_ops.h"
#include "core/cpu/vec16.h"
#include "core/cpu/workspace.h"
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

// Windows of 3, stride 2, over `planes` consecutive planes. Their rows are first cut into six tap
// planes T[kh][c] of planes x OH rows of OW + 1 columns: T[kh][0][pl][oh][j] = x[pl][2 oh + kh][2
// j] and T[kh][1][pl][oh][j] = x[pl][2 oh + kh][2 j + 1], -inf outside the plane. Window (pl, oh,
// ow) then reads its nine values at one index, (pl OH + oh) (OW + 1) + ow (column kw = 2 from
// T[kh][0] one further on), so all windows of the planes, however narrow, run sixteen at a time in
// vector lanes over that index (the one extra column per row is a window computed and dropped). The
// scan is window_max's: the nine values in row-major order, strict >, starting from the top-left
// one (always inside the plane), so values and switches are the reference's, NaNs and ties
// included; a -inf of the padding is never > anything, so the windows that ceil mode clips need no
// separate path (on Fashion-MNIST's 32, 16 and 8 wide planes a quarter to a half of all windows are
// clipped).
void pool_planes_3_2(float* Y, int32_t* S, const float* X, int planes, int H, int W, int OH,
                     int OW) {
  constexpr float kNeg = -std::numeric_limits<float>::infinity();
  const int EW = OW + 1, rows = planes * OH, n = rows * EW, npad = (n + 15) / 16 * 16;
  // Six tap planes, then the maxima and their offsets.
  float* T = scratch(static_cast<size_t>(npad) * 8, 3);
  float* best_v = T + static_cast<size_t>(6) * npad;
  int32_t* off = reinterpret_cast<int32_t*>(best_v + npad);
  const int ne = std::min((W + 1) / 2, EW), no = std::min(W / 2, EW);  // columns inside the plane
  for (int kh = 0; kh < 3; ++kh)
    for (int row = 0; row < rows; ++row) {
      float* e = T + static_cast<size_t>(2 * kh) * npad + static_cast<size_t>(row) * EW;
      float* o = e + npad;
      const int pl = row / OH, r = 2 * (row % OH) + kh;
      int je = 0, jo = 0;
      if (r < H) {
        const float* x = X + (static_cast<size_t>(pl) * H + r) * W;
        je = ne;
        jo = no;
        gather_stride2(e, x, je, W);
        if (jo > 0) gather_stride2(o, x + 1, jo, W - 1);
      }
      for (int j = je; j < EW; ++j) e[j] = kNeg;
      for (int j = jo; j < EW; ++j) o[j] = kNeg;
    }
  for (int k = 0; k < 6; ++k)  // the lanes past n: windows computed and dropped
    std::fill(T + static_cast<size_t>(k) * npad + n, T + static_cast<size_t>(k + 1) * npad, 0.f);
  // Sixteen windows at a time: each value compared with the best so far, a lane mask picking the
  // value and its offset kh * W + kw where it is strictly greater.
  for (int q = 0; q < n; q += 16) {
    V16 best = load16(T + q);
    I16 o = {};
    auto take = [&](const float* t, int at) {
      const V16 v = load16(t + q);
      const I16 gt = v > best;
      best = gt ? v : best;
      o = gt ? I16{} + at : o;
    };
    take(T + npad, 1);
    take(T + 1, 2);
    for (int kh = 1; kh < 3; ++kh) {
      const float* e = T + static_cast<size_t>(2 * kh) * npad;
      take(e, kh * W);
      take(e + npad, kh * W + 1);
      take(e + 1, kh * W + 2);
    }
    store16(best_v + q, best);
    std::memcpy(off + q, &o, sizeof o);
  }
  for (int row = 0; row < rows; ++row) {
    const float* b = best_v + static_cast<size_t>(row) * EW;
    const int32_t* f = off + static_cast<size_t>(row) * EW;
    float* yr = Y + static_cast<size_t>(row) * OW;
    int32_t* sr = S + static_cast<size_t>(row) * OW;
    const int row0 = 2 * (row % OH) * W;
    for (int ow = 0; ow < OW; ++ow) {
      yr[ow] = b[ow];
      sr[ow] = row0 + 2 * ow + f[ow];
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
  // Planes in groups of about 512 windows (the taps, 16 KB, stay in the L1), at least one plane.
  const int64_t group = std::max<int64_t>(1, 512 / (static_cast<int64_t>(OH) * (OW + 1)));
  const int64_t groups = (planes + group - 1) / group;
#pragma omp parallel for schedule(static)
  for (int64_t gi = 0; gi < groups; ++gi) {
    const int64_t pl = gi * group, count = std::min(group, planes - pl);
    pool_planes_3_2(Y + pl * OH * OW, S + pl * OH * OW, X + pl * H * W, static_cast<int>(count), H,
                    W, OH, OW);
  }
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
