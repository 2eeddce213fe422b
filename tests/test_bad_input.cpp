// Bad input to the public ops: shape mismatches, impossible parameters, wrong dtypes and empty
// tensors each raise zf::Error (never a crash or a silent wrong answer) whose message names the op
// and shows the offending shape or value, so that a user can tell which layer is misconfigured.
#include <gtest/gtest.h>

#include <string>

#include "core/ops.h"
#include "test_util.h"

using namespace zf;

namespace {

// The statement throws zf::Error and its message contains every one of `parts`.
#define EXPECT_ZF_ERROR(stmt, ...)                                       \
  do {                                                                   \
    const std::string msg_ = tu::error_of([&] { stmt; });                \
    for (const char* part_ : {__VA_ARGS__})                              \
      EXPECT_NE(msg_.find(part_), std::string::npos)                     \
          << #stmt << "\n  message: " << msg_ << "\n  lacks: " << part_; \
  } while (0)

Tensor f32(const Shape& s) {
  return Tensor::zeros(s);
}
Tensor i32(const Shape& s) {
  return Tensor::zeros(s, Device::CPU, DType::I32);
}

TEST(BadInput, Conv2dForward) {
  Tensor y, x = f32(Shape{2, 3, 8, 8}), w = f32(Shape{4, 3, 3, 3}), b = f32(Shape{4});
  Tensor w2 = f32(Shape{4, 2, 3, 3});
  EXPECT_ZF_ERROR(conv_forward(y, x, w2, b, ConvParams{3, 1, 1}), "conv_forward", "[2,3,8,8]",
                  "[4,2,3,3]");  // channels
  EXPECT_ZF_ERROR(conv_forward(y, x, w, f32(Shape{5}), ConvParams{3, 1, 1}), "conv_forward",
                  "[5]");  // bias
  EXPECT_ZF_ERROR(conv_forward(y, x, w, b, ConvParams{5, 1, 1}), "conv_forward",
                  "[4,3,3,3]");  // weight does not match the kernel size
  EXPECT_ZF_ERROR(conv_forward(y, x, w, b, ConvParams{3, 0, 1}), "conv_forward", "stride 0");
  EXPECT_ZF_ERROR(conv_forward(y, x, w, b, ConvParams{3, 1, -1}), "conv_forward", "pad -1");
  Tensor small = f32(Shape{1, 3, 2, 2}), w7 = f32(Shape{4, 3, 7, 7});
  EXPECT_ZF_ERROR(conv_forward(y, small, w7, b, ConvParams{7, 1, 1}), "conv_forward",
                  "kernel 7");  // larger than the padded input 4
  EXPECT_ZF_ERROR(conv_forward(y, f32(Shape{3, 8, 8}), w, b, ConvParams{3, 1, 1}),
                  "conv_forward",
                  "[3,8,8]");  // not 4-d
  EXPECT_ZF_ERROR(conv_forward(y, f32(Shape{0, 3, 8, 8}), w, b, ConvParams{3, 1, 1}),
                  "conv_forward",
                  "[0,3,8,8]");  // empty
  EXPECT_ZF_ERROR(conv_forward(y, i32(Shape{2, 3, 8, 8}), w, b, ConvParams{3, 1, 1}),
                  "conv_forward", "[2,3,8,8]", "f32");  // wrong dtype
}

TEST(BadInput, Conv2dBackward) {
  Tensor x = f32(Shape{2, 3, 8, 8}), w = f32(Shape{4, 3, 3, 3});
  Tensor dx = f32(Shape{2, 3, 8, 8}), dw, db;
  Tensor dy_bad = f32(Shape{2, 4, 7, 8});  // stride 1 pad 1 gives [2,4,8,8]
  EXPECT_ZF_ERROR(conv_backward_data(dx, dy_bad, w, ConvParams{3, 1, 1}), "conv_backward_data",
                  "[2,4,7,8]", "[2,4,8,8]");
  Tensor unshaped;
  EXPECT_ZF_ERROR(conv_backward_data(unshaped, f32(Shape{2, 4, 8, 8}), w, ConvParams{3, 1, 1}),
                  "conv_backward_data", "[]");  // dx must carry the input's shape
  EXPECT_ZF_ERROR(conv_backward_weight(dw, db, dy_bad, x, ConvParams{3, 1, 1}),
                  "conv_backward_weight", "[2,4,7,8]", "[2,3,8,8]");
  EXPECT_ZF_ERROR(conv_backward_weight(dw, db, f32(Shape{2, 4, 8, 8}), x, ConvParams{3, 0, 1}),
                  "conv_backward_weight", "stride 0");
}

TEST(BadInput, Relu) {
  Tensor out, a = f32(Shape{2, 3, 4, 4}), b = f32(Shape{2, 3, 4, 5});
  EXPECT_ZF_ERROR(relu_backward(out, a, b), "relu_backward", "[2,3,4,4]", "[2,3,4,5]");
  EXPECT_ZF_ERROR(relu_project(out, a, b, ReluRule::Guided), "relu_project", "[2,3,4,4]",
                  "[2,3,4,5]");
  EXPECT_ZF_ERROR(relu_forward(out, Tensor()), "relu_forward", "[]");
  EXPECT_ZF_ERROR(parse_relu_rule("sideways"), "sideways");
}

TEST(BadInput, Maxpool) {
  Tensor y, sw, x = f32(Shape{1, 2, 2, 2});
  EXPECT_ZF_ERROR(maxpool_forward(y, sw, x, PoolParams{3, 2}), "maxpool_forward", "kernel 3");
  EXPECT_ZF_ERROR(maxpool_forward(y, sw, f32(Shape{1, 2, 8, 8}), PoolParams{3, 0}),
                  "maxpool_forward", "stride 0");
  EXPECT_ZF_ERROR(maxpool_forward(y, sw, f32(Shape{4, 5}), PoolParams{3, 2}), "maxpool_forward",
                  "[4,5]");

  // A correct forward, then backward/unpool with something wrong each time.
  Tensor in = f32(Shape{1, 2, 8, 8});
  maxpool_forward(y, sw, in, PoolParams{3, 2});  // y, sw: [1,2,4,4]
  Tensor dx = f32(Shape{1, 2, 8, 8});
  for (const char* op : {"maxpool_backward", "unpool_forward"}) {
    auto call = [&](Tensor& out, const Tensor& dy, const Tensor& s) {
      if (op[0] == 'm')
        maxpool_backward(out, dy, s, PoolParams{3, 2});
      else
        unpool_forward(out, dy, s, PoolParams{3, 2});
    };
    EXPECT_ZF_ERROR(call(dx, y, f32(Shape{1, 2, 4, 4})), op, "[1,2,4,4]", "i32");  // f32 switches
    EXPECT_ZF_ERROR(call(dx, y, i32(Shape{1, 2, 4, 3})), op, "[1,2,4,3]");         // switch shape
    EXPECT_ZF_ERROR(call(dx, f32(Shape{1, 2, 3, 4}), sw), op, "[1,2,3,4]",
                    "[1,2,4,4]");            // dy shape
    Tensor dx11 = f32(Shape{1, 2, 11, 11});  // pools to 5x5, not the 4x4 of dy
    EXPECT_ZF_ERROR(call(dx11, y, sw), op, "[1,2,4,4]", "[1,2,11,11]");
    Tensor unshaped;  // the output must carry the pool input's shape
    EXPECT_ZF_ERROR(call(unshaped, y, sw), op, "[]");
  }
}

TEST(BadInput, Lrn) {
  Tensor y, scale, dx, x = f32(Shape{1, 8, 3, 3});
  EXPECT_ZF_ERROR(lrn_forward(y, scale, x, LrnParams{4, 1e-4f, 0.75f, 2.f}), "lrn_forward",
                  "size 4");
  EXPECT_ZF_ERROR(lrn_forward(y, scale, x, LrnParams{5, 1e-4f, 0.75f, 0.f}), "lrn_forward", "k 0");
  EXPECT_ZF_ERROR(lrn_forward(y, scale, f32(Shape{8, 9}), LrnParams{}), "lrn_forward", "[8,9]");
  lrn_forward(y, scale, x, LrnParams{});
  EXPECT_ZF_ERROR(lrn_backward(dx, x, x, y, f32(Shape{1, 8, 3, 2}), LrnParams{}), "lrn_backward",
                  "[1,8,3,2]", "[1,8,3,3]");
  EXPECT_ZF_ERROR(lrn_backward(dx, f32(Shape{1, 7, 3, 3}), x, y, scale, LrnParams{}),
                  "lrn_backward", "[1,7,3,3]");
  EXPECT_ZF_ERROR(lrn_backward(dx, x, x, y, scale, LrnParams{2, 1e-4f, 0.75f, 2.f}), "lrn_backward",
                  "size 2");
}

TEST(BadInput, Fc) {
  Tensor y, dx, dw, db, x = f32(Shape{2, 10}), w = f32(Shape{3, 12}), b = f32(Shape{3});
  EXPECT_ZF_ERROR(fc_forward(y, x, w, b), "fc_forward", "[2,10]", "[3,12]");
  EXPECT_ZF_ERROR(fc_forward(y, f32(Shape{2, 12}), w, f32(Shape{4})), "fc_forward", "[4]");
  EXPECT_ZF_ERROR(fc_forward(y, f32(Shape{2, 12}), f32(Shape{3, 2, 6}), b), "fc_forward",
                  "[3,2,6]");
  EXPECT_ZF_ERROR(fc_backward_data(dx, f32(Shape{2, 4}), w), "fc_backward_data", "[2,4]", "[3,12]");
  EXPECT_ZF_ERROR(fc_backward_weight(dw, db, f32(Shape{3, 3}), f32(Shape{2, 12})),
                  "fc_backward_weight", "[3,3]", "[2,12]");
}

TEST(BadInput, Dropout) {
  Tensor y, mask, dx, x = f32(Shape{2, 5});
  EXPECT_ZF_ERROR(dropout_forward(y, mask, x, 1.f, 1, 0), "dropout_forward", "p = 1");
  EXPECT_ZF_ERROR(dropout_forward(y, mask, x, -0.1f, 1, 0), "dropout_forward", "p = -0.1");
  EXPECT_ZF_ERROR(dropout_backward(dx, x, f32(Shape{2, 6})), "dropout_backward", "[2,5]", "[2,6]");
}

TEST(BadInput, SoftmaxXent) {
  Tensor prob, stats, d, logits = f32(Shape{4, 10});
  EXPECT_ZF_ERROR(softmax_loss_forward(prob, stats, logits, f32(Shape{4})), "softmax_loss_forward",
                  "[4]", "i32");  // f32 labels
  EXPECT_ZF_ERROR(softmax_loss_forward(prob, stats, logits, i32(Shape{3})), "softmax_loss_forward",
                  "[3]", "[4,10]");
  EXPECT_ZF_ERROR(softmax_loss_forward(prob, stats, f32(Shape{4, 10, 1, 1}), i32(Shape{4})),
                  "softmax_loss_forward", "[4,10,1,1]");
  EXPECT_ZF_ERROR(softmax_forward(prob, f32(Shape{4, 10, 1, 1})), "softmax_forward", "[4,10,1,1]");
  EXPECT_ZF_ERROR(softmax_forward(prob, i32(Shape{4, 10})), "softmax_forward", "f32");
  EXPECT_ZF_ERROR(softmax_loss_backward(d, logits, i32(Shape{5})), "softmax_loss_backward", "[5]",
                  "[4,10]");
  // Labels outside [0, K) would index out of bounds: the CPU backend refuses them.
  Tensor lab = i32(Shape{4});
  lab.i32()[2] = 10;
  EXPECT_ZF_ERROR(softmax_loss_forward(prob, stats, logits, lab), "softmax_loss_forward", "10");
  lab.i32()[2] = -1;
  EXPECT_ZF_ERROR(softmax_loss_backward(d, logits, lab), "softmax_loss_backward", "-1");
}

TEST(BadInput, OptimAndMisc) {
  Tensor w = f32(Shape{4, 3, 3, 3}), v = f32(Shape{4, 3, 3, 3});
  EXPECT_ZF_ERROR(sgd_update(w, v, f32(Shape{4, 3, 3, 2}), 0.1f, 0.9f, 0.f), "sgd_update",
                  "[4,3,3,2]");
  Tensor v2 = f32(Shape{4, 27});
  EXPECT_ZF_ERROR(sgd_update(w, v2, f32(Shape{4, 3, 3, 3}), 0.1f, 0.9f, 0.f), "sgd_update",
                  "[4,27]");
  EXPECT_ZF_ERROR(renorm_filters(w, 0.f), "renorm_filters", "radius 0");
  EXPECT_ZF_ERROR(add_inplace(w, f32(Shape{4, 3, 3})), "add_inplace", "[4,3,3,3]", "[4,3,3]");
}

TEST(BadInput, Shape) {
  EXPECT_ZF_ERROR(Shape({2, -1}), "Shape", "-1");
  EXPECT_ZF_ERROR(Shape({1, 2, 3, 4, 5}), "Shape", "5");
  EXPECT_ZF_ERROR(parse_device("tpu"), "tpu");
}

}  // namespace
