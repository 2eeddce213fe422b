// The SGD step over a net's parameters (see optimizer.h).
#include "core/nn/optimizer.h"

namespace zf {

void sgd_step(Net& net, const SgdParams& s) {
  for (auto& np : net.params()) {
    Param& p = *np.param;
    sgd_update(p.value, p.momentum, p.grad, s.lr * p.lr_mult, s.momentum,
               s.weight_decay * p.decay_mult);
    if (p.renorm && s.renorm_radius > 0.f) renorm_filters(p.value, s.renorm_radius);
  }
}

}  // namespace zf
