// CUDA max-pooling (the maxpool family) with switches, and its backward and unpooling as a gather:
// each input pixel visits, in row-major order, the outputs whose windows contain it
// (core/index_math.h, shared with the CPU), so the sums are deterministic and identical in order to
// the CPU's.
#include "core/index_math.h"
#include "cuda/cuda_ops.h"
#include "cuda/launch.h"

namespace zf::cuda {

__global__ void maxpool_forward_kernel(float* y, int32_t* sw, const float* x, int64_t planes, int H,
                                       int W, int OH, int OW, int k, int s) {
  const int64_t total = planes * OH * OW;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int ow = static_cast<int>(i % OW), oh = static_cast<int>((i / OW) % OH);
    const int64_t pl = i / (static_cast<int64_t>(OH) * OW);
    const float* xp = x + pl * H * W;
    int best_i;
    y[i] = window_max(xp, W, pool_window(oh, k, s, H), pool_window(ow, k, s, W), &best_i);
    sw[i] = best_i;
  }
}

namespace {
// dx[i] for the grid-stride range of this thread: the sum of dy over the outputs whose switch is i,
// visited in row-major order. One body for maxpool_backward_kernel and unpool_forward_kernel (the
// deconvnet's unpooling is the same computation).
__device__ __forceinline__ void gather_at_switches(float* dx, const float* dy, const int32_t* sw,
                                                   int64_t planes, int H, int W, int OH, int OW,
                                                   int k, int s) {
  const int64_t total = planes * H * W;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int iw = static_cast<int>(i % W), ih = static_cast<int>((i / W) % H);
    const int64_t pl = i / (static_cast<int64_t>(H) * W);
    const float* g = dy + pl * OH * OW;
    const int32_t* sp = sw + pl * OH * OW;
    const Range rh = pool_outputs_containing(ih, k, s, OH),
                rw = pool_outputs_containing(iw, k, s, OW);
    const int32_t self = ih * W + iw;
    float sum = 0.f;
    for (int oh = rh.begin; oh < rh.end; ++oh)
      for (int ow = rw.begin; ow < rw.end; ++ow)
        if (sp[oh * OW + ow] == self) sum += g[oh * OW + ow];
    dx[i] = sum;
  }
}
}  // namespace

__global__ void maxpool_backward_kernel(float* dx, const float* dy, const int32_t* sw,
                                        int64_t planes, int H, int W, int OH, int OW, int k,
                                        int s) {
  gather_at_switches(dx, dy, sw, planes, H, W, OH, OW, k, s);
}

__global__ void unpool_forward_kernel(float* y, const float* x, const int32_t* sw, int64_t planes,
                                      int H, int W, int OH, int OW, int k, int s) {
  gather_at_switches(y, x, sw, planes, H, W, OH, OW, k, s);
}

void maxpool_forward(Tensor& y, Tensor& switches, const Tensor& x, const PoolParams& p) {
  const int64_t planes = x.n() * x.c();
  ZF_KERNEL(maxpool_forward_kernel, blocks_for(y.numel()), kThreads, context(x.device()).stream)
  (y.f32(), switches.i32(), x.f32(), planes, static_cast<int>(x.h()), static_cast<int>(x.w()),
   static_cast<int>(y.h()), static_cast<int>(y.w()), p.kernel, p.stride);
  ZF_LAUNCH_CHECK();
}

void maxpool_backward(Tensor& dx, const Tensor& dy, const Tensor& switches, const PoolParams& p) {
  const int64_t planes = dx.n() * dx.c();
  ZF_KERNEL(maxpool_backward_kernel, blocks_for(dx.numel()), kThreads, context(dy.device()).stream)
  (dx.f32(), dy.f32(), switches.i32(), planes, static_cast<int>(dx.h()), static_cast<int>(dx.w()),
   static_cast<int>(dy.h()), static_cast<int>(dy.w()), p.kernel, p.stride);
  ZF_LAUNCH_CHECK();
}

void unpool_forward(Tensor& y, const Tensor& x, const Tensor& switches, const PoolParams& p) {
  const int64_t planes = y.n() * y.c();
  ZF_KERNEL(unpool_forward_kernel, blocks_for(y.numel()), kThreads, context(x.device()).stream)
  (y.f32(), x.f32(), switches.i32(), planes, static_cast<int>(y.h()), static_cast<int>(y.w()),
   static_cast<int>(x.h()), static_cast<int>(x.w()), p.kernel, p.stride);
  ZF_LAUNCH_CHECK();
}

}  // namespace zf::cuda
