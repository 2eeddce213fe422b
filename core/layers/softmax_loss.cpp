// softmax_loss: the last layer. Forward writes class probabilities [N, K] and, given labels, the
// mean cross-entropy (loss()); backward starts the gradient from them and ignores its dy.
#include "core/layers/softmax_loss.h"

#include "core/layers/layer.h"

namespace zf {

SoftmaxLossLayer::SoftmaxLossLayer(const LayerSpec& s) : Layer(s.name()) {}

Shape SoftmaxLossLayer::setup(const Shape& in) {
  ZF_CHECK(in.ndim == 2,
           "layer %s (softmax_loss): input %s must be [N, classes] (put an fc before it)",
           name_.c_str(), in.str().c_str());
  return in;
}

void SoftmaxLossLayer::forward(Tensor& y, const Tensor& x, const RunState& rs) {
  labels_ = rs.labels;
  if (labels_)
    softmax_xent_forward(y, stats_, x, *labels_);
  else
    softmax_forward(y, x);
}

float SoftmaxLossLayer::loss() const {
  if (!labels_) return 0.f;
  return stats_.is_cpu() ? stats_.f32()[0] : stats_.to(Device::CPU).f32()[0];
}

void SoftmaxLossLayer::backward(Tensor* dx, const Tensor&, const Tensor&, const Tensor& y) {
  ZF_CHECK(labels_, "layer %s (softmax_loss): backward without labels", name_.c_str());
  if (dx) softmax_xent_backward(*dx, y, *labels_);
}

void SoftmaxLossLayer::saved_buffers(const Shape& in, const Shape&, std::vector<SavedBuffer>& b) {
  b.push_back({&stats_, Shape{2}, DType::F32});
}

size_t SoftmaxLossLayer::scratch_bytes(const Shape& in, const Shape&, Device d) const {
  return softmax_xent_scratch_bytes(d, in);
}

std::unique_ptr<Layer> make_softmax_loss_layer(const LayerSpec& s) {
  return std::make_unique<SoftmaxLossLayer>(s);
}

}  // namespace zf
