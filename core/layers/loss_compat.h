// TEMPORARY (until the loss ops land): the new loss-op signatures written over the old op.
#pragma once
#include "core/ops.h"
namespace zf {
inline void softmax_xent_forward(Tensor& prob, Tensor& stats, const Tensor& logits,
                                 const Tensor& labels) {
  const float loss = softmax_xent_forward(prob, logits, labels);
  Tensor p = prob.to(Device::CPU), l = labels.to(Device::CPU), h(Shape{2});
  int64_t hits = 0;
  const int64_t K = p.dim(1);
  for (int64_t n = 0; n < p.dim(0); ++n) {
    const float t = p.f32()[n * K + l.i32()[n]];
    int64_t above = 0;
    for (int64_t j = 0; j < K; ++j) above += p.f32()[n * K + j] > t;
    hits += above < 1;
  }
  h.f32()[0] = loss;
  h.f32()[1] = static_cast<float>(hits);
  stats.ensure(Shape{2}, logits.device());
  stats.copy_from(h);
}
inline void softmax_forward(Tensor& prob, const Tensor& logits) {
  Tensor z = Tensor::zeros(Shape{logits.dim(0)}, logits.device(), DType::I32);
  softmax_xent_forward(prob, logits, z);
}
}  // namespace zf
