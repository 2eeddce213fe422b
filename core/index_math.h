// Index math shared by the CPU and CUDA backends (ZF_HD = host + device), so that both make the same
// decisions: pool windows, the outputs whose windows contain an input, LRN channel windows.
#pragma once

#ifdef __CUDACC__
#define ZF_HD __host__ __device__ __forceinline__
#else
#define ZF_HD inline
#endif

namespace zf {

ZF_HD int imin(int a, int b) { return a < b ? a : b; }
ZF_HD int imax(int a, int b) { return a > b ? a : b; }

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

// LRN channel window of channel c: [begin, end), centred, clipped at the edges.
ZF_HD Range lrn_window(int c, int size, int channels) {
  int half = size / 2;
  return Range{imax(c - half, 0), imin(c + half + 1, channels)};
}

}  // namespace zf
