// dropout: p (0.5). Inverted dropout at training time; identity at evaluation. The mask of step t
// in layer i is drawn from rng(seed, stream = i + (t << 16)), the same on every backend.
#include "core/layers/layer.h"

namespace zf {
namespace {

class DropoutLayer : public Layer {
 public:
  explicit DropoutLayer(const LayerSpec& s) : Layer(s.name()) {
    p_ = s.get_float("p", 0.5f, 0.f, 0.99f);
  }
  const char* type() const override { return "dropout"; }
  Shape setup(const Shape& in) override { return in; }
  void forward(Tensor& y, const Tensor& x, const RunState& rs) override {
    train_ = rs.phase == Phase::Train && p_ > 0.f;
    if (train_) {
      dropout_forward(y, mask_, x, p_, rs.seed, static_cast<uint64_t>(index_) + (rs.step << 16));
    } else {
      y.ensure(x.shape(), x.device());
      y.copy_from(x);
    }
  }
  void saved_buffers(const Shape& in, const Shape&, std::vector<SavedBuffer>& b) override {
    b.push_back({&mask_, in});
  }
  void backward(Tensor* dx, const Tensor& dy, const Tensor&, const Tensor&) override {
    if (!dx) return;
    if (train_) {
      dropout_backward(*dx, dy, mask_);
    } else {
      dx->ensure(dy.shape(), dy.device());
      dx->copy_from(dy);
    }
  }

 private:
  float p_;
  bool train_ = false;
  Tensor mask_;
};

}  // namespace

std::unique_ptr<Layer> make_dropout_layer(const LayerSpec& s) {
  return std::make_unique<DropoutLayer>(s);
}

}  // namespace zf
