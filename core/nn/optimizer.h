// The optimizer's step (DESIGN section 2): SGD with momentum and weight decay in Krizhevsky et al.'s
// form on every parameter of a net, then the paper's filter renormalization of the conv weights.
// One implementation for the trainer, zf_bench and the tests; the learning-rate schedule is the
// trainer's (train/schedule.h). Lives beside Net (no YAML, no HDF5) so that the GPU machine's
// CUDA-only builds have it.
#pragma once

#include "core/nn/net.h"

namespace zf {

struct SgdParams {
  float lr = 0.01f;  // the learning rate in force (times each parameter's lr_mult)
  float momentum = 0.9f;
  float weight_decay = 5e-4f;  // times each parameter's decay_mult
  float renorm_radius = 0.1f;  // 0 disables the filter renormalization
};

// v = momentum * v - lr * (dw + weight_decay * w); w += v; then every conv filter whose RMS
// exceeds the radius is scaled back to it. Needs the gradients of a backward pass.
void sgd_step(Net& net, const SgdParams& p);

}  // namespace zf
