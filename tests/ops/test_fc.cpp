// The fc family's tests (fc_forward, fc_backward_data, fc_backward_weight), in one place: the cases
// are stated once in kFcCases and run in the modes each row names (test_util.h): naive float64
// loops, finite differences, CPU against CUDA (cuBLAS); then the bad-input errors. 4-d inputs are
// flattened to [N, in], and dx keeps the input's shape.
#include <gtest/gtest.h>

#include <cstring>
#include <ostream>

#include "core/cpu/cpu_ops.h"
#include "core/ops.h"
#include "test_util.h"

using namespace zf;
using namespace tu;

namespace {

struct FcCase {
  const char* name;
  Shape x;
  int64_t out;
  unsigned modes;
};

std::ostream& operator<<(std::ostream& os, const FcCase& t) {
  return os << t.name << ": x " << t.x.str() << " -> " << t.out;
}

const FcCase kFcCases[] = {
    {"single sample", Shape{1, 5}, 3, kNaive | kCuda},
    {"odd", Shape{3, 17}, 9, kNaive | kCuda},
    {"4-d input, flattened", Shape{2, 4, 3, 3}, 10, kNaive | kCuda},
    {"4-d input, odd", Shape{2, 5, 3, 3}, 7, kNaive | kCuda},
    {"wide", Shape{4, 1024}, 64, kNaive | kCuda},
    {"pool5-like input", Shape{2, 256, 3, 3}, 100, kNaive | kCuda},
    {"one feature, one output", Shape{5, 1}, 1, kNaive | kCuda},
    {"fc7-wide input", Shape{1, 4096}, 37, kNaive | kCuda},
    {"grad: 2-d", Shape{3, 11}, 5, kNaive | kGrad | kCuda},
    {"grad: 4-d", Shape{2, 3, 2, 2}, 5, kNaive | kGrad | kCuda},
    // ZFNet's real layers at batch 2
    {"fc6", Shape{2, 256, 6, 6}, 4096, kCuda},
    {"fc7", Shape{2, 4096}, 4096, kCuda},
    {"fc8", Shape{2, 4096}, 1000, kCuda},
    // (last, so that the cases above keep their random data) the thin-batch fast paths (>= 2^18
    // weights, <= 32 samples): odd sizes exercise their tails
    {"thin: odd batch, rows and columns", Shape{11, 1030}, 301, kNaive | kCuda},
    {"thin: 4-d input, batch 16", Shape{16, 64, 4, 4}, 260, kNaive | kCuda},
    {"thin: batch 32, 9 columns past the vectors", Shape{32, 1033}, 257, kNaive},
    {"thin: 16 columns past the 32-wide steps, then 3", Shape{7, 1043}, 259, kNaive | kCuda},
};

int64_t features(const FcCase& t) {
  return t.x.numel() / t.x[0];
}

// ---- naive -------------------------------------------------------------------------------------

TEST(Fc, MatchesNaive) {
  Rng g(107);
  for (const FcCase& t : kFcCases) {
    if (!(t.modes & kNaive)) continue;
    SCOPED_TRACE(::testing::Message() << t);
    const int64_t in = features(t);
    Tensor x = uniform(t.x, g), w = uniform(Shape{t.out, in}, g), b = uniform(Shape{t.out}, g);
    Tensor y = poisoned(Shape{t.x[0], t.out});
    fc_forward(y, x, w, b);
    EXPECT_TRUE(near(y, naive::fc_forward(naive::of(x), naive::of(w), naive::of(b)), kSumTol))
        << "fc_forward";

    Tensor dy = uniform(y.shape(), g);
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

// ---- finite differences ------------------------------------------------------------------------

TEST(Fc, GradCheck) {
  Rng g(207);
  for (const FcCase& t : kFcCases) {
    if (!(t.modes & kGrad)) continue;
    SCOPED_TRACE(::testing::Message() << t);
    Tensor x = uniform(t.x, g), w = uniform(Shape{t.out, features(t)}, g),
           b = uniform(Shape{t.out}, g), y;
    fc_forward(y, x, w, b);
    Tensor r = uniform(y.shape(), g), dx(t.x), dw, db;
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

// ---- the CPU fast paths against the CPU reference ---------------------------------------------

// The thin-batch paths (ZF_CPU_KERNELS=fast) against OpenBLAS (reference): y and dx to the rounding
// of a long sum taken in another order, dW to that of a sum of N <= 32 products (the thin path sums
// them in order; so did OpenBLAS on the Intel Xeons, bit for bit, but not on an AMD EPYC, where the
// "odd" case's dW differed in its last bits).
TEST(Fc, ThinMatchesReference) {
  Rng g(309);
  const FcCase cases[] = {{"fc7-like", Shape{16, 4096}, 1024, 0},
                          {"odd", Shape{13, 2055}, 517, 0},
                          {"fc6-like input at batch 5", Shape{5, 256, 6, 6}, 96, 0}};
  for (const FcCase& t : cases) {
    SCOPED_TRACE(::testing::Message() << t);
    Tensor x = uniform(t.x, g), w = uniform(Shape{t.out, features(t)}, g);
    Tensor dy = uniform(Shape{t.x[0], t.out}, g);
    Tensor dw = poisoned(w.shape()), db = poisoned(Shape{t.out}), dx = poisoned(t.x);
    Tensor rdw = poisoned(w.shape()), rdb = poisoned(Shape{t.out}), rdx = poisoned(t.x);
    const Tensor b = uniform(Shape{t.out}, g);
    Tensor y = poisoned(dy.shape()), ry = poisoned(dy.shape());
    cpu::set_reference_kernels(false);
    fc_forward(y, x, w, b);
    fc_backward_weight(dw, db, dy, x);
    fc_backward_data(dx, dy, w);
    cpu::set_reference_kernels(true);
    fc_forward(ry, x, w, b);
    fc_backward_weight(rdw, rdb, dy, x);
    fc_backward_data(rdx, dy, w);
    cpu::set_reference_kernels(false);
    EXPECT_TRUE(near(y, ry, 1e-5)) << "y";
    EXPECT_TRUE(near(dw, rdw, 1e-6)) << "dW";
    EXPECT_TRUE(near(db, rdb, 0)) << "db";
    EXPECT_TRUE(near(dx, rdx, 1e-5)) << "dx";
  }
}

// ---- CPU against CUDA --------------------------------------------------------------------------

// Against the CPU reference (OpenBLAS): the CPU's thin-batch paths sum in yet another order, and
// are compared with the reference above.
TEST(FcCuda, MatchesCpu) {
  ZF_REQUIRE_CUDA();
  ReferenceKernels reference;
  Rng g(405);
  for (const FcCase& t : kFcCases) {
    if (!(t.modes & kCuda)) continue;
    SCOPED_TRACE(::testing::Message() << t);
    Tensor x = uniform(t.x, g), w = uniform(Shape{t.out, features(t)}, g),
           b = uniform(Shape{t.out}, g);
    const Shape ys{t.x[0], t.out};
    Tensor y = poisoned(ys), yd = dev_poisoned(ys);
    fc_forward(y, x, w, b);
    fc_forward(yd, dev(x), dev(w), dev(b));
    EXPECT_TRUE(matches(yd, y)) << "fc_forward";

    Tensor dy = uniform(ys, g), dx = poisoned(t.x), dxd = dev_poisoned(t.x);
    fc_backward_data(dx, dy, w);
    fc_backward_data(dxd, dev(dy), dev(w));
    EXPECT_TRUE(matches(dxd, dx)) << "fc_backward_data";

    Tensor dw = poisoned(w.shape()), db = poisoned(b.shape());
    Tensor dwd = dev_poisoned(w.shape()), dbd = dev_poisoned(b.shape());
    fc_backward_weight(dw, db, dy, x);
    fc_backward_weight(dwd, dbd, dev(dy), dev(x));
    EXPECT_TRUE(matches(dwd, dw)) << "fc_backward_weight dw";
    EXPECT_TRUE(matches(dbd, db)) << "fc_backward_weight db";
  }
}

// ---- bad input ---------------------------------------------------------------------------------

TEST(Fc, BadInput) {
  Tensor y, dx, dw, db, x = f32(Shape{2, 10}), w = f32(Shape{3, 12}), b = f32(Shape{3});
  EXPECT_ZF_ERROR(fc_forward(y, x, w, b), "fc_forward", "[2,10]", "[3,12]");
  EXPECT_ZF_ERROR(fc_forward(y, f32(Shape{2, 12}), w, f32(Shape{4})), "fc_forward", "[4]");
  EXPECT_ZF_ERROR(fc_forward(y, f32(Shape{2, 12}), f32(Shape{3, 2, 6}), b), "fc_forward",
                  "[3,2,6]");
  EXPECT_ZF_ERROR(fc_backward_data(dx, f32(Shape{2, 4}), w), "fc_backward_data", "[2,4]", "[3,12]");
  EXPECT_ZF_ERROR(fc_backward_weight(dw, db, f32(Shape{3, 3}), f32(Shape{2, 12})),
                  "fc_backward_weight", "[3,3]", "[2,12]");
}

}  // namespace
