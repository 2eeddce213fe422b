// Index math shared by the CPU and CUDA backends (ZF_HD = host + device), so that both make the
// same decisions: pool windows, the outputs whose windows contain an input, LRN channel windows.
#pragma once

#ifdef __CUDACC__
#define ZF_HD __host__ __device__ __forceinline__
#else
#define ZF_HD inline
#endif

namespace zf {

ZF_HD int imin(int a, int b) {
  return a < b ? a : b;
}
ZF_HD int imax(int a, int b) {
  return a > b ? a : b;
}

// Pool window of output o along one axis: [begin, end), clipped at the border (ceil mode).
struct Range {
  int begin, end;
};
ZF_HD Range pool_window(int o, int kernel, int stride, int in) {
  int b = o * stride;
  return Range{b, imin(b + kernel, in)};
}

// Outputs along one axis whose windows contain input i: [begin, end). Used by the gather-style
// backward and unpool, which visit them in increasing order on every backend.
ZF_HD Range pool_outputs_containing(int i, int kernel, int stride, int out) {
  int lo = i - kernel + 1;
  int b = lo <= 0 ? 0 : (lo + stride - 1) / stride;
  int e = imin(i / stride + 1, out);
  return Range{b, e};
}

// The maximum of one pool window of plane xp (row width W) and its flat index: the first maximum in
// row-major order wins (strict >), on every backend.
ZF_HD float window_max(const float* xp, int W, Range rh, Range rw, int* index) {
  int best_i = rh.begin * W + rw.begin;
  float best = xp[best_i];
  for (int ih = rh.begin; ih < rh.end; ++ih)
    for (int iw = rw.begin; iw < rw.end; ++iw)
      if (xp[ih * W + iw] > best) {
        best = xp[ih * W + iw];
        best_i = ih * W + iw;
      }
  *index = best_i;
  return best;
}

// LRN channel window of channel c: [begin, end), centred, clipped at the edges.
ZF_HD Range lrn_window(int c, int size, int channels) {
  int half = size / 2;
  return Range{imax(c - half, 0), imin(c + half + 1, channels)};
}

}  // namespace zf
