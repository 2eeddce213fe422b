// maxpool: kernel (3), stride (2), ceil (true: ceil mode; false: floor mode, as PyTorch's default). Keeps the switches for backward and for unpooling.
#include <limits>

#include "core/nn/layer.h"

namespace zf {
namespace {

class MaxPoolLayer : public Layer {
 public:
  explicit MaxPoolLayer(const LayerSpec& s) : Layer(s.name()) {
    p_.kernel = s.get_int("kernel", 3, 1);
    p_.stride = s.get_int("stride", 2, 1);
    p_.ceil = s.get_bool("ceil", true);
  }
  const char* type() const override { return "maxpool"; }
  Shape output_shape(const Shape& in) const override {
    ZF_CHECK(in.ndim == 4, "layer %s (maxpool): input %s is not an image batch [N,C,H,W]",
             name_.c_str(), in.str().c_str());
    return pool_output_shape(in, p_, name_.c_str());
  }
  // saved[0]: the switches.
  void forward(Tensor& y, const Tensor& x, Tensor* saved, const RunState&) override {
    maxpool_forward(y, saved[0], x, p_);
  }
  void backward(Tensor* dx, const Tensor& dy, const Tensor& x, const Tensor&, const Tensor* saved,
                const RunState&) override {
    if (!dx) return;
    dx->ensure(x.shape(), x.device());
    maxpool_backward(*dx, dy, saved[0], p_);
  }
  void project(Tensor& out, const Tensor& r, const Tensor& x, const Tensor&, const Tensor* saved,
               const ProjectOptions&) override {
    out.ensure(x.shape(), x.device());
    unpool_forward(out, r, saved[0], p_);
  }
  std::vector<BufferSpec> saved_buffers(const Shape&, const Shape& out) const override {
    return {{out, DType::I32}};
  }
  bool geometry(Geometry* g) const override {
    // Windows clipped at the far edge (ceil mode) see nothing there: -inf never wins a max.
    *g = Geometry{p_.kernel, p_.stride, 0, -std::numeric_limits<float>::infinity()};
    return true;
  }

 private:
  PoolParams p_;
};

}  // namespace

std::unique_ptr<Layer> make_maxpool_layer(const LayerSpec& s) {
  return std::make_unique<MaxPoolLayer>(s);
}

}  // namespace zf
