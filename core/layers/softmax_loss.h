// The loss layer, visible to Net for its loss value.
#pragma once

#include "core/layers/layer.h"

namespace zf {

class SoftmaxLossLayer : public Layer {
 public:
  explicit SoftmaxLossLayer(const LayerSpec& s);
  const char* type() const override { return "softmax_loss"; }
  Shape setup(const Shape& in) override;
  void forward(Tensor& y, const Tensor& x, const RunState& rs) override;
  void backward(Tensor* dx, const Tensor& dy, const Tensor& x, const Tensor& y) override;
  void saved_buffers(const Shape& in, const Shape&, std::vector<SavedBuffer>& b) override;
  size_t scratch_bytes(const Shape& in, const Shape&, Device d) const override;
  // Reads the loss of the last forward with labels back from its device (0 without labels).
  float loss() const;

 private:
  const Tensor* labels_ = nullptr;
  Tensor stats_;  // softmax_xent_forward's [mean loss, top-1 hits], on the layer's device
};

}  // namespace zf
