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

// Windows of 3, stride 2, a plane's output row at a time, sixteen windows a vector step: each
// window row's three taps (columns 2 ow, 2 ow + 1, 2 ow + 2) are the even and odd lanes of two
// loads and the even lanes of two loads one pair further on, compared in window_max's order
// (row-major, strict >, from the top-left value, always inside the plane), so values and switches
// are the reference's, NaNs and ties included. A row's vectors read the plane itself while their
// windows are whole and their loads stay inside the row (pool1's 110 columns: 54 of 55 windows; the
// last vector overlaps the one before, storing the same values twice), its last clipped window
// goes through window_max. Planes too narrow for that (pool2's 26 columns), and rows whose windows
// ceil mode clips, are first copied into rows padded with -inf, which is never > anything.
constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr int kSpan = 34;  // the columns that the loads of 16 windows span

// The maxima of sixteen windows of 3x3 and where each was (kh W + kw, the window's first tap
// taken as 0), in window_max's order. Window row kh of lanes 0..7 reads lo[kh], of lanes 8..15
// hi[kh]: lane l's taps at columns 2l, 2l + 1 and 2l + 2 of lo[kh] (lanes 0..7) or of hi[kh]
// counted from lane 8. Each pointer reads 18 floats.
void max_of_taps(V16& best, I16& off, const float* const lo[3], const float* const hi[3], int W) {
  best = V16{};
  off = I16{};
  for (int kh = 0; kh < 3; ++kh) {
    const V16 a = load16(lo[kh]), b = load16(hi[kh]);
    const V16 c = load16(lo[kh] + 2), d = load16(hi[kh] + 2);
    const V16 taps[3] = {
        __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30),
        __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31),
        __builtin_shufflevector(c, d, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30)};
    for (int kw = 0; kw < 3; ++kw) {
      if (kh == 0 && kw == 0) {
        best = taps[0];
        continue;
      }
      const I16 gt = taps[kw] > best;
      best = gt ? taps[kw] : best;
      off = gt ? I16{} + (kh * W + kw) : off;
    }
  }
}

// Windows ow0 .. ow0 + count - 1 (count <= 16) of the output row over rows r[0..2], the first of
// which is row `top` of the plane: values into y, switches (flat indices in the plane) into sw.
void windows16(float* y, int32_t* sw, const float* const r[3], int W, int top, int ow0, int count) {
  const float* lo[3];
  const float* hi[3];
  for (int kh = 0; kh < 3; ++kh) {
    lo[kh] = r[kh] + 2 * ow0;
    hi[kh] = lo[kh] + 16;
  }
  V16 best;
  I16 off;
  max_of_taps(best, off, lo, hi, W);
  const I16 lanes = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30};
  const I16 idx = off + lanes + (top * W + 2 * ow0);
  if (count == 16) {
    store16(y + ow0, best);
    std::memcpy(sw + ow0, &idx, sizeof idx);
  } else {
    store16_first(y + ow0, best, count);
    store16_first(sw + ow0, idx, count);
  }
}

// Output rows oh and oh + 1 of a plane at most 8 windows wide (pool5's 6), in one vector step:
// lanes 0..7 the windows of row oh over rows r[0..2] (plane rows top ..), lanes 8..15 those of row
// oh + 1 over r[2..4]; the same taps in the same order as windows16. r's rows are padded (-inf) to
// 18 floats at least.
void windows8x2(float* y, int32_t* sw, const float* const r[5], int W, int top, int OW) {
  V16 best;
  I16 off;
  max_of_taps(best, off, r, r + 2, W);
  const I16 lanes = {0, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14};
  const I16 rows = {0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2};
  const I16 idx = off + lanes + (rows + top) * W;
  const V16 best_hi = __builtin_shufflevector(best, best, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10,
                                              11, 12, 13, 14, 15);
  const I16 idx_hi =
      __builtin_shufflevector(idx, idx, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15);
  store16_first(y, best, OW);
  store16_first(sw, idx, OW);
  store16_first(y + OW, best_hi, OW);
  store16_first(sw + OW, idx_hi, OW);
}

// Rows first .. first + count - 1 of plane x (H x W) into rows of PW >= W floats, -inf past the
// plane's columns and for the rows past its last.
void padded_rows(float* dst, const float* x, int H, int W, int PW, int first, int count) {
  const V16 neg_inf = V16{} + kNegInf;
  for (int r = 0; r < count; ++r) {
    float* p = dst + static_cast<size_t>(r) * PW;
    const int n = first + r < H ? W : 0;
    const float* src = n ? x + static_cast<size_t>(first + r) * W : x;
    for (int c = 0; c < PW; c += 16) {
      const int avail = std::clamp(n - c, 0, 16);
      const V16 v =
          avail == 16 ? load16(src + c) : load16_first(avail ? src + c : dst, avail, neg_inf);
      if (PW - c >= 16)
        store16(p + c, v);
      else
        store16_first(p + c, v, PW - c);
    }
  }
}

void pool_plane_3_2_rows(float* y, int32_t* sw, const float* x, int H, int W, int OH, int OW) {
  // Windows [0, direct) of a whole row run on the plane itself (0 if not a vector's worth).
  int direct = W >= kSpan ? std::min({OW, (W - 1) / 2, (W - kSpan) / 2 + 16}) : 0;
  if (direct < 16) direct = 0;
  // Padded rows: as wide as the loads of the row's last vector reach.
  const int PW = 32 * ((OW + 15) / 16) + 2;
  auto padded_row = [&](const float* rows[3], int oh, const Range& rh) {
    for (int ow = 0; ow < OW; ow += 16)
      windows16(y + static_cast<size_t>(oh) * OW, sw + static_cast<size_t>(oh) * OW, rows, W,
                rh.begin, ow, std::min(16, OW - ow));
  };
  if (direct == 0) {  // the whole plane padded once: its rows 0 .. 2 OH
    float* pad = scratch(static_cast<size_t>(2 * OH + 1) * PW, 3);
    padded_rows(pad, x, H, W, PW, 0, 2 * OH + 1);
    int oh = 0;
    if (OW <= 8)  // two output rows a vector step (pool5: 0.29 -> 0.22 ms at batch 16)
      for (; oh + 1 < OH; oh += 2) {
        const float* rows[5];
        for (int k = 0; k < 5; ++k) rows[k] = pad + static_cast<size_t>(2 * oh + k) * PW;
        windows8x2(y + static_cast<size_t>(oh) * OW, sw + static_cast<size_t>(oh) * OW, rows, W,
                   pool_window(oh, 3, 2, H).begin, OW);
      }
    for (; oh < OH; ++oh) {
      const float* rows[3];
      for (int kh = 0; kh < 3; ++kh) rows[kh] = pad + static_cast<size_t>(2 * oh + kh) * PW;
      padded_row(rows, oh, pool_window(oh, 3, 2, H));
    }
    return;
  }
  float* pad = scratch(static_cast<size_t>(3) * PW, 3);
  for (int oh = 0; oh < OH; ++oh) {
    const Range rh = pool_window(oh, 3, 2, H);
    if (rh.end - rh.begin < 3) {  // a row of windows that ceil mode clips
      padded_rows(pad, x, H, W, PW, rh.begin, 3);
      const float* rows[3] = {pad, pad + PW, pad + 2 * PW};
      padded_row(rows, oh, rh);
      continue;
    }
    float* yr = y + static_cast<size_t>(oh) * OW;
    int32_t* sr = sw + static_cast<size_t>(oh) * OW;
    const float* rows[3];
    for (int kh = 0; kh < 3; ++kh) rows[kh] = x + static_cast<size_t>(rh.begin + kh) * W;
    int ow = 0;
    for (int ow0 = 0; ow < direct; ow0 = std::min(ow0 + 16, direct - 16)) {
      windows16(yr, sr, rows, W, rh.begin, ow0, 16);
      ow = ow0 + 16;
    }
    for (; ow < OW; ++ow) {  // past the vectors' reach: ceil mode's clipped window, if any
      int best_i;
      yr[ow] = window_max(x, W, rh, pool_window(ow, 3, 2, W), &best_i);
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
    pool_plane_3_2_rows(Y + pl * OH * OW, S + pl * OH * OW, X + pl * H * W, H, W, OH, OW);
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
