// The softmax_loss family's tests (softmax_forward, softmax_loss_forward with its device-side loss
// and top-1 count, softmax_loss_backward), in one place: the cases are stated once (kLossCases for
// the values, kTieCases for the top-1 count where labels tie other classes) and run in the modes
// each row names (test_util.h): naive float64 loops, finite differences, CPU against CUDA; then the
// bad-input errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/ops.h"
#include "test_util.h"

using namespace zf;
using namespace tu;

namespace {

struct LossCase {
  Shape s;                  // logits [N, K]
  float amplitude, offset;  // logits uniform in offset + [-amplitude, amplitude)
  unsigned modes;
};

const LossCase kLossCases[] = {
    {Shape{1, 1}, 1.f, 0.f, kNaive | kCuda},  // a single class: probability 1, loss 0
    {Shape{4, 10}, 3.f, 0.f, kNaive | kCuda},
    {Shape{3, 1000}, 10.f, 0.f, kNaive | kCuda},  // fc8-sized
    {Shape{2, 7}, 30.f, 1000.f, kNaive | kCuda},  // exp(1000) overflows float: subtract the max
    {Shape{5, 3}, 80.f, -500.f, kNaive | kCuda},  // nearly one-hot probabilities
    {Shape{2, 1000}, 10.f, 0.f, kNaive | kCuda},
    {Shape{3, 7}, 3.f, 0.f, kNaive | kCuda},
    {Shape{5, 13}, 40.f, 1000.f, kNaive | kCuda},
    {Shape{2, 5}, 2.f, 0.f, kNaive | kGrad | kCuda},
    {Shape{3, 10}, 2.f, 0.f, kNaive | kGrad | kCuda},
    {Shape{1, 2}, 2.f, 0.f, kNaive | kGrad | kCuda},
};

// Few distinct logits, and in every third sample the label shares the row's maximum with another
// class: the top-1 count depends on the tie rule (ties count for the label).
struct TieCase {
  Shape s;
  unsigned modes;
};

const TieCase kTieCases[] = {
    {Shape{64, 10}, kNaive | kCuda},   {Shape{7, 3}, kNaive | kCuda},
    {Shape{33, 1000}, kNaive | kCuda}, {Shape{5, 1}, kNaive | kCuda},
    {Shape{300, 7}, kNaive | kCuda},   {Shape{9, 1000}, kNaive | kCuda},
};

Tensor loss_logits(const LossCase& t, Rng& g) {
  return uniform(t.s, g, t.offset - t.amplitude, t.offset + t.amplitude);
}

Tensor tied_logits(const Shape& s, const Tensor& lab, Rng& g) {
  const int64_t n = s[0], k = s[1];
  Tensor logits = quantized(s, g, {-1.5f, -0.5f, 0.f, 0.25f, 2.f});
  for (int64_t i = 0; i < n; i += 3) {
    float* z = logits.f32() + i * k;
    const float mx = *std::max_element(z, z + k);
    z[lab.i32()[i]] = mx;
    z[(lab.i32()[i] + 1) % k] = mx;
  }
  return logits;
}

// Samples whose label no class beats (ties count for the label), counted on the naive
// probabilities.
int64_t naive_top1_hits(const naive::DT& prob, const std::vector<int32_t>& labels) {
  const int64_t N = prob.shape[0], K = prob.shape[1];
  int64_t hits = 0;
  for (int64_t n = 0; n < N; ++n) {
    int64_t above = 0;
    for (int64_t k = 0; k < K; ++k) above += prob.v[n * K + k] > prob.v[n * K + labels[n]];
    hits += above == 0;
  }
  return hits;
}

// ---- naive -------------------------------------------------------------------------------------

TEST(SoftmaxLoss, MatchesNaive) {
  Rng g(110);
  for (const LossCase& t : kLossCases) {
    if (!(t.modes & kNaive)) continue;
    SCOPED_TRACE(::testing::Message()
                 << t.s.str() << " amplitude " << t.amplitude << " offset " << t.offset);
    Tensor logits = loss_logits(t, g);
    Tensor lab = labels(t.s[0], static_cast<int>(t.s[1]), g);
    naive::DT nprob;
    const double nloss = naive::softmax_loss_forward(nprob, naive::of(logits), naive::ints(lab));
    Tensor prob = poisoned(logits.shape()), stats = poisoned(Shape{2});
    softmax_loss_forward(prob, stats, logits, lab);
    const float loss = stats.f32()[0];
    EXPECT_TRUE(near(prob, nprob, 1e-5)) << "probabilities";
    EXPECT_TRUE(std::isfinite(loss));
    EXPECT_NEAR(loss, nloss, 1e-5 * std::max(1.0, std::fabs(nloss))) << "loss";
    // The probabilities alone are the same bits.
    Tensor alone = poisoned(logits.shape());
    softmax_forward(alone, logits);
    EXPECT_TRUE(near(alone, prob, 0)) << "softmax_forward";
    EXPECT_TRUE(near(alone, nprob, 1e-5)) << "softmax_forward vs naive";

    Tensor d = poisoned(logits.shape());
    softmax_loss_backward(d, prob, lab);
    EXPECT_TRUE(near(d, naive::softmax_loss_backward(naive::of(prob), naive::ints(lab)), kElemTol))
        << "softmax_loss_backward";
  }
}

TEST(SoftmaxLoss, CountsTop1HitsWithTiesForTheLabel) {
  Rng g(111);
  for (const TieCase& t : kTieCases) {
    if (!(t.modes & kNaive)) continue;
    const int64_t n = t.s[0], k = t.s[1];
    SCOPED_TRACE(t.s.str());
    Tensor lab = labels(n, static_cast<int>(k), g);
    Tensor logits = tied_logits(t.s, lab, g);
    naive::DT nprob;
    naive::softmax_loss_forward(nprob, naive::of(logits), naive::ints(lab));
    const int64_t want = naive_top1_hits(nprob, naive::ints(lab));
    EXPECT_GT(want, n / 3 - 1);
    if (k >= 10) {
      EXPECT_LT(want, n);  // and some miss
    }
    Tensor prob, stats = poisoned(Shape{2});
    softmax_loss_forward(prob, stats, logits, lab);
    EXPECT_EQ(stats.f32()[1], static_cast<float>(want));
  }
}

// ---- finite differences: the objective is the loss itself ---------------------------------------

TEST(SoftmaxLoss, GradCheck) {
  Rng g(209);
  for (const LossCase& t : kLossCases) {
    if (!(t.modes & kGrad)) continue;
    const Shape& s = t.s;
    SCOPED_TRACE(s.str());
    Tensor logits = loss_logits(t, g), prob;
    Tensor lab = labels(s[0], static_cast<int>(s[1]), g);
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

// ---- CPU against CUDA --------------------------------------------------------------------------

TEST(SoftmaxLossCuda, MatchesCpu) {
  ZF_REQUIRE_CUDA();
  Rng g(407);
  for (const LossCase& t : kLossCases) {
    if (!(t.modes & kCuda)) continue;
    SCOPED_TRACE(t.s.str());
    Tensor logits = loss_logits(t, g);
    Tensor lab = labels(t.s[0], static_cast<int>(t.s[1]), g);
    Tensor prob = poisoned(t.s), probd = dev_poisoned(t.s);
    Tensor stats = poisoned(Shape{2}), statsd = dev_poisoned(Shape{2});
    softmax_loss_forward(prob, stats, logits, lab);
    softmax_loss_forward(probd, statsd, dev(logits), dev(lab));
    EXPECT_TRUE(matches(probd, prob)) << "probabilities";
    ASSERT_EQ(statsd.device(), Device::CUDA);
    const Tensor got = statsd.to(Device::CPU);
    EXPECT_TRUE(near(got.f32()[0], stats.f32()[0], kCudaTol)) << "loss";
    EXPECT_EQ(got.f32()[1], stats.f32()[1]) << "top-1 hits";
    Tensor alone = dev_poisoned(t.s);
    softmax_forward(alone, dev(logits));
    EXPECT_TRUE(matches(alone, prob)) << "softmax_forward";
    Tensor d = poisoned(t.s), dd = dev_poisoned(t.s);
    softmax_loss_backward(d, prob, lab);
    softmax_loss_backward(dd, dev(prob), dev(lab));
    EXPECT_TRUE(matches(dd, d)) << "softmax_loss_backward";
  }
}

TEST(SoftmaxLossCuda, Top1HitsWithTiesMatchCpu) {
  ZF_REQUIRE_CUDA();
  Rng g(409);
  for (const TieCase& t : kTieCases) {
    if (!(t.modes & kCuda)) continue;
    const int64_t n = t.s[0], k = t.s[1];
    SCOPED_TRACE(t.s.str());
    Tensor lab = labels(n, static_cast<int>(k), g);
    Tensor logits = tied_logits(t.s, lab, g);
    Tensor prob, stats, probd, statsd = dev_poisoned(Shape{2});
    softmax_loss_forward(prob, stats, logits, lab);
    softmax_loss_forward(probd, statsd, dev(logits), dev(lab));
    const Tensor got = statsd.to(Device::CPU);
    EXPECT_GE(stats.f32()[1], static_cast<float>((n + 2) / 3));
    if (k >= 7) {
      EXPECT_LT(stats.f32()[1], static_cast<float>(n));  // and some miss
    }
    EXPECT_EQ(got.f32()[1], stats.f32()[1]) << "top-1 hits";
    EXPECT_TRUE(near(got.f32()[0], stats.f32()[0], kCudaTol)) << "loss";
  }
}

// ---- bad input ---------------------------------------------------------------------------------

TEST(SoftmaxLoss, BadInput) {
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

}  // namespace
