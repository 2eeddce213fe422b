// The optim family's tests (sgd_update, renorm_filters, add_inplace, count_nonfinite: the ops no
// layer type names),
// in one place: the shapes are stated once (kOptimCases for the elementwise ops, kRenormCases for
// weights with filters on both sides of the radius) and run in the modes each row names
// (test_util.h): naive float64 loops and CPU against CUDA (these ops have no backward to check by
// finite differences); then the bad-input errors.
#include <gtest/gtest.h>

#include <cmath>

#include "core/ops.h"
#include "test_util.h"

using namespace zf;
using namespace tu;

namespace {

struct OptimCase {
  Shape s;
  unsigned modes;
};

const OptimCase kOptimCases[] = {
    {Shape{1}, kNaive | kCuda},
    {Shape{2, 3, 5, 7}, kNaive | kCuda},
    {Shape{4, 3, 3, 3}, kNaive | kCuda},
    {Shape{1001}, kNaive | kCuda},
    {Shape{3, 1001}, kNaive | kCuda},
    {Shape{64, 37}, kNaive | kCuda},
    {Shape{2, 96, 13, 13}, kNaive | kCuda},
    {Shape{96, 3, 7, 7}, kNaive | kCuda},  // conv1's weight
    {Shape{256, 96, 5, 5}, kCuda},         // conv2's weight
};

struct Hyper {
  float lr, momentum, decay;
};
const Hyper kHypers[] = {{0.01f, 0.9f, 5e-4f}, {0.5f, 0.f, 0.f}, {1e-3f, 0.99f, 0.1f}};

// Weights [filters, ...]; filter o is scaled to the RMS kTargetRms[o % 8], from far below to far
// above the radius.
const OptimCase kRenormCases[] = {
    {Shape{8, 3, 7, 7}, kNaive | kCuda}, {Shape{8, 16, 3, 3}, kNaive | kCuda},
    {Shape{8, 1, 1, 1}, kNaive | kCuda}, {Shape{96, 3, 7, 7}, kNaive | kCuda},
    {Shape{256, 96, 5, 5}, kCuda},       {Shape{1001}, kNaive | kCuda},
};
constexpr float kRadius = 0.1f;
constexpr double kTargetRms[8] = {0.01, 0.05, 0.0999, 0.1001, 0.2, 1.0, 10.0, 0.07};

double filter_rms(const Tensor& w, int64_t o) {
  const int64_t per = w.numel() / w.dim(0);
  double ss = 0;
  for (int64_t i = 0; i < per; ++i)
    ss += static_cast<double>(w.f32()[o * per + i]) * w.f32()[o * per + i];
  return std::sqrt(ss / per);
}

Tensor renorm_input(const Shape& s, Rng& g) {
  Tensor w = uniform(s, g);
  const int64_t per = s.numel() / s[0];
  for (int64_t o = 0; o < s[0]; ++o) {
    const double k = kTargetRms[o % 8] / filter_rms(w, o);
    for (int64_t i = 0; i < per; ++i)
      w.f32()[o * per + i] = static_cast<float>(w.f32()[o * per + i] * k);
  }
  return w;
}

// ---- naive -------------------------------------------------------------------------------------

TEST(Optim, SgdUpdateMatchesNaive) {
  Rng g(111);
  for (const OptimCase& t : kOptimCases) {
    if (!(t.modes & kNaive)) continue;
    for (const Hyper& h : kHypers) {
      SCOPED_TRACE(::testing::Message()
                   << t.s.str() << " lr " << h.lr << " m " << h.momentum << " wd " << h.decay);
      Tensor w = uniform(t.s, g), v = uniform(t.s, g, -0.1f, 0.1f), dw = uniform(t.s, g);
      naive::DT nw = naive::of(w), nv = naive::of(v);
      naive::sgd_update(nw, nv, naive::of(dw), h.lr, h.momentum, h.decay);
      sgd_update(w, v, dw, h.lr, h.momentum, h.decay);
      EXPECT_TRUE(near(w, nw, kElemTol)) << "weights";
      EXPECT_TRUE(near(v, nv, kElemTol)) << "momentum";
    }
  }
}

// Filters above the radius end at RMS r (same direction); those at or below are untouched bit for
// bit.
TEST(Optim, RenormFiltersMatchesNaive) {
  Rng g(112);
  for (const OptimCase& t : kRenormCases) {
    if (!(t.modes & kNaive)) continue;
    SCOPED_TRACE(t.s.str());
    Tensor w = renorm_input(t.s, g);
    naive::DT nw = naive::of(w);
    const Tensor before = w.clone();
    naive::renorm_filters(nw, kRadius);
    renorm_filters(w, kRadius);
    EXPECT_TRUE(near(w, nw, kElemTol));
    const int64_t per = t.s.numel() / t.s[0];
    for (int64_t o = 0; o < t.s[0]; ++o) {
      if (filter_rms(before, o) > kRadius) continue;
      for (int64_t i = 0; i < per; ++i)
        ASSERT_EQ(w.f32()[o * per + i], before.f32()[o * per + i])
            << "filter " << o << " was under the radius";
    }
  }
}

TEST(Optim, AddInplaceMatchesNaive) {
  Rng g(113);
  for (const OptimCase& t : kOptimCases) {
    if (!(t.modes & kNaive)) continue;
    SCOPED_TRACE(t.s.str());
    Tensor y = uniform(t.s, g), x = uniform(t.s, g);
    naive::DT ny = naive::of(y);
    naive::add_inplace(ny, naive::of(x));
    add_inplace(y, x);
    EXPECT_TRUE(near(y, ny, 1e-7));
  }
}

// Non-finite values planted at known places (NaN, +inf, -inf, and the largest finite float, which
// must not count), on every shape of the table; the count adds to what count already holds.
Tensor with_nonfinite(const Shape& s, Rng& g, int64_t* planted) {
  Tensor x = uniform(s, g);
  const float bad[] = {std::nanf(""), INFINITY, -INFINITY};
  *planted = 0;
  for (int64_t i = 0; i < x.numel(); i += 97) x.f32()[i] = bad[(*planted)++ % 3];
  if (x.numel() > 1) x.f32()[x.numel() - 1] = 3.4e38f;
  if (x.numel() > 1 && (x.numel() - 1) % 97 == 0) --*planted;
  return x;
}

TEST(Optim, CountNonfiniteMatchesNaive) {
  Rng g(117);
  for (const OptimCase& t : kOptimCases) {
    if (!(t.modes & kNaive)) continue;
    SCOPED_TRACE(t.s.str());
    int64_t planted = 0;
    const Tensor x = with_nonfinite(t.s, g, &planted);
    int64_t naive_count = 0;
    for (int64_t i = 0; i < x.numel(); ++i) naive_count += !std::isfinite(x.f32()[i]);
    ASSERT_EQ(naive_count, planted);
    Tensor count(Shape{1});
    count.f32()[0] = 2.f;
    count_nonfinite(count, x);
    EXPECT_EQ(count.f32()[0], 2.f + static_cast<float>(naive_count));
    count_nonfinite(count, uniform(t.s, g));
    EXPECT_EQ(count.f32()[0], 2.f + static_cast<float>(naive_count)) << "finite values count";
  }
}

// ---- CPU against CUDA --------------------------------------------------------------------------

TEST(OptimCuda, MatchesCpu) {
  ZF_REQUIRE_CUDA();
  Rng g(408);
  for (const OptimCase& t : kOptimCases) {
    if (!(t.modes & kCuda)) continue;
    const Shape& s = t.s;
    for (const Hyper& h : kHypers) {
      SCOPED_TRACE(::testing::Message()
                   << s.str() << " lr " << h.lr << " m " << h.momentum << " wd " << h.decay);
      Tensor w = uniform(s, g), v = uniform(s, g, -0.1f, 0.1f), dw = uniform(s, g);
      Tensor wd = dev(w), vd = dev(v);
      sgd_update(w, v, dw, h.lr, h.momentum, h.decay);
      sgd_update(wd, vd, dev(dw), h.lr, h.momentum, h.decay);
      EXPECT_TRUE(matches(wd, w)) << "sgd_update w";
      EXPECT_TRUE(matches(vd, v)) << "sgd_update v";
    }
    Tensor a = uniform(s, g), x = uniform(s, g), ad = dev(a);
    add_inplace(a, x);
    add_inplace(ad, dev(x));
    EXPECT_TRUE(matches(ad, a, 0)) << "add_inplace " << s.str();
  }
  for (const OptimCase& t : kOptimCases) {
    if (!(t.modes & kCuda)) continue;
    int64_t planted = 0;
    const Tensor x = with_nonfinite(t.s, g, &planted);
    Tensor count = Tensor::zeros(Shape{1}), countd = dev(count);
    count_nonfinite(count, x);
    count_nonfinite(countd, dev(x));
    count_nonfinite(countd, dev(x));  // adds
    EXPECT_EQ(countd.to(Device::CPU).f32()[0], 2.f * count.f32()[0]) << "count_nonfinite " << t.s.str();
  }
  for (const OptimCase& t : kRenormCases) {
    if (!(t.modes & kCuda)) continue;
    SCOPED_TRACE(t.s.str());
    Tensor f = renorm_input(t.s, g), fd = dev(f);
    renorm_filters(f, kRadius);
    renorm_filters(fd, kRadius);
    EXPECT_TRUE(matches(fd, f)) << "renorm_filters";
  }
}

// ---- bad input ---------------------------------------------------------------------------------

TEST(Optim, BadInput) {
  Tensor w = f32(Shape{4, 3, 3, 3}), v = f32(Shape{4, 3, 3, 3});
  EXPECT_ZF_ERROR(sgd_update(w, v, f32(Shape{4, 3, 3, 2}), 0.1f, 0.9f, 0.f), "sgd_update",
                  "[4,3,3,2]");
  Tensor v2 = f32(Shape{4, 27});
  EXPECT_ZF_ERROR(sgd_update(w, v2, f32(Shape{4, 3, 3, 3}), 0.1f, 0.9f, 0.f), "sgd_update",
                  "[4,27]");
  EXPECT_ZF_ERROR(renorm_filters(w, 0.f), "renorm_filters", "radius 0");
  EXPECT_ZF_ERROR(add_inplace(w, f32(Shape{4, 3, 3})), "add_inplace", "[4,3,3,3]", "[4,3,3]");
  Tensor two = f32(Shape{2});
  EXPECT_ZF_ERROR(count_nonfinite(two, w), "count_nonfinite", "[2]");
}

}  // namespace
