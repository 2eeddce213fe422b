// cuDNN as the yardstick for our CUDA kernels (zf_bench --device cuda): the time of cuDNN's fastest
// algorithm on the same shapes. Built only where cuDNN is found; never used by the framework
// itself.
#pragma once

namespace zf::bench {

struct CudnnConvTimes {
  double fwd_ms = 0, bwd_data_ms = 0, bwd_filter_ms = 0;
};

bool cudnn_built();
// Median over `reps` timed runs of cuDNN's fastest algorithm (found with cudnnFind*), FP32 math.
CudnnConvTimes cudnn_conv_times(int n, int c, int h, int w, int m, int k, int stride, int pad,
                                int reps);
// Cross-channel LRN forward and backward (cuDNN's formula divides alpha by n, as ours).
double cudnn_lrn_ms(int n, int c, int h, int w, int size, double alpha, double beta, double k,
                    bool backward, int reps);

}  // namespace zf::bench
