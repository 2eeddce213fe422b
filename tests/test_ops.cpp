// Every CPU op against its naive float64 loop (naive.cpp) on fresh seeded random inputs, over
// tables of shapes: odd sizes, padding, stride 2 and 3, 1x1 and 7x7 kernels, batch 1 and > 1,
// ZFNet-like channel counts at small spatial size. Max-pooling is checked on inputs with planted
// ties and partial border windows, and its switches must match exactly. Every output is poisoned
// (NaN, or an impossible switch) before the op runs, so an element the op does not write fails.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

#include "core/ops.h"
#include "naive.h"
#include "test_util.h"

using namespace zf;
using tu::near;
using tu::poisoned;

namespace {

// float32 sums of up to a few thousand products against float64: 1e-4 of the typical magnitude.
constexpr double kSumTol = 1e-4;
// Elementwise ops do one or two float operations per element.
constexpr double kElemTol = 1e-6;

// ---- convolution
// -----------------------------------------------------------------------------------------

struct ConvCase {
  int64_t n, c, h, w, out;
  int kernel, stride, pad;
};

std::ostream& operator<<(std::ostream& os, const ConvCase& t) {
  return os << "x [" << t.n << "," << t.c << "," << t.h << "," << t.w << "] -> " << t.out
            << " filters " << t.kernel << "x" << t.kernel << " stride " << t.stride << " pad "
            << t.pad;
}

const ConvCase kConvCases[] = {
    {1, 3, 7, 7, 4, 3, 1, 1},      // 3x3 "same"
    {2, 3, 9, 11, 5, 3, 2, 1},     // odd, non-square, stride 2, padded
    {2, 4, 8, 8, 6, 1, 1, 0},      // 1x1
    {1, 4, 6, 5, 3, 1, 2, 0},      // 1x1 stride 2
    {1, 3, 17, 15, 4, 7, 2, 1},    // conv1's 7x7/2 pad 1 on a small odd image
    {2, 5, 12, 13, 3, 5, 2, 0},    // conv2's 5x5/2 without padding
    {1, 2, 5, 5, 3, 5, 1, 2},      // kernel as large as the input, heavily padded
    {3, 2, 6, 7, 2, 3, 3, 0},      // stride 3: trailing rows/columns never read
    {1, 2, 10, 9, 3, 2, 3, 1},     // even kernel, stride > kernel
    {2, 3, 1, 1, 4, 1, 1, 0},      // 1x1 input
    {1, 2, 1, 1, 3, 3, 1, 1},      // 1x1 input, only the kernel's centre sees data
    {1, 96, 7, 7, 16, 5, 2, 0},    // ZFNet conv2-like channel counts at small size
    {1, 256, 5, 5, 24, 3, 1, 1},   // conv3-like
    {2, 32, 4, 4, 384, 3, 1, 1},   // many filters
    {1, 384, 3, 3, 256, 3, 1, 1},  // conv5-like
};

TEST(Ops, Conv2dForwardAndBackwardMatchNaive) {
  tu::Rng g(101);
  for (const ConvCase& t : kConvCases) {
    SCOPED_TRACE(::testing::Message() << t);
    ConvParams p{t.kernel, t.stride, t.pad};
    Tensor x = tu::uniform(Shape{t.n, t.c, t.h, t.w}, g);
    Tensor w = tu::uniform(Shape{t.out, t.c, t.kernel, t.kernel}, g);
    Tensor b = tu::uniform(Shape{t.out}, g);
    const naive::DT ny =
        naive::conv_forward(naive::of(x), naive::of(w), naive::of(b), t.stride, t.pad);

    Tensor y = poisoned(ny.shape);
    conv_forward(y, x, w, b, p);
    EXPECT_TRUE(near(y, ny, kSumTol)) << "conv_forward";

    Tensor dy = tu::uniform(ny.shape, g);
    Tensor dx = poisoned(x.shape());
    conv_backward_data(dx, dy, w, p);
    EXPECT_TRUE(near(
        dx, naive::conv_backward_data(naive::of(dy), naive::of(w), x.shape(), t.stride, t.pad),
        kSumTol))
        << "conv_backward_data";

    Tensor dw = poisoned(w.shape()), db = poisoned(b.shape());
    conv_backward_weight(dw, db, dy, x, p);
    naive::DT ndw, ndb;
    naive::conv_backward_weight(ndw, ndb, naive::of(dy), naive::of(x), t.kernel, t.stride, t.pad);
    EXPECT_TRUE(near(dw, ndw, kSumTol)) << "conv_backward_weight dw";
    EXPECT_TRUE(near(db, ndb, kSumTol)) << "conv_backward_weight db";
  }
}

// Outputs that arrive empty, or larger than needed from an earlier call, are shaped by the op.
TEST(Ops, Conv2dShapesItsOutputs) {
  tu::Rng g(102);
  ConvParams p{3, 2, 1};
  Tensor x = tu::uniform(Shape{2, 3, 9, 8}, g), w = tu::uniform(Shape{4, 3, 3, 3}, g);
  Tensor b = tu::uniform(Shape{4}, g);
  const naive::DT ny = naive::conv_forward(naive::of(x), naive::of(w), naive::of(b), 2, 1);
  Tensor empty;
  conv_forward(empty, x, w, b, p);
  EXPECT_TRUE(near(empty, ny, kSumTol));
  Tensor big = poisoned(Shape{3, 4, 10, 10});
  conv_forward(big, x, w, b, p);
  EXPECT_TRUE(near(big, ny, kSumTol));
  Tensor dw, db;  // backward_weight shapes dw and db too
  conv_backward_weight(dw, db, tu::uniform(ny.shape, g), x, p);
  EXPECT_EQ(dw.shape(), w.shape());
  EXPECT_EQ(db.shape(), b.shape());
}

// ---- rectification
// ---------------------------------------------------------------------------------------

// Uniform inputs with exact zeros planted, since "x > 0" must treat 0 as inactive.
Tensor with_zeros(const Shape& s, tu::Rng& g) {
  Tensor x = tu::uniform(s, g);
  for (int64_t i = 0; i < x.numel(); i += 7) x.f32()[i] = 0.f;
  return x;
}

const Shape kElemShapes[] = {Shape{1}, Shape{2, 3, 5, 7}, Shape{3, 1001}, Shape{2, 96, 13, 13}};

TEST(Ops, ReluForwardBackwardMatchNaive) {
  tu::Rng g(103);
  for (const Shape& s : kElemShapes) {
    SCOPED_TRACE(s.str());
    Tensor x = with_zeros(s, g), dy = tu::uniform(s, g);
    Tensor y = poisoned(s), dx = poisoned(s);
    relu_forward(y, x);
    EXPECT_TRUE(near(y, naive::relu_forward(naive::of(x)), 0));
    relu_backward(dx, dy, x);
    EXPECT_TRUE(near(dx, naive::relu_backward(naive::of(dy), naive::of(x)), 0));
  }
}

TEST(Ops, ReluProjectRulesMatchNaive) {
  tu::Rng g(104);
  for (ReluRule rule : {ReluRule::Deconv, ReluRule::Guided, ReluRule::Backprop}) {
    for (const Shape& s : kElemShapes) {
      SCOPED_TRACE(::testing::Message() << relu_rule_name(rule) << " " << s.str());
      Tensor r = with_zeros(s, g), x = with_zeros(s, g), out = poisoned(s);
      relu_project(out, r, x, rule);
      EXPECT_TRUE(near(out, naive::relu_project(naive::of(r), naive::of(x), rule), 0));
    }
  }
}

// The three rules on one hand-made example, so that the rules themselves (not only the agreement
// with naive.cpp) are pinned: signal r = [-2, 3, -4, 5] through a ReLU whose input x = [1, -1, 0,
// 2].
TEST(Ops, ReluProjectRulesByHand) {
  Tensor r(Shape{4}), x(Shape{4}), out;
  const float rv[] = {-2, 3, -4, 5}, xv[] = {1, -1, 0, 2};
  std::copy(rv, rv + 4, r.f32());
  std::copy(xv, xv + 4, x.f32());
  const float want[3][4] = {{0, 3, 0, 5}, {0, 0, 0, 5}, {-2, 0, 0, 5}};  // deconv, guided, backprop
  const ReluRule rules[3] = {ReluRule::Deconv, ReluRule::Guided, ReluRule::Backprop};
  for (int k = 0; k < 3; ++k) {
    out = poisoned(Shape{4});
    relu_project(out, r, x, rules[k]);
    for (int i = 0; i < 4; ++i)
      EXPECT_EQ(out.f32()[i], want[k][i]) << relu_rule_name(rules[k]) << " " << i;
  }
}

// ---- max-pooling
// -------------------------------------------------------------------------------------------

enum class Fill { Uniform, Ties, Constant };

struct PoolCase {
  int64_t n, c, h, w;
  int kernel, stride;
  Fill fill;
};

std::ostream& operator<<(std::ostream& os, const PoolCase& t) {
  return os << "x [" << t.n << "," << t.c << "," << t.h << "," << t.w << "] pool " << t.kernel
            << "/" << t.stride << " fill " << static_cast<int>(t.fill);
}

const PoolCase kPoolCases[] = {
    {2, 3, 8, 8, 3, 2, Fill::Ties},     // ceil mode: the last window is 2 wide (clipped)
    {1, 4, 7, 9, 3, 2, Fill::Ties},     // odd, non-square; exact fit in H, clipped in W
    {2, 2, 6, 6, 2, 3, Fill::Ties},     // stride > kernel: Caffe's "last window starts inside" rule
    {1, 3, 5, 7, 1, 3, Fill::Uniform},  // kernel 1, stride 3: ceil would add a window past the end
    {1, 2, 13, 13, 3, 2, Fill::Ties},   // ZFNet pool5 13 -> 6
    {2, 5, 11, 10, 3, 1, Fill::Ties},   // stride 1: heavy overlap
    {1, 1, 3, 3, 3, 2, Fill::Ties},     // one window covering the whole input
    {1, 2, 4, 4, 3, 3, Fill::Uniform},  // last window a single row/column
    {1, 16, 26, 26, 3, 2, Fill::Ties},  // ZFNet pool2 26 -> 13
    {1, 3, 110, 110, 3, 2, Fill::Ties},   // ZFNet pool1 110 -> 55
    {2, 3, 9, 9, 3, 2, Fill::Constant},   // every element tied: the window's first element wins
    {1, 2, 10, 11, 4, 2, Fill::Uniform},  // even kernel
    {2, 6, 15, 14, 3, 2, Fill::Uniform},
};

Tensor pool_input(const PoolCase& t, tu::Rng& g) {
  Shape s{t.n, t.c, t.h, t.w};
  switch (t.fill) {
    case Fill::Uniform:
      return tu::uniform(s, g);
    case Fill::Ties:
      return tu::quantized(s, g, {-1.5f, -0.5f, 0.5f, 1.5f});
    case Fill::Constant:
      return tu::quantized(s, g, {0.75f});
  }
  return Tensor();
}

// Outputs in the same plane sharing a switch: the case where backward and unpool must add.
int64_t shared_switches(const Tensor& sw) {
  int64_t shared = 0, plane = sw.h() * sw.w();
  for (int64_t p = 0; p < sw.n() * sw.c(); ++p) {
    std::set<int32_t> seen;
    for (int64_t i = 0; i < plane; ++i)
      if (!seen.insert(sw.i32()[p * plane + i]).second) ++shared;
  }
  return shared;
}

TEST(Ops, MaxpoolForwardBackwardUnpoolMatchNaive) {
  tu::Rng g(105);
  int64_t shared_total = 0;
  for (const PoolCase& t : kPoolCases) {
    SCOPED_TRACE(::testing::Message() << t);
    PoolParams p{t.kernel, t.stride};
    Tensor x = pool_input(t, g);
    naive::DT ny;
    std::vector<int32_t> nsw;
    naive::maxpool_forward(ny, nsw, naive::of(x), t.kernel, t.stride);

    Tensor y = poisoned(ny.shape), sw = poisoned(ny.shape, Device::CPU, DType::I32);
    maxpool_forward(y, sw, x, p);
    EXPECT_TRUE(near(y, ny, 0)) << "maxpool_forward values";
    EXPECT_TRUE(tu::same_ints(sw, nsw)) << "maxpool_forward switches";
    shared_total += shared_switches(sw);

    Tensor dy = tu::uniform(ny.shape, g);
    const naive::DT want = naive::maxpool_backward(naive::of(dy), nsw, x.shape());
    Tensor dx = poisoned(x.shape());
    maxpool_backward(dx, dy, sw, p);
    EXPECT_TRUE(near(dx, want, kElemTol)) << "maxpool_backward";
    Tensor up = poisoned(x.shape());
    unpool_forward(up, dy, sw, p);
    EXPECT_TRUE(near(up, want, kElemTol)) << "unpool_forward";
  }
  // The tie planting must actually make overlapping windows share maxima, or the sums went
  // untested.
  EXPECT_GT(shared_total, 50);
}

// A 4x4 plane pooled 3/2 in ceil mode, worked out by hand: windows rows/cols [0,3) and [2,4).
//   1 5 5 2     window (0,0): max 5, first at (0,1) -> 1     window (0,1): 5 at (0,2) -> 2
//   5 0 3 5     window (1,0): 6 at (3,2) -> 14               window (1,1): 6 at (3,2) -> 14
//   (shared, 4 5 1 1     even though (3,3) is also 6: the first maximum in row-major order wins) 2
//   2 6 6
TEST(Ops, MaxpoolByHand) {
  const float xv[16] = {1, 5, 5, 2, 5, 0, 3, 5, 4, 5, 1, 1, 2, 2, 6, 6};
  Tensor x(Shape{1, 1, 4, 4});
  std::copy(xv, xv + 16, x.f32());
  Tensor y = poisoned(Shape{1, 1, 2, 2}), sw = poisoned(Shape{1, 1, 2, 2}, Device::CPU, DType::I32);
  maxpool_forward(y, sw, x, PoolParams{3, 2});
  ASSERT_EQ(y.shape(), (Shape{1, 1, 2, 2}));
  const float ymax[4] = {5, 5, 6, 6};
  const int32_t sws[4] = {1, 2, 14, 14};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(y.f32()[i], ymax[i]) << i;
    EXPECT_EQ(sw.i32()[i], sws[i]) << i;
  }
  Tensor dy(Shape{1, 1, 2, 2});
  const float dyv[4] = {1, 2, 3, 4};
  std::copy(dyv, dyv + 4, dy.f32());
  Tensor dx = poisoned(x.shape());
  maxpool_backward(dx, dy, sw, PoolParams{3, 2});
  for (int i = 0; i < 16; ++i) {
    const float want = i == 1 ? 1.f : i == 2 ? 2.f : i == 14 ? 7.f : 0.f;
    EXPECT_EQ(dx.f32()[i], want) << i;
  }
}

// ---- LRN
// ---------------------------------------------------------------------------------------------------

struct LrnCase {
  int64_t n, c, h, w;
  LrnParams p;
  float amplitude;  // inputs uniform in [-amplitude, amplitude): large enough that the sum term
                    // matters
};

const LrnCase kLrnCases[] = {
    {2, 7, 5, 5, LrnParams{5, 1e-4f, 0.75f, 2.f},
     100.f},  // the paper's defaults on conv-sized values
    {1, 3, 4, 4, LrnParams{5, 1e-4f, 0.75f, 2.f}, 150.f},  // window wider than the channels
    {1, 1, 3, 3, LrnParams{5, 1e-4f, 0.75f, 2.f}, 150.f},  // one channel
    {2, 16, 6, 6, LrnParams{3, 1e-2f, 0.5f, 1.f}, 5.f},
    {1, 96, 5, 5, LrnParams{5, 1e-4f, 0.75f, 2.f}, 100.f},  // ZFNet norm1 channels
    {1, 8, 3, 3, LrnParams{1, 0.5f, 0.75f, 1.f}, 2.f},      // size 1: only the channel itself
    {1, 9, 2, 3, LrnParams{9, 1.f, 0.75f, 1.f}, 1.f},       // window as wide as the channels
    {2, 12, 3, 2, LrnParams{7, 2.f, 1.5f, 0.5f}, 1.f},      // strong normalization
};

TEST(Ops, LrnForwardBackwardMatchNaive) {
  tu::Rng g(106);
  for (const LrnCase& t : kLrnCases) {
    SCOPED_TRACE(::testing::Message()
                 << "x [" << t.n << "," << t.c << "," << t.h << "," << t.w << "] size " << t.p.size
                 << " alpha " << t.p.alpha << " beta " << t.p.beta << " k " << t.p.k);
    Tensor x = tu::uniform(Shape{t.n, t.c, t.h, t.w}, g, -t.amplitude, t.amplitude);
    naive::DT ny, nscale;
    naive::lrn_forward(ny, nscale, naive::of(x), t.p.size, t.p.alpha, t.p.beta, t.p.k);
    Tensor y = poisoned(x.shape()), scale = poisoned(x.shape());
    lrn_forward(y, scale, x, t.p);
    EXPECT_TRUE(near(y, ny, 2e-5)) << "lrn_forward y";
    EXPECT_TRUE(near(scale, nscale, 2e-5)) << "lrn_forward scale";

    Tensor dy = tu::uniform(x.shape(), g), dx = poisoned(x.shape());
    lrn_backward(dx, dy, x, y, scale, t.p);
    EXPECT_TRUE(near(
        dx, naive::lrn_backward(naive::of(dy), naive::of(x), t.p.size, t.p.alpha, t.p.beta, t.p.k),
        1e-4))
        << "lrn_backward";
  }
}

// ---- fully connected
// ---------------------------------------------------------------------------------------

struct FcCase {
  Shape x;
  int64_t out;
};

const FcCase kFcCases[] = {
    {Shape{1, 5}, 3},        {Shape{3, 17}, 9},
    {Shape{2, 4, 3, 3}, 10},                              // 4-d input, flattened
    {Shape{4, 1024}, 64},    {Shape{2, 256, 3, 3}, 100},  // pool5-like input
    {Shape{5, 1}, 1},        {Shape{1, 4096}, 37},
};

TEST(Ops, FcForwardBackwardMatchNaive) {
  tu::Rng g(107);
  for (const FcCase& t : kFcCases) {
    SCOPED_TRACE(::testing::Message() << "x " << t.x.str() << " -> " << t.out);
    const int64_t in = t.x.numel() / t.x[0];
    Tensor x = tu::uniform(t.x, g), w = tu::uniform(Shape{t.out, in}, g),
           b = tu::uniform(Shape{t.out}, g);
    Tensor y = poisoned(Shape{t.x[0], t.out});
    fc_forward(y, x, w, b);
    EXPECT_TRUE(near(y, naive::fc_forward(naive::of(x), naive::of(w), naive::of(b)), kSumTol))
        << "fc_forward";

    Tensor dy = tu::uniform(y.shape(), g);
    const naive::DT ndx = naive::fc_backward_data(naive::of(dy), naive::of(w), t.x);
    Tensor dx = poisoned(t.x);  // shaped as x: must keep that shape
    fc_backward_data(dx, dy, w);
    EXPECT_TRUE(near(dx, ndx, kSumTol)) << "fc_backward_data";
    Tensor flat;  // unshaped: becomes [N, in]
    fc_backward_data(flat, dy, w);
    EXPECT_EQ(flat.shape(), (Shape{t.x[0], in}));

    Tensor dw = poisoned(w.shape()), db = poisoned(b.shape());
    fc_backward_weight(dw, db, dy, x);
    naive::DT ndw, ndb;
    naive::fc_backward_weight(ndw, ndb, naive::of(dy), naive::of(x));
    EXPECT_TRUE(near(dw, ndw, kSumTol)) << "fc_backward_weight dw";
    EXPECT_TRUE(near(db, ndb, kSumTol)) << "fc_backward_weight db";
  }
}

// ---- dropout
// -----------------------------------------------------------------------------------------------

TEST(Ops, DropoutMatchesNaive) {
  tu::Rng g(108);
  const Shape shapes[] = {Shape{1000}, Shape{2, 4096}, Shape{2, 3, 5, 7}};
  for (const Shape& s : shapes)
    for (float p : {0.f, 0.5f, 0.9f}) {
      SCOPED_TRACE(::testing::Message() << s.str() << " p " << p);
      const uint64_t seed = g(), stream = g() % 1000;
      Tensor x = tu::uniform(s, g), y = poisoned(s), mask = poisoned(s);
      dropout_forward(y, mask, x, p, seed, stream);
      naive::DT ny, nmask;
      naive::dropout_forward(ny, nmask, naive::of(x), p, seed, stream);
      EXPECT_TRUE(near(mask, nmask, kElemTol)) << "mask";
      EXPECT_TRUE(near(y, ny, kElemTol)) << "y";
      Tensor dy = tu::uniform(s, g), dx = poisoned(s);
      dropout_backward(dx, dy, mask);
      EXPECT_TRUE(near(dx, naive::dropout_backward(naive::of(dy), nmask), kElemTol))
          << "dropout_backward";
    }
}

// The mask is a function of (seed, stream, index): the same call twice gives the same mask, another
// stream another mask, and the kept fraction is about 1 - p.
TEST(Ops, DropoutMaskIsSeededAndHasTheRightRate) {
  tu::Rng g(109);
  const Shape s{4, 5000};
  Tensor x = tu::uniform(s, g), y, m1, m2, m3;
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

// ---- softmax cross-entropy
// ---------------------------------------------------------------------------------

struct XentCase {
  int64_t n, k;
  float amplitude, offset;  // logits uniform in offset + [-amplitude, amplitude)
};

const XentCase kXentCases[] = {
    {1, 1, 1.f, 0.f},                            // a single class: probability 1, loss 0
    {4, 10, 3.f, 0.f},    {3, 1000, 10.f, 0.f},  // fc8-sized
    {2, 7, 30.f, 1000.f},  // exp(1000) overflows float: the max must be subtracted
    {5, 3, 80.f, -500.f},  // nearly one-hot probabilities
};

TEST(Ops, SoftmaxXentMatchesNaive) {
  tu::Rng g(110);
  for (const XentCase& t : kXentCases) {
    SCOPED_TRACE(::testing::Message() << "[" << t.n << "," << t.k << "] amplitude " << t.amplitude
                                      << " offset " << t.offset);
    Tensor logits = tu::uniform(Shape{t.n, t.k}, g, t.offset - t.amplitude, t.offset + t.amplitude);
    Tensor lab = tu::labels(t.n, static_cast<int>(t.k), g);
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

TEST(Ops, SoftmaxXentCountsTop1HitsWithTiesForTheLabel) {
  tu::Rng g(111);
  for (const auto& [n, k] : {std::pair<int64_t, int64_t>{64, 10}, {7, 3}, {33, 1000}, {5, 1}}) {
    SCOPED_TRACE(::testing::Message() << "[" << n << "," << k << "]");
    // Few distinct logits: many samples tie the label with another class, some beat it.
    Tensor logits = tu::quantized(Shape{n, k}, g, {-1.5f, -0.5f, 0.f, 0.25f, 2.f});
    Tensor lab = tu::labels(n, static_cast<int>(k), g);
    // Plant ties at the top: in every third sample, the label's logit equals the row's maximum
    // and another class shares it.
    for (int64_t i = 0; i < n; i += 3) {
      float* z = logits.f32() + i * k;
      const float mx = *std::max_element(z, z + k);
      z[lab.i32()[i]] = mx;
      z[(lab.i32()[i] + 1) % k] = mx;
    }
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

// ---- optimization and misc
// ---------------------------------------------------------------------------------

TEST(Ops, SgdUpdateMatchesNaive) {
  tu::Rng g(111);
  struct Hyper {
    float lr, momentum, decay;
  };
  for (const Shape& s : {Shape{4, 3, 3, 3}, Shape{1001}, Shape{64, 37}})
    for (Hyper h : {Hyper{0.01f, 0.9f, 5e-4f}, Hyper{0.5f, 0.f, 0.f}, Hyper{1e-3f, 0.99f, 0.1f}}) {
      SCOPED_TRACE(::testing::Message()
                   << s.str() << " lr " << h.lr << " m " << h.momentum << " wd " << h.decay);
      Tensor w = tu::uniform(s, g), v = tu::uniform(s, g, -0.1f, 0.1f), dw = tu::uniform(s, g);
      naive::DT nw = naive::of(w), nv = naive::of(v);
      naive::sgd_update(nw, nv, naive::of(dw), h.lr, h.momentum, h.decay);
      sgd_update(w, v, dw, h.lr, h.momentum, h.decay);
      EXPECT_TRUE(near(w, nw, kElemTol)) << "weights";
      EXPECT_TRUE(near(v, nv, kElemTol)) << "momentum";
    }
}

// Filters of a conv weight at RMS from far below to far above the radius; those above end at RMS r
// (same direction), those at or below are untouched bit for bit.
TEST(Ops, RenormFiltersMatchesNaive) {
  tu::Rng g(112);
  const float radius = 0.1f;
  const double target_rms[] = {0.01, 0.05, 0.0999, 0.1001, 0.2, 1.0, 10.0, 0.07};
  const int64_t O = 8;
  for (const Shape& s : {Shape{O, 3, 7, 7}, Shape{O, 16, 3, 3}, Shape{O, 1, 1, 1}}) {
    SCOPED_TRACE(s.str());
    Tensor w = tu::uniform(s, g);
    const int64_t per = s.numel() / O;
    for (int64_t o = 0; o < O; ++o) {
      double ss = 0;
      for (int64_t i = 0; i < per; ++i)
        ss += static_cast<double>(w.f32()[o * per + i]) * w.f32()[o * per + i];
      const double k = target_rms[o] / std::sqrt(ss / per);
      for (int64_t i = 0; i < per; ++i)
        w.f32()[o * per + i] = static_cast<float>(w.f32()[o * per + i] * k);
    }
    naive::DT nw = naive::of(w);
    const Tensor before = w.clone();
    naive::renorm_filters(nw, radius);
    renorm_filters(w, radius);
    EXPECT_TRUE(near(w, nw, kElemTol));
    for (int64_t o = 0; o < O; ++o) {
      double ss = 0;
      for (int64_t i = 0; i < per; ++i)
        ss += static_cast<double>(before.f32()[o * per + i]) * before.f32()[o * per + i];
      if (std::sqrt(ss / per) > radius) continue;
      for (int64_t i = 0; i < per; ++i)
        ASSERT_EQ(w.f32()[o * per + i], before.f32()[o * per + i])
            << "filter " << o << " was under the radius";
    }
  }
}

TEST(Ops, AddInplaceMatchesNaive) {
  tu::Rng g(113);
  for (const Shape& s : kElemShapes) {
    SCOPED_TRACE(s.str());
    Tensor y = tu::uniform(s, g), x = tu::uniform(s, g);
    naive::DT ny = naive::of(y);
    naive::add_inplace(ny, naive::of(x));
    add_inplace(y, x);
    EXPECT_TRUE(near(y, ny, 1e-7));
  }
}

}  // namespace
