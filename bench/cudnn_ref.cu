// cuDNN reference timings (see cudnn_ref.h). Times with CUDA events around each call, after
// warm-up.
#include <cudnn.h>

#include <algorithm>
#include <vector>

#include "bench/cudnn_ref.h"
#include "cuda/cuda_check.h"

#define ZF_CUDNN_CHECK(call)                                                \
  do {                                                                      \
    cudnnStatus_t zf_st_ = (call);                                          \
    if (zf_st_ != CUDNN_STATUS_SUCCESS)                                     \
      ZF_THROW("cuDNN error %s in %s", cudnnGetErrorString(zf_st_), #call); \
  } while (0)

namespace zf::bench {

namespace {

struct DeviceBuffer {
  void* p = nullptr;
  explicit DeviceBuffer(size_t bytes) {
    if (bytes) ZF_CUDA_CHECK(cudaMalloc(&p, bytes));
  }
  ~DeviceBuffer() {
    if (p) cudaFree(p);
  }
};

template <class F>
double median_ms(int reps, F&& f) {
  f();
  ZF_CUDA_CHECK(cudaDeviceSynchronize());
  cudaEvent_t a, b;
  ZF_CUDA_CHECK(cudaEventCreate(&a));
  ZF_CUDA_CHECK(cudaEventCreate(&b));
  std::vector<double> t;
  for (int r = 0; r < std::max(1, reps); ++r) {
    ZF_CUDA_CHECK(cudaEventRecord(a));
    f();
    ZF_CUDA_CHECK(cudaEventRecord(b));
    ZF_CUDA_CHECK(cudaEventSynchronize(b));
    float ms = 0;
    ZF_CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
    t.push_back(ms);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

struct Handle {
  cudnnHandle_t h = nullptr;
  Handle() { ZF_CUDNN_CHECK(cudnnCreate(&h)); }
  ~Handle() { cudnnDestroy(h); }
};

cudnnTensorDescriptor_t tensor(int n, int c, int h, int w) {
  cudnnTensorDescriptor_t d;
  ZF_CUDNN_CHECK(cudnnCreateTensorDescriptor(&d));
  ZF_CUDNN_CHECK(cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, h, w));
  return d;
}

}  // namespace

bool cudnn_built() {
  return true;
}

CudnnConvTimes cudnn_conv_times(int n, int c, int h, int w, int m, int k, int stride, int pad,
                                int reps) {
  Handle hd;
  cudnnTensorDescriptor_t xd = tensor(n, c, h, w);
  cudnnFilterDescriptor_t wd;
  ZF_CUDNN_CHECK(cudnnCreateFilterDescriptor(&wd));
  ZF_CUDNN_CHECK(cudnnSetFilter4dDescriptor(wd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, m, c, k, k));
  cudnnConvolutionDescriptor_t cd;
  ZF_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&cd));
  ZF_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(cd, pad, pad, stride, stride, 1, 1,
                                                 CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  ZF_CUDNN_CHECK(
      cudnnSetConvolutionMathType(cd, CUDNN_FMA_MATH));  // FP32 FMA, no TF32 tensor cores: as our default kernels
  int on, oc, oh, ow;
  ZF_CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(cd, xd, wd, &on, &oc, &oh, &ow));
  cudnnTensorDescriptor_t yd = tensor(on, oc, oh, ow);
  DeviceBuffer x(sizeof(float) * n * c * h * w), y(sizeof(float) * on * oc * oh * ow),
      wt(sizeof(float) * m * c * k * k), dx(sizeof(float) * n * c * h * w),
      dw(sizeof(float) * m * c * k * k);
  ZF_CUDA_CHECK(cudaMemset(x.p, 0, sizeof(float) * n * c * h * w));
  ZF_CUDA_CHECK(cudaMemset(wt.p, 0, sizeof(float) * m * c * k * k));
  ZF_CUDA_CHECK(cudaMemset(y.p, 0, sizeof(float) * on * oc * oh * ow));
  const size_t ws_bytes = size_t(1) << 30;
  DeviceBuffer ws(ws_bytes);
  const float one = 1.f, zero = 0.f;
  CudnnConvTimes t;

  int got = 0;
  cudnnConvolutionFwdAlgoPerf_t fp[8];
  ZF_CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithmEx(hd.h, xd, x.p, wd, wt.p, cd, yd, y.p, 8,
                                                        &got, fp, ws.p, ws_bytes));
  ZF_CHECK(got > 0 && fp[0].status == CUDNN_STATUS_SUCCESS, "cuDNN: no forward algorithm");
  t.fwd_ms = median_ms(reps, [&] {
    ZF_CUDNN_CHECK(cudnnConvolutionForward(hd.h, &one, xd, x.p, wd, wt.p, cd, fp[0].algo, ws.p,
                                           ws_bytes, &zero, yd, y.p));
  });
  cudnnConvolutionBwdDataAlgoPerf_t dp[8];
  ZF_CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithmEx(hd.h, wd, wt.p, yd, y.p, cd, xd, dx.p,
                                                             8, &got, dp, ws.p, ws_bytes));
  ZF_CHECK(got > 0 && dp[0].status == CUDNN_STATUS_SUCCESS, "cuDNN: no backward-data algorithm");
  t.bwd_data_ms = median_ms(reps, [&] {
    ZF_CUDNN_CHECK(cudnnConvolutionBackwardData(hd.h, &one, wd, wt.p, yd, y.p, cd, dp[0].algo, ws.p,
                                                ws_bytes, &zero, xd, dx.p));
  });
  cudnnConvolutionBwdFilterAlgoPerf_t bp[8];
  ZF_CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithmEx(hd.h, xd, x.p, yd, y.p, cd, wd, dw.p,
                                                               8, &got, bp, ws.p, ws_bytes));
  ZF_CHECK(got > 0 && bp[0].status == CUDNN_STATUS_SUCCESS, "cuDNN: no backward-filter algorithm");
  t.bwd_filter_ms = median_ms(reps, [&] {
    ZF_CUDNN_CHECK(cudnnConvolutionBackwardFilter(hd.h, &one, xd, x.p, yd, y.p, cd, bp[0].algo,
                                                  ws.p, ws_bytes, &zero, wd, dw.p));
  });
  cudnnDestroyTensorDescriptor(xd);
  cudnnDestroyTensorDescriptor(yd);
  cudnnDestroyFilterDescriptor(wd);
  cudnnDestroyConvolutionDescriptor(cd);
  return t;
}

double cudnn_lrn_ms(int n, int c, int h, int w, int size, double alpha, double beta, double k,
                    bool backward, int reps) {
  Handle hd;
  cudnnTensorDescriptor_t d = tensor(n, c, h, w);
  cudnnLRNDescriptor_t ld;
  ZF_CUDNN_CHECK(cudnnCreateLRNDescriptor(&ld));
  ZF_CUDNN_CHECK(cudnnSetLRNDescriptor(ld, static_cast<unsigned>(size), alpha, beta, k));
  const size_t bytes = sizeof(float) * n * c * h * w;
  DeviceBuffer x(bytes), y(bytes), dy(bytes), dx(bytes);
  for (void* p : {x.p, y.p, dy.p}) ZF_CUDA_CHECK(cudaMemset(p, 0, bytes));
  const float one = 1.f, zero = 0.f;
  const double ms = median_ms(reps, [&] {
    if (backward)
      ZF_CUDNN_CHECK(cudnnLRNCrossChannelBackward(hd.h, ld, CUDNN_LRN_CROSS_CHANNEL_DIM1, &one, d,
                                                  y.p, d, dy.p, d, x.p, &zero, d, dx.p));
    else
      ZF_CUDNN_CHECK(cudnnLRNCrossChannelForward(hd.h, ld, CUDNN_LRN_CROSS_CHANNEL_DIM1, &one, d,
                                                 x.p, &zero, d, y.p));
  });
  cudnnDestroyLRNDescriptor(ld);
  cudnnDestroyTensorDescriptor(d);
  return ms;
}

}  // namespace zf::bench
