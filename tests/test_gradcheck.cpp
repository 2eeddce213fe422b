// Finite-difference gradient checks (Caffe style) of every backward op: conv data/weight/bias,
// relu, maxpool, LRN, fc data/weight/bias, dropout and softmax cross-entropy.
//
// For an op y = f(x, ...) the scalar objective is L = sum_i y_i r_i with a fixed random r, so the
// analytic gradient is the op's backward with dy = r. The numerical derivative is a central
// difference (L(x + h) - L(x - h)) / (2h) taken THROUGH THE FLOAT32 OP ITSELF (not through
// naive.cpp): this checks that each backward is the derivative of its own forward, independently of
// the float64 references. L is accumulated in double, so the only float error is the rounding of
// the y_i that the perturbation changes (unchanged y_i cancel exactly); the step h is 1e-2 on O(1)
// inputs and the actual perturbation (float(x + h) - float(x - h)) is used as the denominator.
// Errors are |a - n| / max(|a|, |n|, 1), and must stay below kTol. Kinks are avoided: ReLU inputs
// stay >= 0.1 away from 0, max-pool inputs are distinct by 0.05 (> 2h), so no perturbation changes
// a mask or a switch.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "core/ops.h"
#include "test_util.h"

using namespace zf;

namespace {

constexpr double kTol = 1e-3;
// Elementwise ops (relu, dropout) treat every element alike: a random sample of them suffices, and
// keeps the number of op calls small (each is an OpenMP region, slow when ctest -j oversubscribes).
constexpr int64_t kElementwisePoints = 40;

double dot(const Tensor& y, const Tensor& r) {
  double s = 0;
  for (int64_t i = 0; i < y.numel(); ++i) s += static_cast<double>(y.f32()[i]) * r.f32()[i];
  return s;
}

struct GradCheck {
  double max_err = 0;
  int64_t worst = -1;
  double analytic = 0, numeric = 0;
  int64_t checked = 0;
};

std::ostream& operator<<(std::ostream& os, const GradCheck& c) {
  return os << "max error " << c.max_err << " over " << c.checked << " elements; worst at "
            << c.worst << ": analytic " << c.analytic << ", numeric " << c.numeric;
}

// Compares analytic[i] with the central difference of objective() in param[i] for every element of
// param, or for max_points random ones when it is larger.
GradCheck grad_check(Tensor& param, const Tensor& analytic,
                     const std::function<double()>& objective, double h, tu::Rng& g,
                     int64_t max_points = 400) {
  EXPECT_EQ(param.shape(), analytic.shape());
  std::vector<int64_t> points(static_cast<size_t>(param.numel()));
  for (int64_t i = 0; i < param.numel(); ++i) points[i] = i;
  if (param.numel() > max_points) {
    std::shuffle(points.begin(), points.end(), g);
    points.resize(static_cast<size_t>(max_points));
  }
  GradCheck c;
  float* p = param.f32();
  for (int64_t i : points) {
    const float saved = p[i];
    const float plus = static_cast<float>(saved + h), minus = static_cast<float>(saved - h);
    p[i] = plus;
    const double lp = objective();
    p[i] = minus;
    const double lm = objective();
    p[i] = saved;
    const double numeric = (lp - lm) / (static_cast<double>(plus) - minus);
    const double a = analytic.f32()[i];
    const double err = std::fabs(a - numeric) / std::max({std::fabs(a), std::fabs(numeric), 1.0});
    if (err > c.max_err || std::isnan(err)) {
      c.max_err = std::isnan(err) ? INFINITY : err;
      c.worst = i;
      c.analytic = a;
      c.numeric = numeric;
    }
    ++c.checked;
  }
  return c;
}

::testing::AssertionResult passes(const GradCheck& c) {
  if (c.checked > 0 && c.max_err <= kTol) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << c;
}

// ---- convolution
// -----------------------------------------------------------------------------------------

struct ConvGradCase {
  Shape x;
  int64_t out;
  ConvParams p;
};

const ConvGradCase kConvGradCases[] = {
    {Shape{2, 3, 7, 6}, 4, ConvParams{3, 2, 1}},  // odd, stride 2, padded
    {Shape{1, 2, 9, 9}, 3, ConvParams{5, 2, 0}},  // conv2-like
    {Shape{2, 4, 5, 5}, 3, ConvParams{1, 1, 0}},  // 1x1
    {Shape{1, 2, 8, 7}, 2, ConvParams{7, 2, 1}},  // conv1-like 7x7
};

TEST(GradCheck, Conv2d) {
  tu::Rng g(201);
  for (const ConvGradCase& t : kConvGradCases) {
    SCOPED_TRACE(::testing::Message() << "x " << t.x.str() << " k " << t.p.kernel << " s "
                                      << t.p.stride << " p " << t.p.pad);
    Tensor x = tu::uniform(t.x, g),
           w = tu::uniform(Shape{t.out, t.x[1], t.p.kernel, t.p.kernel}, g);
    Tensor b = tu::uniform(Shape{t.out}, g), y;
    conv_forward(y, x, w, b, t.p);
    Tensor r = tu::uniform(y.shape(), g);
    Tensor dx = Tensor(x.shape()), dw, db;
    conv_backward_data(dx, r, w, t.p);
    conv_backward_weight(dw, db, r, x, t.p);
    auto objective = [&] {
      conv_forward(y, x, w, b, t.p);
      return dot(y, r);
    };
    EXPECT_TRUE(passes(grad_check(x, dx, objective, 1e-2, g))) << "data";
    EXPECT_TRUE(passes(grad_check(w, dw, objective, 1e-2, g))) << "weight";
    EXPECT_TRUE(passes(grad_check(b, db, objective, 1e-2, g))) << "bias";
  }
}

// The checker must be able to fail: a gradient with the wrong sign, 5% too large, or with one
// element wrong is rejected.
TEST(GradCheck, RejectsWrongGradients) {
  tu::Rng g(202);
  ConvParams p{3, 2, 1};
  Tensor x = tu::uniform(Shape{1, 2, 6, 5}, g), w = tu::uniform(Shape{3, 2, 3, 3}, g);
  Tensor b = tu::uniform(Shape{3}, g), y;
  conv_forward(y, x, w, b, p);
  Tensor r = tu::uniform(y.shape(), g), dx(x.shape());
  conv_backward_data(dx, r, w, p);
  auto objective = [&] {
    conv_forward(y, x, w, b, p);
    return dot(y, r);
  };
  ASSERT_TRUE(passes(grad_check(x, dx, objective, 1e-2, g)));

  Tensor wrong = dx.clone();
  for (int64_t i = 0; i < wrong.numel(); ++i) wrong.f32()[i] = -wrong.f32()[i];
  EXPECT_FALSE(passes(grad_check(x, wrong, objective, 1e-2, g))) << "wrong sign accepted";
  for (int64_t i = 0; i < wrong.numel(); ++i) wrong.f32()[i] = 1.05f * dx.f32()[i];
  EXPECT_FALSE(passes(grad_check(x, wrong, objective, 1e-2, g))) << "5% error accepted";
  wrong.copy_from(dx);
  wrong.f32()[wrong.numel() / 2] += 0.1f;
  EXPECT_FALSE(passes(grad_check(x, wrong, objective, 1e-2, g))) << "one wrong element accepted";
}

// ---- rectification
// -----------------------------------------------------------------------------------------

TEST(GradCheck, Relu) {
  tu::Rng g(203);
  Tensor x = tu::away_from_zero(Shape{2, 3, 5, 4}, g, 0.1f, 1.f), y;
  relu_forward(y, x);
  Tensor r = tu::uniform(y.shape(), g), dx;
  relu_backward(dx, r, x);
  auto objective = [&] {
    relu_forward(y, x);
    return dot(y, r);
  };
  EXPECT_TRUE(passes(grad_check(x, dx, objective, 1e-2, g, kElementwisePoints)));
}

// relu_project with the backprop rule is the plain gradient too.
TEST(GradCheck, ReluProjectBackprop) {
  tu::Rng g(204);
  Tensor x = tu::away_from_zero(Shape{3, 50}, g, 0.1f, 1.f), y;
  Tensor r = tu::uniform(x.shape(), g), dx;
  relu_project(dx, r, x, ReluRule::Backprop);
  auto objective = [&] {
    relu_forward(y, x);
    return dot(y, r);
  };
  EXPECT_TRUE(passes(grad_check(x, dx, objective, 1e-2, g, kElementwisePoints)));
}

// ---- max-pooling
// ---------------------------------------------------------------------------------------------

TEST(GradCheck, Maxpool) {
  tu::Rng g(205);
  struct Case {
    Shape x;
    PoolParams p;
  };
  const Case cases[] = {
      {Shape{2, 2, 8, 7}, PoolParams{3, 2}},   // overlapping, clipped border windows
      {Shape{1, 3, 6, 6}, PoolParams{2, 3}},   // gaps between windows
      {Shape{1, 2, 7, 7}, PoolParams{3, 1}}};  // heavy overlap: shared switches add
  for (const Case& t : cases) {
    SCOPED_TRACE(t.x.str());
    Tensor x = tu::distinct(t.x, g, 0.05f), y, sw;
    maxpool_forward(y, sw, x, t.p);
    Tensor r = tu::uniform(y.shape(), g), dx(x.shape());
    maxpool_backward(dx, r, sw, t.p);
    auto objective = [&] {
      maxpool_forward(y, sw, x, t.p);
      return dot(y, r);
    };
    EXPECT_TRUE(passes(grad_check(x, dx, objective, 1e-2, g)));
  }
}

// ---- LRN
// -------------------------------------------------------------------------------------------------------

TEST(GradCheck, Lrn) {
  tu::Rng g(206);
  struct Case {
    Shape x;
    LrnParams p;
    float amplitude;
    double h;
  };
  // Strong alpha so that the cross-channel terms are a large part of the gradient; and the paper's
  // parameters on conv-sized inputs (~100), where the sum term is comparable to k.
  const Case cases[] = {{Shape{2, 7, 3, 3}, LrnParams{5, 2.f, 0.75f, 1.f}, 1.5f, 1e-2},
                        {Shape{1, 4, 2, 3}, LrnParams{3, 1.f, 1.25f, 0.5f}, 1.f, 1e-2},
                        {Shape{1, 6, 3, 2}, LrnParams{5, 1e-4f, 0.75f, 2.f}, 100.f, 0.1}};
  for (const Case& t : cases) {
    SCOPED_TRACE(::testing::Message()
                 << t.x.str() << " size " << t.p.size << " alpha " << t.p.alpha);
    Tensor x = tu::uniform(t.x, g, -t.amplitude, t.amplitude), y, scale;
    lrn_forward(y, scale, x, t.p);
    Tensor r = tu::uniform(y.shape(), g), dx;
    lrn_backward(dx, r, x, y, scale, t.p);
    auto objective = [&] {
      Tensor yy, ss;
      lrn_forward(yy, ss, x, t.p);
      return dot(yy, r);
    };
    EXPECT_TRUE(passes(grad_check(x, dx, objective, t.h, g)));
  }
}

// ---- fully connected
// ---------------------------------------------------------------------------------------------

TEST(GradCheck, Fc) {
  tu::Rng g(207);
  for (const Shape& xs : {Shape{3, 11}, Shape{2, 3, 2, 2}}) {
    SCOPED_TRACE(xs.str());
    const int64_t in = xs.numel() / xs[0], out = 5;
    Tensor x = tu::uniform(xs, g), w = tu::uniform(Shape{out, in}, g),
           b = tu::uniform(Shape{out}, g), y;
    fc_forward(y, x, w, b);
    Tensor r = tu::uniform(y.shape(), g), dx(xs), dw, db;
    fc_backward_data(dx, r, w);
    fc_backward_weight(dw, db, r, x);
    auto objective = [&] {
      fc_forward(y, x, w, b);
      return dot(y, r);
    };
    EXPECT_TRUE(passes(grad_check(x, dx, objective, 1e-2, g))) << "data";
    EXPECT_TRUE(passes(grad_check(w, dw, objective, 1e-2, g))) << "weight";
    EXPECT_TRUE(passes(grad_check(b, db, objective, 1e-2, g))) << "bias";
  }
}

// ---- dropout
// -------------------------------------------------------------------------------------------------------

TEST(GradCheck, Dropout) {
  tu::Rng g(208);
  Tensor x = tu::uniform(Shape{4, 60}, g), y, mask;
  const float p = 0.4f;
  dropout_forward(y, mask, x, p, 1234, 5);
  Tensor r = tu::uniform(y.shape(), g), dx;
  dropout_backward(dx, r, mask);
  auto objective = [&] {
    dropout_forward(y, mask, x, p, 1234, 5);  // same seed and stream: the same mask
    return dot(y, r);
  };
  EXPECT_TRUE(passes(grad_check(x, dx, objective, 1e-2, g, kElementwisePoints)));
}

// ---- softmax cross-entropy: the objective is the loss itself
// ------------------------------------------------------

TEST(GradCheck, SoftmaxXent) {
  tu::Rng g(209);
  for (const Shape& s : {Shape{2, 5}, Shape{3, 10}, Shape{1, 2}}) {
    SCOPED_TRACE(s.str());
    Tensor logits = tu::uniform(s, g, -2.f, 2.f), prob;
    Tensor lab = tu::labels(s[0], static_cast<int>(s[1]), g);
    Tensor stats;
    softmax_loss_forward(prob, stats, logits, lab);
    Tensor d;
    softmax_loss_backward(d, prob, lab);
    // The loss is a mean over the batch, so its derivatives are O(1/N): scale the objective and the
    // analytic gradient by N so that the check's absolute floor of 1 does not hide errors.
    const double n = static_cast<double>(s[0]);
    for (int64_t i = 0; i < d.numel(); ++i) d.f32()[i] = static_cast<float>(d.f32()[i] * n);
    Tensor tmp;
    auto objective = [&] {
      softmax_loss_forward(tmp, stats, logits, lab);
      return n * stats.f32()[0];
    };
    EXPECT_TRUE(passes(grad_check(logits, d, objective, 1e-2, g)));
  }
}

}  // namespace
