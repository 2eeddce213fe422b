// softmax_loss: the last layer. Forward writes class probabilities [N, K] and, given labels, the
// pass's loss statistics (saved[0], f32 [2]: mean cross-entropy, top-1 correct count); backward
// starts the gradient from the probabilities and the pass's labels and ignores its dy.
#include "core/nn/layer.h"

namespace zf {
namespace {

class SoftmaxLossLayer : public Layer {
 public:
  explicit SoftmaxLossLayer(const LayerSpec& s) : Layer(s.name()) {}
  const char* type() const override { return "softmax_loss"; }
  bool is_loss() const override { return true; }
  Shape output_shape(const Shape& in) const override {
    ZF_CHECK(in.ndim == 2,
             "layer %s (softmax_loss): input %s must be [N, classes] (put an fc before it)",
             name_.c_str(), in.str().c_str());
    return in;
  }
  void forward(Tensor& y, const Tensor& x, Tensor* saved, const RunState& rs) override {
    if (rs.labels) {
      softmax_loss_forward(y, saved[0], x, *rs.labels);
    } else {
      softmax_forward(y, x);
    }
  }
  void backward(Tensor* dx, const Tensor&, const Tensor&, const Tensor& y, const Tensor*,
                const RunState& rs) override {
    ZF_CHECK(rs.labels, "layer %s (softmax_loss): backward of a pass without labels",
             name_.c_str());
    if (dx) softmax_loss_backward(*dx, y, *rs.labels);
  }
  std::vector<BufferSpec> saved_buffers(const Shape&, const Shape&) const override {
    return {{Shape{2}}};
  }
  size_t scratch_bytes(const Shape& in, const Shape&, Device d) const override {
    return softmax_loss_scratch_bytes(d, in);
  }
};

}  // namespace

std::unique_ptr<Layer> make_softmax_loss_layer(const LayerSpec& s) {
  return std::make_unique<SoftmaxLossLayer>(s);
}

}  // namespace zf
