// The dropout family's tests (dropout_forward with its mask, dropout_backward), in one place: the
// cases are stated once in kDropoutCases and run in the modes each row names (test_util.h): naive
// float64 loops, finite differences, CPU against CUDA (masks exactly equal: both backends draw from
// the same Philox stream); then the mask's seeding and rate, and the bad-input errors.
#include <gtest/gtest.h>

#include <vector>

#include "core/ops.h"
#include "core/rng.h"
#include "test_util.h"

using namespace zf;
using namespace tu;

namespace {

struct DropoutCase {
  Shape s;
  std::vector<float> ps;  // drop probabilities, each run on the shape
  unsigned modes;
};

const DropoutCase kDropoutCases[] = {
    {Shape{1000}, {0.f, 0.5f, 0.9f}, kNaive | kCuda},
    {Shape{2, 4096}, {0.f, 0.5f, 0.9f}, kNaive | kCuda},
    {Shape{2, 3, 5, 7}, {0.f, 0.5f, 0.9f}, kNaive | kCuda},
    {Shape{1001}, {0.f, 0.5f, 0.9f}, kNaive | kCuda},
    {Shape{3, 5, 7, 9}, {0.f, 0.5f, 0.9f}, kNaive | kCuda},
    {Shape{4, 60}, {0.4f}, kNaive | kGrad | kCuda},
};

// ---- naive -------------------------------------------------------------------------------------

TEST(Dropout, MatchesNaive) {
  Rng g(108);
  for (const DropoutCase& t : kDropoutCases) {
    if (!(t.modes & kNaive)) continue;
    const Shape& s = t.s;
    for (float p : t.ps) {
      SCOPED_TRACE(::testing::Message() << s.str() << " p " << p);
      const uint64_t seed = g(), stream = g() % 1000;
      Tensor x = uniform(s, g), y = poisoned(s), mask = poisoned(s);
      dropout_forward(y, mask, x, p, seed, stream);
      naive::DT ny, nmask;
      naive::dropout_forward(ny, nmask, naive::of(x), p, seed, stream);
      EXPECT_TRUE(near(mask, nmask, kElemTol)) << "mask";
      EXPECT_TRUE(near(y, ny, kElemTol)) << "y";
      Tensor dy = uniform(s, g), dx = poisoned(s);
      dropout_backward(dx, dy, mask);
      EXPECT_TRUE(near(dx, naive::dropout_backward(naive::of(dy), nmask), kElemTol))
          << "dropout_backward";
    }
  }
}

// A slice of a batch drawn with `first` = its first element's index in the batch gets that part of
// the whole batch's mask (a data-parallel rank's samples: train/comm.h), at every alignment of the
// counters' blocks of four.
TEST(Dropout, SliceDrawsItsPartOfTheBatchMask) {
  Rng g(110);
  const int64_t n = 4099;
  Tensor x = uniform(Shape{n}, g), y, whole;
  dropout_forward(y, whole, x, 0.5f, 17, 3);
  for (int64_t lo : {0, 1, 2, 3, 4, 5, 1000, 2047}) {
    for (int64_t len : {1, 2, 3, 5, 8, 1031}) {
      if (lo + len > n) continue;
      Tensor part = uniform(Shape{len}, g), py, pm;
      for (int64_t i = 0; i < len; ++i) part.f32()[i] = x.f32()[lo + i];
      dropout_forward(py, pm, part, 0.5f, 17, 3, static_cast<uint64_t>(lo));
      for (int64_t i = 0; i < len; ++i) {
        ASSERT_EQ(pm.f32()[i], whole.f32()[lo + i])
            << "first " << lo << " length " << len << " element " << i;
        ASSERT_EQ(py.f32()[i], y.f32()[lo + i]);
      }
    }
  }
}

// Counters and streams past 32 bits (their high words are Philox's second and fourth counter
// words): each element's mask is rng_uniform's draw of its counter, as the CUDA kernel draws it.
TEST(Dropout, MaskFollowsRngUniformPast32Bits) {
  Rng g(111);
  const uint64_t seed = g(), stream = (uint64_t{1} << 33) + 7, first = (uint64_t{1} << 34) + 5;
  const float p = 0.5f;
  Tensor x = uniform(Shape{3, 37}, g), y, mask;
  dropout_forward(y, mask, x, p, seed, stream, first);
  int64_t kept = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const float want = rng_uniform(seed, stream, first + i) >= p ? 1.f / (1.f - p) : 0.f;
    ASSERT_EQ(mask.f32()[i], want) << "element " << i;
    ASSERT_EQ(y.f32()[i], x.f32()[i] * want) << "element " << i;
    kept += want != 0.f;
  }
  EXPECT_GT(kept, 0);
  EXPECT_LT(kept, x.numel());
}

// The mask is a function of (seed, stream, index): the same call twice gives the same mask, another
// stream another mask, and the kept fraction is about 1 - p.
TEST(Dropout, MaskIsSeededAndHasTheRightRate) {
  Rng g(109);
  const Shape s{4, 5000};
  Tensor x = uniform(s, g), y, m1, m2, m3;
  dropout_forward(y, m1, x, 0.3f, 42, 7);
  dropout_forward(y, m2, x, 0.3f, 42, 7);
  dropout_forward(y, m3, x, 0.3f, 42, 8);
  EXPECT_TRUE(near(m1, m2, 0));
  int64_t kept = 0, differ = 0;
  for (int64_t i = 0; i < s.numel(); ++i) {
    kept += m1.f32()[i] != 0;
    differ += m1.f32()[i] != m3.f32()[i];
  }
  EXPECT_NEAR(static_cast<double>(kept) / s.numel(), 0.7, 0.015);
  EXPECT_GT(differ, s.numel() / 5);  // independent masks differ in ~42% of the elements
}

// ---- finite differences ------------------------------------------------------------------------

TEST(Dropout, GradCheck) {
  Rng g(208);
  for (const DropoutCase& t : kDropoutCases) {
    if (!(t.modes & kGrad)) continue;
    for (float p : t.ps) {
      SCOPED_TRACE(::testing::Message() << t.s.str() << " p " << p);
      Tensor x = uniform(t.s, g), y, mask;
      dropout_forward(y, mask, x, p, 1234, 5);
      Tensor r = uniform(y.shape(), g), dx;
      dropout_backward(dx, r, mask);
      auto objective = [&] {
        dropout_forward(y, mask, x, p, 1234, 5);  // same seed and stream: the same mask
        return dot(y, r);
      };
      EXPECT_TRUE(passes(grad_check(x, dx, objective, 1e-2, g, kElementwisePoints)));
    }
  }
}

// ---- CPU against CUDA --------------------------------------------------------------------------

TEST(DropoutCuda, MatchesCpu) {
  ZF_REQUIRE_CUDA();
  Rng g(406);
  for (const DropoutCase& t : kDropoutCases) {
    if (!(t.modes & kCuda)) continue;
    const Shape& s = t.s;
    for (float p : t.ps) {
      SCOPED_TRACE(::testing::Message() << s.str() << " p " << p);
      const uint64_t seed = g(), stream = g() % 100;
      Tensor x = uniform(s, g);
      Tensor y = poisoned(s), m = poisoned(s), yd = dev_poisoned(s), md = dev_poisoned(s);
      dropout_forward(y, m, x, p, seed, stream);
      dropout_forward(yd, md, dev(x), p, seed, stream);
      EXPECT_TRUE(matches(md, m, 0)) << "mask";  // the same RNG on both backends: identical masks
      EXPECT_TRUE(matches(yd, y, 0)) << "y";
      Tensor dy = uniform(s, g), dx = poisoned(s), dxd = dev_poisoned(s);
      dropout_backward(dx, dy, m);
      dropout_backward(dxd, dev(dy), dev(m));
      EXPECT_TRUE(matches(dxd, dx, 0)) << "dropout_backward";
    }
  }
}

// ---- bad input ---------------------------------------------------------------------------------

TEST(Dropout, BadInput) {
  Tensor y, mask, dx, x = f32(Shape{2, 5});
  EXPECT_ZF_ERROR(dropout_forward(y, mask, x, 1.f, 1, 0), "dropout_forward", "p = 1");
  EXPECT_ZF_ERROR(dropout_forward(y, mask, x, -0.1f, 1, 0), "dropout_forward", "p = -0.1");
  EXPECT_ZF_ERROR(dropout_backward(dx, x, f32(Shape{2, 6})), "dropout_backward", "[2,5]", "[2,6]");
}

}  // namespace
