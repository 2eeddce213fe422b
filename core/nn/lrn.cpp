// lrn: size (5), alpha (1e-4), beta (0.75), k (2). Skipped by the deconvnet unless through_lrn is
// set.
#include "core/nn/layer.h"

namespace zf {
namespace {

class LrnLayer : public Layer {
 public:
  explicit LrnLayer(const LayerSpec& s) : Layer(s.name()) {
    p_.size = s.get_int("size", 5, 1);
    if (p_.size % 2 == 0) s.fail("size", "must be odd");
    p_.alpha = s.get_float("alpha", 1e-4f, 0.f, 1e3f);
    p_.beta = s.get_float("beta", 0.75f, 0.f, 10.f);
    p_.k = s.get_float("k", 2.f, 1e-6f, 1e6f);
  }
  const char* type() const override { return "lrn"; }
  Shape output_shape(const Shape& in) const override {
    ZF_CHECK(in.ndim == 4, "layer %s (lrn): input %s is not an image batch [N,C,H,W]",
             name_.c_str(), in.str().c_str());
    return in;
  }
  // saved[0]: the scale.
  void forward(Tensor& y, const Tensor& x, Tensor* saved, const RunState&) override {
    lrn_forward(y, saved[0], x, p_);
  }
  void backward(Tensor* dx, const Tensor& dy, const Tensor& x, const Tensor& y,
                const Tensor* saved, const RunState&) override {
    if (dx) lrn_backward(*dx, dy, x, y, saved[0], p_);
  }
  std::vector<BufferSpec> saved_buffers(const Shape& in, const Shape&) const override {
    return {{in}};
  }
  void project(Tensor& out, const Tensor& r, const Tensor& x, const Tensor& y, const Tensor* saved,
               const ProjectOptions& opt) override {
    if (opt.through_lrn) {
      lrn_backward(out, r, x, y, saved[0], p_);
    } else {
      out.ensure(r.shape(), r.device());
      out.copy_from(r);
    }
  }

 private:
  LrnParams p_;
};

}  // namespace

std::unique_ptr<Layer> make_lrn_layer(const LayerSpec& s) {
  return std::make_unique<LrnLayer>(s);
}

}  // namespace zf
