// fc: outputs, std (0.01), bias (0). Flattens an image batch [N,C,H,W] to [N, C*H*W].
#include "core/nn/layer.h"

namespace zf {
namespace {

class FcLayer : public Layer {
 public:
  explicit FcLayer(const LayerSpec& s) : Layer(s.name()) {
    outputs_ = s.require_int("outputs", 1);
    w_.name = "weight";
    w_.init_std = s.get_float("std", 0.01f, 0.f, 10.f);
    b_.name = "bias";
    b_.init_value = s.get_float("bias", 0.f, -100.f, 100.f);
  }
  const char* type() const override { return "fc"; }
  Shape output_shape(const Shape& in) const override {
    ZF_CHECK(in.ndim >= 2 && in.numel() > 0, "layer %s (fc): input %s has no features",
             name_.c_str(), in.str().c_str());
    return Shape{in[0], outputs_};
  }
  Shape setup(const Shape& in) override {
    output_shape(in);
    w_.shape_as(Shape{outputs_, in.numel() / in[0]});
    b_.shape_as(Shape{outputs_});
    return Shape{in[0], outputs_};
  }
  void forward(Tensor& y, const Tensor& x, Tensor*, const RunState&) override {
    fc_forward(y, x, w_.value, b_.value);
  }
  void backward(Tensor* dx, const Tensor& dy, const Tensor& x, const Tensor&, const Tensor*,
                const RunState&) override {
    fc_backward_weight(w_.grad, b_.grad, dy, x);
    if (dx) {
      dx->ensure(x.shape(), x.device());
      fc_backward_data(*dx, dy, w_.value);
    }
  }
  // The deconvnet's step through a fully connected layer: the transposed weights, no bias (as
  // for conv), so that an fc unit can be projected to pixel space.
  void project(Tensor& out, const Tensor& r, const Tensor& x, const Tensor&, const Tensor*,
               const ProjectOptions&) override {
    out.ensure(x.shape(), x.device());
    fc_backward_data(out, r, w_.value);
  }
  std::vector<Param*> params() override { return {&w_, &b_}; }

 private:
  int outputs_;
  Param w_, b_;
};

}  // namespace

std::unique_ptr<Layer> make_fc_layer(const LayerSpec& s) {
  return std::make_unique<FcLayer>(s);
}

}  // namespace zf
