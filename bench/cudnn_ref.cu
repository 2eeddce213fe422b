// cuDNN reference timings (see cudnn_ref.h). Times with CUDA events around each call, after
// warm-up.
#include <cudnn.h>

#include <algorithm>
#include <random>
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

// n values ~ N(0, std^2) from a seeded generator, copied to the device.
void fill_normal(void* dst, size_t n, float std, unsigned seed) {
  std::mt19937 g(seed);
  std::normal_distribution<float> dist(0.f, std);
  std::vector<float> h(n);
  for (float& v : h) v = dist(g);
  ZF_CUDA_CHECK(cudaMemcpy(dst, h.data(), n * sizeof(float), cudaMemcpyHostToDevice));
}

}  // namespace

bool cudnn_built() {
  return true;
}

CudnnConvTimes cudnn_conv_times(int n, int c, int h, int w, int m, int k, int stride, int pad,
                                int reps, bool tf32) {
  Handle hd;
  cudnnTensorDescriptor_t xd = tensor(n, c, h, w);
  cudnnFilterDescriptor_t wd;
  ZF_CUDNN_CHECK(cudnnCreateFilterDescriptor(&wd));
  ZF_CUDNN_CHECK(cudnnSetFilter4dDescriptor(wd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, m, c, k, k));
  cudnnConvolutionDescriptor_t cd;
  ZF_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&cd));
  ZF_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(cd, pad, pad, stride, stride, 1, 1,
                                                 CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  // FP32 FMA (no tensor cores: as our default kernels), or tensor-core math, which for float data
  // means TF32 inputs with FP32 accumulation.
  ZF_CUDNN_CHECK(cudnnSetConvolutionMathType(cd, tf32 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH));
  int on, oc, oh, ow;
  ZF_CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(cd, xd, wd, &on, &oc, &oh, &ow));
  cudnnTensorDescriptor_t yd = tensor(on, oc, oh, ow), bd = tensor(1, oc, 1, 1);
  const size_t xn = size_t(n) * c * h * w, yn = size_t(on) * oc * oh * ow,
               wn = size_t(m) * c * k * k;
  DeviceBuffer x(sizeof(float) * xn), y(sizeof(float) * yn), dy(sizeof(float) * yn),
      wt(sizeof(float) * wn), dx(sizeof(float) * xn), dw(sizeof(float) * wn),
      db(sizeof(float) * oc);
  fill_normal(x.p, xn, 1.f, 1);
  fill_normal(dy.p, yn, 1.f, 2);
  fill_normal(wt.p, wn, 0.01f, 3);
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
  ZF_CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithmEx(hd.h, wd, wt.p, yd, dy.p, cd, xd, dx.p,
                                                             8, &got, dp, ws.p, ws_bytes));
  ZF_CHECK(got > 0 && dp[0].status == CUDNN_STATUS_SUCCESS, "cuDNN: no backward-data algorithm");
  t.bwd_data_ms = median_ms(reps, [&] {
    ZF_CUDNN_CHECK(cudnnConvolutionBackwardData(hd.h, &one, wd, wt.p, yd, dy.p, cd, dp[0].algo,
                                                ws.p, ws_bytes, &zero, xd, dx.p));
  });
  cudnnConvolutionBwdFilterAlgoPerf_t bp[8];
  ZF_CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithmEx(hd.h, xd, x.p, yd, dy.p, cd, wd,
                                                               dw.p, 8, &got, bp, ws.p, ws_bytes));
  ZF_CHECK(got > 0 && bp[0].status == CUDNN_STATUS_SUCCESS, "cuDNN: no backward-filter algorithm");
  t.bwd_filter_ms = median_ms(reps, [&] {
    ZF_CUDNN_CHECK(cudnnConvolutionBackwardFilter(hd.h, &one, xd, x.p, yd, dy.p, cd, bp[0].algo,
                                                  ws.p, ws_bytes, &zero, wd, dw.p));
  });
  t.bwd_bias_ms = median_ms(reps, [&] {
    ZF_CUDNN_CHECK(cudnnConvolutionBackwardBias(hd.h, &one, yd, dy.p, &zero, bd, db.p));
  });
  cudnnDestroyTensorDescriptor(xd);
  cudnnDestroyTensorDescriptor(yd);
  cudnnDestroyTensorDescriptor(bd);
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
  unsigned seed = 1;
  for (void* p : {x.p, y.p, dy.p}) fill_normal(p, bytes / sizeof(float), 1.f, seed++);
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
