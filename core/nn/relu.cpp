// relu: no parameters. Its deconvnet step applies the chosen rule (deconv | guided | backprop).
#include "core/nn/layer.h"

namespace zf {
namespace {

class ReluLayer : public Layer {
 public:
  explicit ReluLayer(const LayerSpec& s) : Layer(s.name()) {}
  const char* type() const override { return "relu"; }
  Shape output_shape(const Shape& in) const override { return in; }
  void forward(Tensor& y, const Tensor& x, Tensor*, const RunState&) override {
    relu_forward(y, x);
  }
  void backward(Tensor* dx, const Tensor& dy, const Tensor& x, const Tensor&, const Tensor*,
                const RunState&) override {
    if (dx) relu_backward(*dx, dy, x);
  }
  void project(Tensor& out, const Tensor& r, const Tensor& x, const Tensor&, const Tensor*,
               const ProjectOptions& opt) override {
    relu_project(out, r, x, opt.rule);
  }
  bool rectifies() const override { return true; }
};

}  // namespace

std::unique_ptr<Layer> make_relu_layer(const LayerSpec& s) {
  return std::make_unique<ReluLayer>(s);
}

}  // namespace zf
