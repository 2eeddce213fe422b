// Every op of the framework, one declaration each (DESIGN section 2). Outputs first, then inputs,
// then a params struct. Each function checks shapes and devices (throwing zf::Error naming the op
// and the shapes), makes sure the outputs have the right shape (allocating only when they are too
// small), and dispatches on the device of its inputs to zf::cpu or zf::cuda.
//
// Outputs whose shape cannot be derived from the inputs (dx of conv_backward_data, of
// maxpool_backward and unpool_forward) must already carry the shape of the forward input.
#pragma once

#include <cstdint>

#include "core/context.h"
#include "core/shapes.h"
#include "core/tensor.h"

namespace zf {

// How a backward signal r crosses a ReLU whose forward input was x (paper sec. 2.1 and after):
//   deconv:   relu(r)              (Zeiler & Fergus: the deconvnet rectifies the signal)
//   guided:   relu(r) masked by x > 0  (guided backpropagation)
//   backprop: r masked by x > 0    (the plain gradient)
enum class ReluRule { Deconv, Guided, Backprop };
ReluRule parse_relu_rule(const char* s);
const char* relu_rule_name(ReluRule r);

// A GPU's conv arithmetic by name: "fp32" or "tf32" (core/context.h: ConvMath); throws otherwise.
ConvMath parse_conv_math(const char* s);
const char* conv_math_name(ConvMath m);
// What ZF_CONV_MATH in the environment asks for (Fp32 when unset or empty); a CUDA context starts
// with it. Throws on any other value than fp32 or tf32.
ConvMath conv_math_from_env();

#include "core/op_signatures.inc"

// Device scratch (bytes) that ops need beyond their outputs for these shapes: the CUDA backend's
// split-K partial sums in conv_backward_weight and per-sample losses and hits in
// softmax_loss_forward. A Net reserves the largest when it is set up (backend::reserve_scratch), so
// that no pass allocates. 0 on the CPU, whose workspaces are per thread.
size_t conv_scratch_bytes(Device d, const Shape& x, const Shape& y, const ConvParams& p);
size_t softmax_loss_scratch_bytes(Device d, const Shape& logits);

}  // namespace zf
