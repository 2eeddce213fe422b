// conv: filters, kernel, stride (1), pad (0), std (0.01: weights N(0, std)), bias (0: constant
// init).
#include "core/nn/layer.h"

namespace zf {
namespace {

class ConvLayer : public Layer {
 public:
  explicit ConvLayer(const LayerSpec& s) : Layer(s.name()) {
    filters_ = s.require_int("filters", 1);
    p_.kernel = s.require_int("kernel", 1);
    p_.stride = s.get_int("stride", 1, 1);
    p_.pad = s.get_int("pad", 0, 0);
    w_.name = "weight";
    w_.init_std = s.get_float("std", 0.01f, 0.f, 10.f);
    w_.renorm = true;
    b_.name = "bias";
    b_.init_value = s.get_float("bias", 0.f, -100.f, 100.f);
  }
  const char* type() const override { return "conv"; }

  Shape output_shape(const Shape& in) const override {
    ZF_CHECK(in.ndim == 4, "layer %s (conv): input %s is not an image batch [N,C,H,W]",
             name_.c_str(), in.str().c_str());
    return conv_output_shape(in, filters_, p_, name_.c_str());
  }
  Shape setup(const Shape& in) override {
    Shape out = output_shape(in);
    w_.shape_as(Shape{filters_, in[1], p_.kernel, p_.kernel});
    b_.shape_as(Shape{filters_});
    return out;
  }
  void forward(Tensor& y, const Tensor& x, Tensor*, const RunState&) override {
    conv_forward(y, x, w_.value, b_.value, p_);
  }
  void forward_unpadded(Tensor& y, const Tensor& x, Tensor*, const RunState&) override {
    ConvParams p = p_;
    p.pad = 0;
    conv_forward(y, x, w_.value, b_.value, p);
  }
  void backward(Tensor* dx, const Tensor& dy, const Tensor& x, const Tensor&, const Tensor*,
                const RunState&) override {
    conv_backward_weight(w_.grad, b_.grad, dy, x, p_);
    if (dx) {
      dx->ensure(x.shape(), x.device());
      conv_backward_data(*dx, dy, w_.value, p_);
    }
  }
  size_t scratch_bytes(const Shape& in, const Shape& out, Device d) const override {
    return conv_scratch_bytes(d, in, out, p_);
  }
  // The deconvnet filters with the transposed filters and no bias: the input gradient.
  void project(Tensor& out, const Tensor& r, const Tensor& x, const Tensor&, const Tensor*,
               const ProjectOptions&) override {
    out.ensure(x.shape(), x.device());
    conv_backward_data(out, r, w_.value, p_);
  }
  std::vector<Param*> params() override { return {&w_, &b_}; }
  bool geometry(Geometry* g) const override {
    *g = Geometry{p_.kernel, p_.stride, p_.pad};
    return true;
  }

 private:
  int filters_;
  ConvParams p_;
  Param w_, b_;
};

}  // namespace

std::unique_ptr<Layer> make_conv_layer(const LayerSpec& s) {
  return std::make_unique<ConvLayer>(s);
}

}  // namespace zf
