// Parameters of the shaped ops and their output-shape functions (DESIGN section 2). The shape
// functions are the single place where bad parameters are rejected: every op calls them before
// touching memory.
#pragma once

#include "core/tensor.h"

namespace zf {

struct ConvParams {
  int kernel = 3;  // square kernel; the weight tensor is [out, in, kernel, kernel]
  int stride = 1;
  int pad = 0;  // zero padding on every side
};

struct PoolParams {
  int kernel = 3;  // square window
  int stride = 2;
  // ceil mode (Caffe, cuda-convnet, ZFNet): the last window may be clipped at the border; floor
  // mode (PyTorch's default, torchvision's AlexNet): only whole windows. Same switches and ties.
  bool ceil = true;
};

struct LrnParams {
  int size = 5;  // channels in the window, odd, centred
  float alpha = 1e-4f;
  float beta = 0.75f;
  float k = 2.0f;
};

// Spatial output sizes. Convolution floors; pooling uses ceil mode with Caffe's rule that the last
// window starts inside the input. Both throw zf::Error naming `op` on impossible parameters.
int conv_out_size(int in, const ConvParams& p, const char* op = "conv");
int pool_out_size(int in, const PoolParams& p, const char* op = "maxpool");

// Full output shapes of 4-d NCHW inputs.
Shape conv_output_shape(const Shape& x, int out_channels, const ConvParams& p,
                        const char* op = "conv");
Shape pool_output_shape(const Shape& x, const PoolParams& p, const char* op = "maxpool");
void check_lrn_params(const LrnParams& p, const char* op = "lrn");

}  // namespace zf
