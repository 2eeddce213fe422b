// Placeholders for the CUDA ops until their kernels land (the CUDA backend issue): each throws, so a
// CUDA tensor never silently falls back to the CPU. Device memory already works (cuda/runtime.cu).
#include "cuda/cuda_ops.h"

namespace zf::cuda {

#define ZF_CUDA_TODO(op) ZF_THROW("%s not implemented for cuda", op)

void conv2d_forward(Tensor&, const Tensor&, const Tensor&, const Tensor&, const ConvParams&) { ZF_CUDA_TODO("conv2d_forward"); }
void conv2d_backward_data(Tensor&, const Tensor&, const Tensor&, const ConvParams&) { ZF_CUDA_TODO("conv2d_backward_data"); }
void conv2d_backward_weight(Tensor&, Tensor&, const Tensor&, const Tensor&, const ConvParams&) { ZF_CUDA_TODO("conv2d_backward_weight"); }
void relu_forward(Tensor&, const Tensor&) { ZF_CUDA_TODO("relu_forward"); }
void relu_backward(Tensor&, const Tensor&, const Tensor&) { ZF_CUDA_TODO("relu_backward"); }
void relu_project(Tensor&, const Tensor&, const Tensor&, ReluRule) { ZF_CUDA_TODO("relu_project"); }
void maxpool_forward(Tensor&, Tensor&, const Tensor&, const PoolParams&) { ZF_CUDA_TODO("maxpool_forward"); }
void maxpool_backward(Tensor&, const Tensor&, const Tensor&, const PoolParams&) { ZF_CUDA_TODO("maxpool_backward"); }
void unpool_forward(Tensor&, const Tensor&, const Tensor&, const PoolParams&) { ZF_CUDA_TODO("unpool_forward"); }
void lrn_forward(Tensor&, Tensor&, const Tensor&, const LrnParams&) { ZF_CUDA_TODO("lrn_forward"); }
void lrn_backward(Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, const LrnParams&) { ZF_CUDA_TODO("lrn_backward"); }
void fc_forward(Tensor&, const Tensor&, const Tensor&, const Tensor&) { ZF_CUDA_TODO("fc_forward"); }
void fc_backward_data(Tensor&, const Tensor&, const Tensor&) { ZF_CUDA_TODO("fc_backward_data"); }
void fc_backward_weight(Tensor&, Tensor&, const Tensor&, const Tensor&) { ZF_CUDA_TODO("fc_backward_weight"); }
void dropout_forward(Tensor&, Tensor&, const Tensor&, float, uint64_t, uint64_t) { ZF_CUDA_TODO("dropout_forward"); }
void dropout_backward(Tensor&, const Tensor&, const Tensor&) { ZF_CUDA_TODO("dropout_backward"); }
float softmax_xent_forward(Tensor&, const Tensor&, const Tensor&) { ZF_CUDA_TODO("softmax_xent_forward"); }
void softmax_xent_backward(Tensor&, const Tensor&, const Tensor&) { ZF_CUDA_TODO("softmax_xent_backward"); }
void sgd_update(Tensor&, Tensor&, const Tensor&, float, float, float) { ZF_CUDA_TODO("sgd_update"); }
void renorm_filters(Tensor&, float) { ZF_CUDA_TODO("renorm_filters"); }
void add_inplace(Tensor&, const Tensor&) { ZF_CUDA_TODO("add_inplace"); }

}  // namespace zf::cuda
