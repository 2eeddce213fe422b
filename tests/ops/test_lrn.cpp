// The lrn family's tests (lrn_forward with its saved scale, lrn_backward), in one place: the cases
// are stated once in kLrnCases and run in the modes each row names (test_util.h): naive float64
// loops, finite differences, CPU against CUDA; then the bad-input errors. Amplitudes are large
// enough that the cross-channel sum matters next to k.
#include <gtest/gtest.h>

#include <ostream>

#include "core/ops.h"
#include "test_util.h"

using namespace zf;
using namespace tu;

namespace {

struct LrnCase {
  const char* name;
  Shape x;
  LrnParams p;
  float amplitude;  // inputs uniform in [-amplitude, amplitude)
  double h;         // finite-difference step (kGrad rows)
  unsigned modes;
};

std::ostream& operator<<(std::ostream& os, const LrnCase& t) {
  return os << t.name << ": x " << t.x.str() << " size " << t.p.size << " alpha " << t.p.alpha
            << " beta " << t.p.beta << " k " << t.p.k << " amplitude " << t.amplitude;
}

const LrnParams kPaper{5, 1e-4f, 0.75f, 2.f};

const LrnCase kLrnCases[] = {
    {"the paper's defaults on conv-sized values", Shape{2, 7, 5, 5}, kPaper, 100.f, 0,
     kNaive | kCuda},
    {"window wider than the channels", Shape{1, 3, 4, 4}, kPaper, 150.f, 0, kNaive | kCuda},
    {"one channel", Shape{1, 1, 3, 3}, kPaper, 150.f, 0, kNaive | kCuda},
    {"size 3", Shape{2, 16, 6, 6}, LrnParams{3, 1e-2f, 0.5f, 1.f}, 5.f, 0, kNaive | kCuda},
    {"ZFNet norm1 channels", Shape{1, 96, 5, 5}, kPaper, 100.f, 0, kNaive | kCuda},
    {"size 1: only the channel itself", Shape{1, 8, 3, 3}, LrnParams{1, 0.5f, 0.75f, 1.f}, 2.f, 0,
     kNaive | kCuda},
    {"window as wide as the channels", Shape{1, 9, 2, 3}, LrnParams{9, 1.f, 0.75f, 1.f}, 1.f, 0,
     kNaive | kCuda},
    {"strong normalization", Shape{2, 12, 3, 2}, LrnParams{7, 2.f, 1.5f, 0.5f}, 1.f, 0,
     kNaive | kCuda},
    {"odd, window wider than channels", Shape{2, 3, 5, 7}, kPaper, 150.f, 0, kNaive | kCuda},
    {"size 3 strong", Shape{1, 10, 4, 3}, LrnParams{3, 1.f, 0.75f, 1.f}, 1.f, 0, kNaive | kCuda},
    {"size 1, beta 1.5", Shape{1, 6, 3, 3}, LrnParams{1, 0.5f, 1.5f, 1.f}, 2.f, 0, kNaive | kCuda},
    // more positions than the CPU backward's blocks of 256: two blocks per image, the last partial
    {"planes of 17 x 19", Shape{2, 9, 17, 19}, kPaper, 100.f, 0, kNaive | kCuda},
    // finite differences: strong alpha, so that the cross-channel terms are a large part of the
    // gradient; and the paper's parameters on conv-sized inputs (~100), where the sum term is
    // comparable to k
    {"grad: strong alpha", Shape{2, 7, 3, 3}, LrnParams{5, 2.f, 0.75f, 1.f}, 1.5f, 1e-2,
     kNaive | kGrad | kCuda},
    {"grad: size 3, beta 1.25", Shape{1, 4, 2, 3}, LrnParams{3, 1.f, 1.25f, 0.5f}, 1.f, 1e-2,
     kNaive | kGrad | kCuda},
    {"grad: the paper's, conv-sized", Shape{1, 6, 3, 2}, kPaper, 100.f, 0.1,
     kNaive | kGrad | kCuda},
    // ZFNet's real layers at batch 2
    {"norm1", Shape{2, 96, 55, 55}, LrnParams{}, 100.f, 0, kCuda},
    {"norm2", Shape{2, 256, 13, 13}, LrnParams{}, 100.f, 0, kCuda},
};

Tensor lrn_input(const LrnCase& t, Rng& g) {
  return uniform(t.x, g, -t.amplitude, t.amplitude);
}

// ---- naive -------------------------------------------------------------------------------------

TEST(Lrn, MatchesNaive) {
  Rng g(106);
  for (const LrnCase& t : kLrnCases) {
    if (!(t.modes & kNaive)) continue;
    SCOPED_TRACE(::testing::Message() << t);
    Tensor x = lrn_input(t, g);
    naive::DT ny, nscale;
    naive::lrn_forward(ny, nscale, naive::of(x), t.p.size, t.p.alpha, t.p.beta, t.p.k);
    Tensor y = poisoned(x.shape()), scale = poisoned(x.shape());
    lrn_forward(y, scale, x, t.p);
    EXPECT_TRUE(near(y, ny, 2e-5)) << "lrn_forward y";
    EXPECT_TRUE(near(scale, nscale, 2e-5)) << "lrn_forward scale";

    Tensor dy = uniform(x.shape(), g), dx = poisoned(x.shape());
    lrn_backward(dx, dy, x, y, scale, t.p);
    EXPECT_TRUE(near(
        dx, naive::lrn_backward(naive::of(dy), naive::of(x), t.p.size, t.p.alpha, t.p.beta, t.p.k),
        1e-4))
        << "lrn_backward";
  }
}

// ---- finite differences ------------------------------------------------------------------------

TEST(Lrn, GradCheck) {
  Rng g(206);
  for (const LrnCase& t : kLrnCases) {
    if (!(t.modes & kGrad)) continue;
    SCOPED_TRACE(::testing::Message() << t);
    Tensor x = lrn_input(t, g), y, scale;
    lrn_forward(y, scale, x, t.p);
    Tensor r = uniform(y.shape(), g), dx;
    lrn_backward(dx, r, x, y, scale, t.p);
    auto objective = [&] {
      Tensor yy, ss;
      lrn_forward(yy, ss, x, t.p);
      return dot(yy, r);
    };
    EXPECT_TRUE(passes(grad_check(x, dx, objective, t.h, g)));
  }
}

// ---- CPU against CUDA --------------------------------------------------------------------------

TEST(LrnCuda, MatchesCpu) {
  ZF_REQUIRE_CUDA();
  Rng g(404);
  for (const LrnCase& t : kLrnCases) {
    if (!(t.modes & kCuda)) continue;
    SCOPED_TRACE(::testing::Message() << t);
    Tensor x = lrn_input(t, g);
    Tensor y = poisoned(t.x), s = poisoned(t.x), yd = dev_poisoned(t.x), sd = dev_poisoned(t.x);
    lrn_forward(y, s, x, t.p);
    lrn_forward(yd, sd, dev(x), t.p);
    EXPECT_TRUE(matches(yd, y)) << "lrn_forward y";
    EXPECT_TRUE(matches(sd, s)) << "lrn_forward scale";
    Tensor dy = uniform(t.x, g), dx = poisoned(t.x), dxd = dev_poisoned(t.x);
    lrn_backward(dx, dy, x, y, s, t.p);
    lrn_backward(dxd, dev(dy), dev(x), dev(y), dev(s), t.p);
    EXPECT_TRUE(matches(dxd, dx)) << "lrn_backward";
  }
}

// ---- bad input ---------------------------------------------------------------------------------

TEST(Lrn, BadInput) {
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

}  // namespace
