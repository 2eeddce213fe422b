// cuDNN as the yardstick for our CUDA kernels (zf_bench --device cuda): the time of cuDNN's fastest
// algorithm on the same shapes. Built only where cuDNN is found; never used by the framework
// itself.
#pragma once

namespace zf::bench {

struct CudnnConvTimes {
  double fwd_ms = 0, bwd_data_ms = 0, bwd_filter_ms = 0, bwd_bias_ms = 0;
};

bool cudnn_built();
// Median over `reps` timed runs of cuDNN's fastest algorithm (found with cudnnFind*) on random data
// drawn as zf_bench draws ours (x and dy ~ N(0, 1), w ~ N(0, 0.01^2): zeros would flatter it), with
// FP32 FMA math, or with tensor-core math that allows TF32 (PyTorch's default for convolutions).
// bwd_bias_ms is cudnnConvolutionBackwardBias, which our backward_weight includes.
CudnnConvTimes cudnn_conv_times(int n, int c, int h, int w, int m, int k, int stride, int pad,
                                int reps, bool tf32 = false);
// Cross-channel LRN forward and backward (cuDNN's formula divides alpha by n, as ours).
double cudnn_lrn_ms(int n, int c, int h, int w, int size, double alpha, double beta, double k,
                    bool backward, int reps);

}  // namespace zf::bench
