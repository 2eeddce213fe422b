// dropout: p (0.5). Inverted dropout at training time; identity at evaluation. The mask of step t
// in layer i is drawn from rng(seed, stream = i + (t << 16)), the same on every backend.
#include "core/nn/layer.h"

namespace zf {
namespace {

class DropoutLayer : public Layer {
 public:
  explicit DropoutLayer(const LayerSpec& s) : Layer(s.name()) {
    p_ = s.get_float("p", 0.5f, 0.f, 0.99f);
  }
  const char* type() const override { return "dropout"; }
  Shape output_shape(const Shape& in) const override { return in; }
  // saved[0]: the mask (training passes only; evaluation is the identity).
  void forward(Tensor& y, const Tensor& x, Tensor* saved, const RunState& rs) override {
    if (active(rs)) {
      // Counters run over the step's global batch, so that a sample's mask does not depend on
      // which data-parallel rank computes it.
      const uint64_t per_sample = static_cast<uint64_t>(x.numel() / x.dim(0));
      dropout_forward(y, saved[0], x, p_, rs.seed, static_cast<uint64_t>(index_) + (rs.step << 16),
                      rs.sample_offset * per_sample);
    } else {
      y.ensure(x.shape(), x.device());
      y.copy_from(x);
    }
  }
  std::vector<BufferSpec> saved_buffers(const Shape& in, const Shape&) const override {
    return {{in}};
  }
  void backward(Tensor* dx, const Tensor& dy, const Tensor&, const Tensor&, const Tensor* saved,
                const RunState& rs) override {
    if (!dx) return;
    if (active(rs)) {
      dropout_backward(*dx, dy, saved[0]);
    } else {
      dx->ensure(dy.shape(), dy.device());
      dx->copy_from(dy);
    }
  }
  // The deconvnet runs on evaluation passes, where dropout is the identity.
  void project(Tensor& out, const Tensor& r, const Tensor&, const Tensor&, const Tensor*,
               const ProjectOptions&) override {
    out.ensure(r.shape(), r.device());
    out.copy_from(r);
  }

 private:
  bool active(const RunState& rs) const { return rs.phase == Phase::Train && p_ > 0.f; }
  float p_;
};

}  // namespace

std::unique_ptr<Layer> make_dropout_layer(const LayerSpec& s) {
  return std::make_unique<DropoutLayer>(s);
}

}  // namespace zf
