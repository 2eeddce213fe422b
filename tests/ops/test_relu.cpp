// The relu family's tests (relu_forward, relu_backward, relu_project with its three rules), in one
// place: the shapes are stated once in kReluCases and run in the modes each row names
// (test_util.h): naive float64 loops, finite differences, CPU against CUDA; then the rules by hand
// and the bad-input errors. Inputs carry planted exact zeros (x > 0 must treat 0 as inactive),
// except in the gradient check, which keeps away from the kink.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/ops.h"
#include "test_util.h"

using namespace zf;
using namespace tu;

namespace {

struct ReluCase {
  Shape s;
  unsigned modes;
};

const ReluCase kReluCases[] = {
    {Shape{1}, kNaive | kCuda},
    {Shape{2, 3, 5, 7}, kNaive | kCuda},
    {Shape{3, 5, 7, 1}, kNaive | kCuda},
    {Shape{3, 1001}, kNaive | kCuda},
    {Shape{2, 1001}, kNaive | kCuda},
    {Shape{2, 96, 13, 13}, kNaive | kCuda},
    {Shape{2, 3, 5, 4}, kNaive | kGrad | kCuda},
    {Shape{3, 50}, kNaive | kGrad | kCuda},
    {Shape{2, 96, 55, 55}, kCuda},  // ZFNet relu1 at batch 2
};

constexpr ReluRule kRules[] = {ReluRule::Deconv, ReluRule::Guided, ReluRule::Backprop};

// Uniform inputs with exact zeros planted, since "x > 0" must treat 0 as inactive.
Tensor with_zeros(const Shape& s, Rng& g) {
  Tensor x = uniform(s, g);
  for (int64_t i = 0; i < x.numel(); i += 5) x.f32()[i] = 0.f;
  return x;
}

// ---- naive -------------------------------------------------------------------------------------

TEST(Relu, MatchesNaive) {
  Rng g(103);
  for (const ReluCase& t : kReluCases) {
    if (!(t.modes & kNaive)) continue;
    SCOPED_TRACE(t.s.str());
    Tensor x = with_zeros(t.s, g), dy = uniform(t.s, g);
    Tensor y = poisoned(t.s), dx = poisoned(t.s);
    relu_forward(y, x);
    EXPECT_TRUE(near(y, naive::relu_forward(naive::of(x)), 0));
    relu_backward(dx, dy, x);
    EXPECT_TRUE(near(dx, naive::relu_backward(naive::of(dy), naive::of(x)), 0));
  }
}

TEST(Relu, ProjectRulesMatchNaive) {
  Rng g(104);
  for (ReluRule rule : kRules) {
    for (const ReluCase& t : kReluCases) {
      if (!(t.modes & kNaive)) continue;
      SCOPED_TRACE(::testing::Message() << relu_rule_name(rule) << " " << t.s.str());
      Tensor r = with_zeros(t.s, g), x = with_zeros(t.s, g), out = poisoned(t.s);
      relu_project(out, r, x, rule);
      EXPECT_TRUE(near(out, naive::relu_project(naive::of(r), naive::of(x), rule), 0));
    }
  }
}

// The three rules on one hand-made example, so that the rules themselves (not only the agreement
// with naive.cpp) are pinned: signal r = [-2, 3, -4, 5] through a ReLU whose input x = [1, -1, 0,
// 2].
TEST(Relu, ProjectRulesByHand) {
  Tensor r(Shape{4}), x(Shape{4}), out;
  const float rv[] = {-2, 3, -4, 5}, xv[] = {1, -1, 0, 2};
  std::copy(rv, rv + 4, r.f32());
  std::copy(xv, xv + 4, x.f32());
  const float want[3][4] = {{0, 3, 0, 5}, {0, 0, 0, 5}, {-2, 0, 0, 5}};  // deconv, guided, backprop
  for (int k = 0; k < 3; ++k) {
    out = poisoned(Shape{4});
    relu_project(out, r, x, kRules[k]);
    for (int i = 0; i < 4; ++i)
      EXPECT_EQ(out.f32()[i], want[k][i]) << relu_rule_name(kRules[k]) << " " << i;
  }
}

// ---- finite differences: relu_backward, and relu_project's backprop rule (the plain gradient)
// ----

TEST(Relu, GradCheck) {
  Rng g(203);
  for (const ReluCase& t : kReluCases) {
    if (!(t.modes & kGrad)) continue;
    SCOPED_TRACE(t.s.str());
    Tensor x = away_from_zero(t.s, g, 0.1f, 1.f), y;
    relu_forward(y, x);
    Tensor r = uniform(y.shape(), g), dx, dp;
    relu_backward(dx, r, x);
    relu_project(dp, r, x, ReluRule::Backprop);
    auto objective = [&] {
      relu_forward(y, x);
      return dot(y, r);
    };
    EXPECT_TRUE(passes(grad_check(x, dx, objective, 1e-2, g, kElementwisePoints)))
        << "relu_backward";
    EXPECT_TRUE(passes(grad_check(x, dp, objective, 1e-2, g, kElementwisePoints)))
        << "relu_project backprop";
  }
}

// ---- CPU against CUDA: every rule exactly
// --------------------------------------------------------

TEST(ReluCuda, MatchesCpu) {
  ZF_REQUIRE_CUDA();
  Rng g(402);
  for (const ReluCase& t : kReluCases) {
    if (!(t.modes & kCuda)) continue;
    const Shape& s = t.s;
    SCOPED_TRACE(s.str());
    Tensor x = with_zeros(s, g), r = with_zeros(s, g);
    Tensor y = poisoned(s), yd = dev_poisoned(s);
    relu_forward(y, x);
    relu_forward(yd, dev(x));
    EXPECT_TRUE(matches(yd, y, 0)) << "relu_forward";
    Tensor dx = poisoned(s), dxd = dev_poisoned(s);
    relu_backward(dx, r, x);
    relu_backward(dxd, dev(r), dev(x));
    EXPECT_TRUE(matches(dxd, dx, 0)) << "relu_backward";
    for (ReluRule rule : kRules) {
      Tensor o = poisoned(s), od = dev_poisoned(s);
      relu_project(o, r, x, rule);
      relu_project(od, dev(r), dev(x), rule);
      EXPECT_TRUE(matches(od, o, 0)) << "relu_project " << relu_rule_name(rule);
    }
  }
}

// ---- bad input ---------------------------------------------------------------------------------

TEST(Relu, BadInput) {
  Tensor out, a = f32(Shape{2, 3, 4, 4}), b = f32(Shape{2, 3, 4, 5});
  EXPECT_ZF_ERROR(relu_backward(out, a, b), "relu_backward", "[2,3,4,4]", "[2,3,4,5]");
  EXPECT_ZF_ERROR(relu_project(out, a, b, ReluRule::Guided), "relu_project", "[2,3,4,4]",
                  "[2,3,4,5]");
  EXPECT_ZF_ERROR(relu_forward(out, Tensor()), "relu_forward", "[]");
  EXPECT_ZF_ERROR(parse_relu_rule("sideways"), "sideways");
}

}  // namespace
