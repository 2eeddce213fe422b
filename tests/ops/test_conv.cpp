// The conv family's tests (conv_forward, conv_backward_data, conv_backward_weight), in one place:
// every case is stated once in kConvCases and run in the modes its row names (test_util.h): the CPU
// op against the naive float64 loop, finite differences of the CPU forward, and the CUDA op against
// the CPU op; then the bad-input errors. Outputs are poisoned before every call.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <iterator>
#include <numeric>
#include <ostream>
#include <string>
#include <vector>

#include "core/context.h"
#include "core/cpu/cpu_ops.h"
#include "core/cpu/winograd.h"
#include "core/ops.h"
#include "cuda/conv_tiles.h"
#include "test_util.h"

using namespace zf;
using namespace tu;

namespace {

struct ConvCase {
  const char* name;
  Shape x;
  int64_t out;  // filters
  ConvParams p;
  unsigned modes;
};

std::ostream& operator<<(std::ostream& os, const ConvCase& t) {
  return os << t.name << ": x " << t.x.str() << " -> " << t.out << " filters " << t.p.kernel << "x"
            << t.p.kernel << " stride " << t.p.stride << " pad " << t.p.pad;
}

const ConvCase kConvCases[] = {
    {"3x3 same", Shape{1, 3, 7, 7}, 4, ConvParams{3, 1, 1}, kNaive | kCuda},
    {"odd non-square, stride 2, padded", Shape{2, 3, 9, 11}, 5, ConvParams{3, 2, 1},
     kNaive | kCuda},
    {"1x1", Shape{2, 4, 8, 8}, 6, ConvParams{1, 1, 0}, kNaive | kCuda},
    {"1x1 stride 2", Shape{1, 4, 6, 5}, 3, ConvParams{1, 2, 0}, kNaive | kCuda},
    {"conv1's 7x7/2 pad 1, small odd image", Shape{1, 3, 17, 15}, 4, ConvParams{7, 2, 1},
     kNaive | kCuda},
    {"conv2's 5x5/2 unpadded", Shape{2, 5, 12, 13}, 3, ConvParams{5, 2, 0}, kNaive | kCuda},
    {"kernel as large as the input, heavily padded", Shape{1, 2, 5, 5}, 3, ConvParams{5, 1, 2},
     kNaive | kCuda},
    {"stride 3: trailing rows/columns never read", Shape{3, 2, 6, 7}, 2, ConvParams{3, 3, 0},
     kNaive | kCuda},
    {"even kernel, stride > kernel", Shape{1, 2, 10, 9}, 3, ConvParams{2, 3, 1}, kNaive | kCuda},
    {"1x1 input, 1x1 kernel", Shape{2, 3, 1, 1}, 4, ConvParams{1, 1, 0}, kNaive | kCuda},
    {"1x1 input, only the kernel's centre sees data", Shape{1, 2, 1, 1}, 3, ConvParams{3, 1, 1},
     kNaive | kCuda},
    {"1x1 input, 3x3 kernel, batch 2", Shape{2, 3, 1, 1}, 4, ConvParams{3, 1, 1}, kNaive | kCuda},
    {"1x1, odd", Shape{2, 4, 8, 7}, 6, ConvParams{1, 1, 0}, kNaive | kCuda},
    {"5x5/2 odd, batch 3", Shape{3, 5, 12, 13}, 3, ConvParams{5, 2, 0}, kNaive | kCuda},
    {"conv2-like channel counts, small", Shape{1, 96, 7, 7}, 16, ConvParams{5, 2, 0},
     kNaive | kCuda},
    {"conv3-like", Shape{1, 256, 5, 5}, 24, ConvParams{3, 1, 1}, kNaive | kCuda},
    {"many filters", Shape{2, 32, 4, 4}, 384, ConvParams{3, 1, 1}, kNaive | kCuda},
    {"conv5-like", Shape{1, 384, 3, 3}, 256, ConvParams{3, 1, 1}, kNaive | kCuda},
    // small enough for finite differences
    {"grad: odd, stride 2, padded", Shape{2, 3, 7, 6}, 4, ConvParams{3, 2, 1},
     kNaive | kGrad | kCuda},
    {"grad: conv2-like", Shape{1, 2, 9, 9}, 3, ConvParams{5, 2, 0}, kNaive | kGrad | kCuda},
    {"grad: 1x1", Shape{2, 4, 5, 5}, 3, ConvParams{1, 1, 0}, kNaive | kGrad | kCuda},
    {"grad: conv1-like 7x7", Shape{1, 2, 8, 7}, 2, ConvParams{7, 2, 1}, kNaive | kGrad | kCuda},
    // ZFNet's real layers at batch 2
    {"conv1", Shape{2, 3, 224, 224}, 96, ConvParams{7, 2, 1}, kCuda},
    {"conv2", Shape{2, 96, 55, 55}, 256, ConvParams{5, 2, 0}, kCuda},
    {"conv3", Shape{2, 256, 13, 13}, 384, ConvParams{3, 1, 1}, kCuda},
    {"conv4", Shape{2, 384, 13, 13}, 384, ConvParams{3, 1, 1}, kCuda},
    {"conv5", Shape{2, 384, 13, 13}, 256, ConvParams{3, 1, 1}, kCuda},
    // (last, so that the cases above keep their random data) the CUDA tiles' edges (128 rows and
    // columns): a partial second tile of channels and of filters, and stride phases of dx wider
    // than a tile
    {"a tile and a bit of channels and filters, stride 2", Shape{2, 131, 9, 10}, 133,
     ConvParams{3, 2, 1}, kNaive | kCuda},
    {"stride-2 phases wider than a tile", Shape{2, 3, 31, 29}, 5, ConvParams{3, 2, 1},
     kNaive | kCuda},
    // (last again) the tile shapes (cuda/conv_tiles.h): 96 filters and channels fill 96-row tiles
    // exactly; 200 of them take 128-row tiles, the second one partial (ConvCuda.CasesCoverTiles)
    {"96 channels and filters", Shape{2, 96, 8, 8}, 96, ConvParams{3, 1, 1}, kNaive | kCuda},
    {"200 channels and filters: 128-row tiles, partial", Shape{1, 200, 10, 10}, 200,
     ConvParams{3, 1, 1}, kNaive | kCuda},
};

Shape weight_shape(const ConvCase& t) {
  return Shape{t.out, t.x[1], t.p.kernel, t.p.kernel};
}

// Whether the fast path runs any of a case's three products by Winograd's transforms
// (core/cpu/winograd.h).
bool winograd(const ConvCase& t) {
  const Shape y = conv_output_shape(t.x, t.out, t.p);
  const int k = t.p.kernel, s = t.p.stride, p = t.p.pad;
  return cpu::winograd::applies(k, s, p, static_cast<int>(y[2]), static_cast<int>(y[3])) ||
         cpu::winograd::applies(k, s, 2 - p, static_cast<int>(t.x[2]), static_cast<int>(t.x[3])) ||
         cpu::winograd::applies_5x5_stride2(k, s, static_cast<int>(y[2]), static_cast<int>(y[3]),
                                            false);
}

// Winograd's transforms on planes of any size, for a scope.
struct AllPlanesWinograd {
  AllPlanesWinograd() : before(cpu::winograd::min_tiles()) { cpu::winograd::set_min_tiles(1); }
  ~AllPlanesWinograd() { cpu::winograd::set_min_tiles(before); }
  int before;
};

// cpu::winograd::tiles_4x4 set for a scope.
struct Tiles4x4 {
  explicit Tiles4x4(bool on) : before(cpu::winograd::tiles_4x4()) {
    cpu::winograd::set_tiles_4x4(on);
  }
  ~Tiles4x4() { cpu::winograd::set_tiles_4x4(before); }
  bool before;
};

// ---- naive -------------------------------------------------------------------------------------

// The three ops on case t against the float64 loops.
void expect_matches_naive(const ConvCase& t, Rng& g) {
  const int s = t.p.stride, pad = t.p.pad;
  Tensor x = uniform(t.x, g), w = uniform(weight_shape(t), g), b = uniform(Shape{t.out}, g);
  const naive::DT ny = naive::conv_forward(naive::of(x), naive::of(w), naive::of(b), s, pad);

  Tensor y = poisoned(ny.shape);
  conv_forward(y, x, w, b, t.p);
  EXPECT_TRUE(near(y, ny, kSumTol)) << "conv_forward";

  Tensor dy = uniform(ny.shape, g);
  Tensor dx = poisoned(x.shape());
  conv_backward_data(dx, dy, w, t.p);
  EXPECT_TRUE(near(dx, naive::conv_backward_data(naive::of(dy), naive::of(w), x.shape(), s, pad),
                   kSumTol))
      << "conv_backward_data";

  Tensor dw = poisoned(w.shape()), db = poisoned(b.shape());
  conv_backward_weight(dw, db, dy, x, t.p);
  naive::DT ndw, ndb;
  naive::conv_backward_weight(ndw, ndb, naive::of(dy), naive::of(x), t.p.kernel, s, pad);
  EXPECT_TRUE(near(dw, ndw, kSumTol)) << "conv_backward_weight dw";
  EXPECT_TRUE(near(db, ndb, kSumTol)) << "conv_backward_weight db";
}

// The backward ops on case t against finite differences of <conv_forward(x, w, b), r>.
void expect_gradients_check(const ConvCase& t, Rng& g) {
  Tensor x = uniform(t.x, g), w = uniform(weight_shape(t), g);
  Tensor b = uniform(Shape{t.out}, g), y;
  conv_forward(y, x, w, b, t.p);
  Tensor r = uniform(y.shape(), g);
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

TEST(Conv, MatchesNaive) {
  Rng g(101);
  for (const ConvCase& t : kConvCases) {
    if (!(t.modes & kNaive)) continue;
    SCOPED_TRACE(::testing::Message() << t);
    expect_matches_naive(t, g);
  }
}

// Winograd's transforms take 3x3 stride-1 convolutions with 0 <= pad <= 2 on planes of at least
// 32 tiles: ZFNet's 13x13 planes (49), not Fashion-MNIST's 8x8 (16).
TEST(Conv, WinogradTakesLargePlanesOnly) {
  EXPECT_TRUE(cpu::winograd::applies(3, 1, 1, 13, 13));
  EXPECT_TRUE(cpu::winograd::applies(3, 1, 0, 11, 11));
  EXPECT_FALSE(cpu::winograd::applies(3, 1, 1, 8, 8));
  EXPECT_FALSE(cpu::winograd::applies(3, 2, 1, 13, 13));
  EXPECT_FALSE(cpu::winograd::applies(5, 1, 2, 13, 13));
  EXPECT_FALSE(cpu::winograd::applies(3, 1, 3, 13, 13));
  // Batch-variant (training): down to 4 tiles, several images a product.
  EXPECT_TRUE(cpu::winograd::applies(3, 1, 1, 8, 8, true));
  EXPECT_TRUE(cpu::winograd::applies(3, 1, 1, 3, 4, true));
  EXPECT_FALSE(cpu::winograd::applies(3, 1, 1, 2, 3, true));
}

// The fast path's Winograd F(2x2, 3x3) (3x3 kernels at stride 1, core/cpu/winograd.h) against the
// float64 loops: every padding it takes (0, 1, 2; the input gradient filters with padding 2 - p),
// odd and even planes (a partial last tile or not), planes smaller than a tile, and ZFNet's conv3
// and conv5 at batch 1 (2304- and 3456-term sums); then finite differences on the small ones.
TEST(Conv, WinogradMatchesNaive) {
  Rng g(109);
  const ConvCase cases[] = {
      {"pad 0, even", Shape{2, 3, 8, 10}, 5, ConvParams{3, 1, 0}, 0},
      {"pad 1, odd", Shape{2, 4, 9, 7}, 6, ConvParams{3, 1, 1}, 0},
      {"batch 9: weight gradient chunks, the last partial", Shape{9, 4, 9, 7}, 6,
       ConvParams{3, 1, 1}, 0},
      {"pad 2, odd", Shape{1, 3, 5, 6}, 2, ConvParams{3, 1, 2}, 0},
      {"3x3 input, pad 0: one output", Shape{2, 2, 3, 3}, 3, ConvParams{3, 1, 0}, 0},
      {"2x1 input, pad 1", Shape{1, 5, 2, 1}, 4, ConvParams{3, 1, 1}, 0},
      {"ZFNet conv3", Shape{1, 256, 13, 13}, 384, ConvParams{3, 1, 1}, 0},
      {"ZFNet conv5", Shape{1, 384, 13, 13}, 256, ConvParams{3, 1, 1}, 0},
  };
  const AllPlanesWinograd all;
  for (const ConvCase& t : cases) {
    SCOPED_TRACE(::testing::Message() << t);
    ASSERT_TRUE(winograd(t));
    expect_matches_naive(t, g);
    if (t.x.numel() <= 1000) expect_gradients_check(t, g);
  }
}

// With Context::batch_invariant false (the trainer's setting), the 3x3 convolutions and their
// input gradients on planes of 16 tiles of 4x4 run by F(4x4, 3x3) (tiles_4x4 on: each case both
// ways), planes under 32 tiles of 2x2 by F(2x2, 3x3) with several images a product (about 128
// tiles: Fashion-MNIST's 8x8 planes 8 images, 9x7 ones 7); the weight gradient's reduction over as
// many; the 5x5 stride-1 convolutions and their input
// gradients by F(2x2, 5x5): against the float64 loops, with groups whole, partial and balanced over
// the threads, then finite differences.
TEST(Conv, WinogradBatchedMatchesNaive) {
  Rng g(110);
  const ConvCase cases[] = {
      {"batch 9 of 9x7 planes (20 tiles): groups of 7 and 2", Shape{9, 4, 9, 7}, 6,
       ConvParams{3, 1, 1}, 0},
      {"batch 17 of Fashion's conv3 (16 tiles): groups of 8, 8 and 1", Shape{17, 64, 8, 8}, 96,
       ConvParams{3, 1, 1}, 0},
      {"pad 0, batch 3", Shape{3, 3, 10, 12}, 5, ConvParams{3, 1, 0}, 0},
      {"pad 2, batch 4", Shape{4, 2, 5, 6}, 3, ConvParams{3, 1, 2}, 0},
      {"batch 9 of 13x13 planes: 16 tiles of 4x4, clipped; groups balanced (5 and 4)",
       Shape{9, 16, 13, 13}, 24, ConvParams{3, 1, 1}, 0},
      {"ZFNet conv4 at batch 2: sums of 3456 products", Shape{2, 384, 13, 13}, 384,
       ConvParams{3, 1, 1}, 0},
      // F(2x2, 5x5): its input gradient pads by 4 - p
      {"5x5: Fashion's conv2, batch 5 (64 tiles): groups of 2, 2 and 1", Shape{5, 32, 16, 16}, 64,
       ConvParams{5, 1, 2}, 0},
      {"5x5, pad 0, odd planes", Shape{3, 3, 9, 11}, 4, ConvParams{5, 1, 0}, 0},
      {"5x5, pad 4, batch 2", Shape{2, 2, 3, 4}, 3, ConvParams{5, 1, 4}, 0},
      {"5x5, pad 1, batch 7 of 7x6 planes", Shape{7, 2, 7, 6}, 2, ConvParams{5, 1, 1}, 0},
  };
  ASSERT_TRUE(context(Device::CPU).batch_invariant) << "the default";
  ASSERT_TRUE(cpu::winograd::tiles_4x4()) << "the default";
  const ScopedBatchInvariance batched(false);
  for (const ConvCase& t : cases)
    for (bool f4 : {true, false}) {
      const Tiles4x4 tiles(f4);
      // F(2x2, 5x5) either way; the 13x13 planes by F(2x2, 3x3): WinogradMatchesNaive
      if (!f4 && (t.p.kernel != 3 || t.x[1] == 384)) continue;
      SCOPED_TRACE(::testing::Message() << t << (f4 ? ", F(4x4, 3x3)" : ", F(2x2, 3x3)"));
      const Shape y = conv_output_shape(t.x, t.out, t.p);
      const int oh = static_cast<int>(y[2]), ow = static_cast<int>(y[3]), p = t.p.pad;
      if (t.p.kernel == 3) {
        EXPECT_TRUE(cpu::winograd::applies(3, 1, p, oh, ow, true));
      } else {
        EXPECT_TRUE(cpu::winograd::applies5x5(5, 1, p, oh, ow, true));
        EXPECT_TRUE(cpu::winograd::applies5x5(5, 1, 4 - p, static_cast<int>(t.x[2]),
                                              static_cast<int>(t.x[3]), true));
        EXPECT_FALSE(cpu::winograd::applies5x5(5, 1, p, oh, ow, false));
      }
      if ((oh + 1) / 2 * ((ow + 1) / 2) < cpu::winograd::min_tiles()) {
        EXPECT_FALSE(winograd(t)) << "not taken batch-invariant";
      }
      expect_matches_naive(t, g);
      // Finite differences on the 3x3 cases only: F(2x2, 5x5)'s forward rounds more (its transforms
      // scale by up to 5 and by 1/24), and over steps of 1e-2 that noise reaches the checker's
      // 1e-3 bound (1.3e-3 to 1.5e-3 seen on correct gradients, which the float64 loops confirm).
      if (t.x.numel() <= 1000 && t.p.kernel == 3) expect_gradients_check(t, g);
    }
}

// The 5x5 stride-2 convolutions as 3x3 stride-1 ones over the four polyphase planes
// (cpu::winograd::conv5x5_stride2), in both settings of Context::batch_invariant (batched by
// F(4x4, 3x3) and by F(2x2, 3x3), spans of either's positions): paddings 0 to 3,
// odd and even planes (rows and columns the last output never reads), batches split into chunks
// (11 images: 8 and 3), and ZFNet's conv2 at batch 1; finite differences on the small ones.
TEST(Conv, Winograd5x5Stride2MatchesNaive) {
  Rng g(111);
  const ConvCase cases[] = {
      {"pad 0, odd", Shape{2, 3, 11, 13}, 4, ConvParams{5, 2, 0}, 0},
      {"pad 1, even: the last column unread", Shape{3, 2, 10, 12}, 3, ConvParams{5, 2, 1}, 0},
      {"pad 2, batch 11: chunks of 8 and 3", Shape{11, 2, 9, 8}, 3, ConvParams{5, 2, 2}, 0},
      {"pad 3", Shape{1, 2, 6, 7}, 2, ConvParams{5, 2, 3}, 0},
      {"ZFNet conv2", Shape{1, 96, 55, 55}, 256, ConvParams{5, 2, 0}, 0},
  };
  const AllPlanesWinograd all;
  for (int setting : {0, 1, 2}) {  // batch-invariant; batched by F(4x4, 3x3); by F(2x2, 3x3)
    const ScopedBatchInvariance invariance(setting == 0);
    const Tiles4x4 tiles(setting == 1);
    for (const ConvCase& t : cases) {
      SCOPED_TRACE(::testing::Message() << t
                                        << (setting == 0   ? ", batch-invariant"
                                            : setting == 1 ? ", batched, F(4x4, 3x3)"
                                                           : ", batched, F(2x2, 3x3)"));
      ASSERT_TRUE(winograd(t));
      expect_matches_naive(t, g);
      if (t.x.numel() <= 1000) expect_gradients_check(t, g);
    }
  }
}

// Outputs that arrive empty, or larger than needed from an earlier call, are shaped by the op.
TEST(Conv, ShapesItsOutputs) {
  Rng g(102);
  ConvParams p{3, 2, 1};
  Tensor x = uniform(Shape{2, 3, 9, 8}, g), w = uniform(Shape{4, 3, 3, 3}, g);
  Tensor b = uniform(Shape{4}, g);
  const naive::DT ny = naive::conv_forward(naive::of(x), naive::of(w), naive::of(b), 2, 1);
  Tensor empty;
  conv_forward(empty, x, w, b, p);
  EXPECT_TRUE(near(empty, ny, kSumTol));
  Tensor big = poisoned(Shape{3, 4, 10, 10});
  conv_forward(big, x, w, b, p);
  EXPECT_TRUE(near(big, ny, kSumTol));
  Tensor dw, db;  // backward_weight shapes dw and db too
  conv_backward_weight(dw, db, uniform(ny.shape, g), x, p);
  EXPECT_EQ(dw.shape(), w.shape());
  EXPECT_EQ(db.shape(), b.shape());
}

// ---- finite differences ------------------------------------------------------------------------

TEST(Conv, GradCheck) {
  Rng g(201);
  for (const ConvCase& t : kConvCases) {
    if (!(t.modes & kGrad)) continue;
    SCOPED_TRACE(::testing::Message() << t);
    expect_gradients_check(t, g);
  }
}

TEST(Conv, GradCheckRejectsWrongGradients) {
  Rng g(202);
  ConvParams p{3, 2, 1};
  Tensor x = uniform(Shape{1, 2, 6, 5}, g), w = uniform(Shape{3, 2, 3, 3}, g);
  Tensor b = uniform(Shape{3}, g), y;
  conv_forward(y, x, w, b, p);
  Tensor r = uniform(y.shape(), g), dx(x.shape());
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

// ---- the CPU fast path against the CPU reference ----------------------------------------------

// The fast paths against the reference loops, bit for bit, on every case of the table (channel
// counts that are and are not multiples of 8; strides 1, 2 and 4) and on conv1-sized planes: the
// bias gradient (8 planes' sums side by side) and the stride-2 column moves of im2col (forward,
// weight gradient) and col2im (input gradient), whose vector loops stop where their loads would
// leave the padded row. The 3x3 stride-1 convolutions (Winograd) to float32 rounding.
TEST(Conv, FastPathsMatchReference) {
  Rng g(311);
  std::vector<ConvCase> cases(std::begin(kConvCases), std::end(kConvCases));
  cases.push_back({"conv1 planes, 13 filters", Shape{3, 3, 60, 61}, 13, ConvParams{7, 2, 1}, 0});
  cases.push_back({"stride 2, 24 columns out", Shape{2, 2, 40, 47}, 5, ConvParams{5, 2, 2}, 0});
  for (const ConvCase& t : cases) {
    if (t.x.numel() > 200000) continue;  // ZFNet's real layers: covered by the cases above
    SCOPED_TRACE(::testing::Message() << t);
    Tensor x = uniform(t.x, g), w = uniform(weight_shape(t), g), b = uniform(Shape{t.out}, g);
    const Shape ys = conv_output_shape(t.x, t.out, t.p);
    Tensor dy = uniform(ys, g, -1.f, 3.f);
    Tensor y = poisoned(ys), dx = poisoned(t.x), dw = poisoned(weight_shape(t)),
           db = poisoned(Shape{t.out});
    Tensor ry = poisoned(ys), rdx = poisoned(t.x), rdw = poisoned(weight_shape(t)),
           rdb = poisoned(Shape{t.out});
    cpu::set_reference_kernels(false);
    conv_forward(y, x, w, b, t.p);
    conv_backward_data(dx, dy, w, t.p);
    conv_backward_weight(dw, db, dy, x, t.p);
    cpu::set_reference_kernels(true);
    conv_forward(ry, x, w, b, t.p);
    conv_backward_data(rdx, dy, w, t.p);
    conv_backward_weight(rdw, rdb, dy, x, t.p);
    cpu::set_reference_kernels(false);
    if (winograd(t)) {  // another algorithm: the same sums to float32 rounding
      EXPECT_TRUE(near(y, ry, 1e-5)) << "y";
      EXPECT_TRUE(near(dx, rdx, 1e-5)) << "dx";
      EXPECT_TRUE(near(dw, rdw, 1e-5)) << "dw";
    } else {
      EXPECT_EQ(std::memcmp(y.f32(), ry.f32(), sizeof(float) * y.numel()), 0) << "y's bits";
      EXPECT_EQ(std::memcmp(dx.f32(), rdx.f32(), sizeof(float) * dx.numel()), 0) << "dx's bits";
      EXPECT_EQ(std::memcmp(dw.f32(), rdw.f32(), sizeof(float) * dw.numel()), 0) << "dw's bits";
    }
    EXPECT_EQ(std::memcmp(db.f32(), rdb.f32(), sizeof(float) * db.numel()), 0) << "db's bits";
  }
}

// The column matrix in bands of output rows (cut small here: 4 KB, so every case but the smallest
// runs in bands, down to one output row per band) against the reference's whole matrix: y is the
// same products on fewer columns, dx and dW the same sums in another order.
TEST(Conv, BandsMatchReference) {
  Rng g(313);
  const cpu::ConvBands saved = cpu::conv_bands();
  cpu::set_conv_bands(cpu::ConvBands{4096, 8});
  std::vector<ConvCase> cases(std::begin(kConvCases), std::end(kConvCases));
  cases.push_back({"conv1 planes, 13 filters", Shape{3, 3, 60, 61}, 13, ConvParams{7, 2, 1}, 0});
  int banded = 0;
  for (const ConvCase& t : cases) {
    if (t.x.numel() > 200000) continue;
    SCOPED_TRACE(::testing::Message() << t);
    const Shape ys = conv_output_shape(t.x, t.out, t.p);
    const int64_t K = t.x[1] * t.p.kernel * t.p.kernel;
    if (static_cast<int64_t>(sizeof(float)) * K * ys[3] * ys[2] > 4096 && ys[2] > 1) ++banded;
    Tensor x = uniform(t.x, g), w = uniform(weight_shape(t), g), b = uniform(Shape{t.out}, g);
    Tensor dy = uniform(ys, g, -1.f, 3.f);
    Tensor y = poisoned(ys), dx = poisoned(t.x), dw = poisoned(weight_shape(t)),
           db = poisoned(Shape{t.out});
    Tensor ry = poisoned(ys), rdx = poisoned(t.x), rdw = poisoned(weight_shape(t)),
           rdb = poisoned(Shape{t.out});
    conv_forward(y, x, w, b, t.p);
    conv_backward_data(dx, dy, w, t.p);
    conv_backward_weight(dw, db, dy, x, t.p);
    {
      const tu::ReferenceKernels reference;
      conv_forward(ry, x, w, b, t.p);
      conv_backward_data(rdx, dy, w, t.p);
      conv_backward_weight(rdw, rdb, dy, x, t.p);
    }
    EXPECT_TRUE(near(y, ry, 1e-5)) << "y";
    EXPECT_TRUE(near(dx, rdx, 1e-5)) << "dx";
    EXPECT_TRUE(near(dw, rdw, 1e-5)) << "dw";
    EXPECT_EQ(std::memcmp(db.f32(), rdb.f32(), sizeof(float) * db.numel()), 0) << "db's bits";
  }
  cpu::set_conv_bands(saved);
  EXPECT_GE(banded, 5) << "too few cases were cut into bands";
}

// ---- CPU against CUDA --------------------------------------------------------------------------

// The conv math of the CUDA device's context, for the scope of a test.
struct ConvMathScope {
  explicit ConvMathScope(ConvMath m) : old(context(Device::cuda(0)).conv_math) {
    context(Device::cuda(0)).conv_math = m;
  }
  ~ConvMathScope() { context(Device::cuda(0)).conv_math = old; }
  ConvMath old;
};

// x rounded to TF32 as cvt.rna.tf32.f32 does (to nearest on 11 significant bits, ties away from
// zero), written independently of cuda/mma.h's bit arithmetic.
float tf32_round(float x) {
  if (!std::isfinite(x) || x == 0.f) return x;
  int e = 0;
  const double m = std::frexp(static_cast<double>(x), &e);  // |m| in [0.5, 1)
  return static_cast<float>(std::ldexp(std::round(m * 2048.0) / 2048.0, e));
}

Tensor tf32_rounded(const Tensor& t) {
  Tensor r = t.clone();
  for (int64_t i = 0; i < r.numel(); ++i) r.f32()[i] = tf32_round(r.f32()[i]);
  return r;
}

// Every case's three products on the device against the CPU. In TF32 the device rounds each
// product's inputs: against the CPU on the same inputs rounded alike it agrees as FP32 sums taken
// in another order do (`tol`; conv4's 3456-term sums reach 1.02e-5 there), and against the CPU on
// the inputs as they are to TF32's precision (`tf32_tol`: one TF32 rounding alone is up to 4.9e-4
// of a value, and an output that cancels to a fraction of the typical magnitude loses more; the
// cases reach 2.6e-3).
void expect_cuda_matches_cpu(ConvMath math, double tol, double tf32_tol) {
  const ConvMathScope scope(math);
  const bool tf32 = math == ConvMath::Tf32;
  Rng g(401);
  for (const ConvCase& t : kConvCases) {
    if (!(t.modes & kCuda)) continue;
    SCOPED_TRACE(::testing::Message() << t);
    Tensor x = uniform(t.x, g), w = uniform(weight_shape(t), g), b = uniform(Shape{t.out}, g);
    const Shape ys = conv_output_shape(t.x, static_cast<int>(t.out), t.p);
    // The CPU's inputs rounded as the device rounds them (the same tensors in FP32).
    Tensor dy = uniform(ys, g);
    const Tensor xr = tf32 ? tf32_rounded(x) : x.clone(), wr = tf32 ? tf32_rounded(w) : w.clone();
    const Tensor dyr = tf32 ? tf32_rounded(dy) : dy.clone();

    Tensor y = poisoned(ys), yr = poisoned(ys), yd = dev_poisoned(ys);
    conv_forward(yr, xr, wr, b, t.p);
    conv_forward(yd, dev(x), dev(w), dev(b), t.p);
    EXPECT_TRUE(matches(yd, yr, tol)) << "conv_forward";

    Tensor dx = poisoned(t.x), dxr = poisoned(t.x), dxd = dev_poisoned(t.x);
    conv_backward_data(dxr, dyr, wr, t.p);
    conv_backward_data(dxd, dev(dy), dev(w), t.p);
    EXPECT_TRUE(matches(dxd, dxr, tol)) << "conv_backward_data";

    Tensor dw = poisoned(w.shape()), db = poisoned(b.shape());
    Tensor dwr = poisoned(w.shape()), dbr = poisoned(b.shape());
    Tensor dwd = dev_poisoned(w.shape()), dbd = dev_poisoned(b.shape());
    conv_backward_weight(dwr, dbr, dyr, xr, t.p);
    conv_backward_weight(dwd, dbd, dev(dy), dev(x), t.p);
    EXPECT_TRUE(matches(dwd, dwr, tol)) << "conv_backward_weight dw";
    if (!tf32) {
      EXPECT_TRUE(matches(dbd, dbr)) << "conv_backward_weight db";
      continue;
    }
    // TF32 against FP32 on the inputs as they are.
    conv_forward(y, x, w, b, t.p);
    EXPECT_TRUE(matches(yd, y, tf32_tol)) << "conv_forward, unrounded inputs";
    conv_backward_data(dx, dy, w, t.p);
    EXPECT_TRUE(matches(dxd, dx, tf32_tol)) << "conv_backward_data, unrounded inputs";
    conv_backward_weight(dw, db, dy, x, t.p);
    EXPECT_TRUE(matches(dwd, dw, tf32_tol)) << "conv_backward_weight dw, unrounded inputs";
    EXPECT_TRUE(matches(dbd, db)) << "conv_backward_weight db";  // a plain FP32 sum in both maths
  }
}

TEST(ConvCuda, MatchesCpu) {
  ZF_REQUIRE_CUDA();
  expect_cuda_matches_cpu(ConvMath::Fp32, kCudaTol, 0);
}

TEST(ConvCuda, Tf32MatchesCpu) {
  ZF_REQUIRE_CUDA();
  expect_cuda_matches_cpu(ConvMath::Tf32, 3e-5, 5e-3);
}

// TF32 rounding is applied to every product's inputs, to nearest with ties away from zero: with
// one channel and a 1x1 kernel each output is one product, 1 * (1 + 2^-11) (a tie) gives exactly
// 1 + 2^-10 in TF32 (1 + 2^-11 in FP32, 1 with ties to even), -(1 + 2^-11) gives -(1 + 2^-10),
// 1 + 2^-12 gives 1; the same through the data and the weight gradients.
TEST(ConvCuda, Tf32RoundsInputs) {
  ZF_REQUIRE_CUDA();
  const float tie = 1.f + std::ldexp(1.f, -11), below = 1.f + std::ldexp(1.f, -12);
  const float up = 1.f + std::ldexp(1.f, -10);
  const std::vector<float> xs = {tie, -tie, below, 3.f, 0.5f, below};
  const std::vector<float> want = {up, -up, 1.f, 3.f, 0.5f, 1.f};
  const ConvParams p{1, 1, 0};
  Tensor x = f32(Shape{1, 1, 2, 3}), one = f32(Shape{1, 1, 1, 1}), b = f32(Shape{1});
  for (size_t i = 0; i < xs.size(); ++i) x.f32()[i] = xs[i];
  one.f32()[0] = 1.f;
  for (ConvMath m : {ConvMath::Fp32, ConvMath::Tf32}) {
    const ConvMathScope scope(m);
    SCOPED_TRACE(conv_math_name(m));
    Tensor y = dev_poisoned(x.shape()), dx = dev_poisoned(x.shape());
    Tensor dw = dev_poisoned(one.shape()), db = dev_poisoned(b.shape());
    conv_forward(y, dev(x), dev(one), dev(b), p);
    conv_backward_data(dx, dev(x), dev(one), p);  // dy = x
    // dw = sum of x * 1: the single products are the TF32 ones, their sum rounds in FP32.
    Tensor ones = f32(x.shape());
    for (int64_t i = 0; i < ones.numel(); ++i) ones.f32()[i] = 1.f;
    conv_backward_weight(dw, db, dev(ones), dev(x), p);
    const Tensor yh = y.to(Device::CPU), dxh = dx.to(Device::CPU), dwh = dw.to(Device::CPU);
    float sum = 0.f;
    for (size_t i = 0; i < xs.size(); ++i) {
      const float e = m == ConvMath::Tf32 ? want[i] : xs[i];
      EXPECT_EQ(yh.f32()[i], e) << "y[" << i << "]";
      EXPECT_EQ(dxh.f32()[i], e) << "dx[" << i << "]";
      sum += e;
    }
    EXPECT_NEAR(dwh.f32()[0], sum, 1e-6f) << "dw";
    if (m == ConvMath::Tf32) {
      EXPECT_NE(dwh.f32()[0], std::accumulate(xs.begin(), xs.end(), 0.f));
    }
  }
}

// ---- the CUDA tile shapes ---------------------------------------------------------------------

using cuda::conv_gemm::choose_tile;
using cuda::conv_gemm::kTileShapeCount;
using cuda::conv_gemm::kTileShapes;
using cuda::conv_gemm::TileShape;

// Each ZFNet layer's products at batch 128 (configs/zfnet.yaml) in the shape that pads them least:
// 96 rows where a side is 96 (conv1's filters, conv2's input channels), 96x64 for conv1's 147
// weight-gradient columns, 128x128 elsewhere; where no shape pads (conv3 onwards) the first one.
TEST(ConvCuda, ChoosesTileShapes) {
  struct Want {
    const char* what;
    int rows, cols;
    TileShape tile;
  };
  const Want want[] = {
      {"conv1 forward: 96 filters", 96, 128 * 110 * 110, {96, 128}},
      {"conv1 backward_data: 3 channels, each phase 112x112", 3, 128 * 112 * 112, {96, 128}},
      {"conv1 backward_weight: 96 filters x 3*7*7 taps", 96, 3 * 7 * 7, {96, 64}},
      {"conv2 forward", 256, 128 * 26 * 26, {128, 128}},
      {"conv2 backward_data: 96 channels, phase 28x28", 96, 128 * 28 * 28, {96, 128}},
      {"conv2 backward_data: phase 28x27", 96, 128 * 28 * 27, {96, 128}},
      {"conv2 backward_data: phase 27x27", 96, 128 * 27 * 27, {96, 128}},
      {"conv2 backward_weight", 256, 96 * 5 * 5, {128, 128}},
      {"conv3 forward", 384, 128 * 13 * 13, {128, 128}},
      {"conv3 backward_data", 256, 128 * 13 * 13, {128, 128}},
      {"conv3 backward_weight", 384, 256 * 3 * 3, {128, 128}},
      {"conv4 forward and backward_data", 384, 128 * 13 * 13, {128, 128}},
      {"conv4 backward_weight", 384, 384 * 3 * 3, {128, 128}},
      {"conv5 forward", 256, 128 * 13 * 13, {128, 128}},
      {"conv5 backward_weight", 256, 384 * 3 * 3, {128, 128}},
  };
  for (const Want& w : want) {
    SCOPED_TRACE(w.what);
    const TileShape got = kTileShapes[choose_tile(w.rows, w.cols)];
    EXPECT_EQ(got.bm, w.tile.bm);
    EXPECT_EQ(got.bn, w.tile.bn);
  }
}

// The (rows, columns) of every launch of a case's products, as cuda/conv.cu launches them:
// backward_data once per stride phase of dx that has pixels (conv_gemm::phase_of).
struct Launch {
  const char* product;
  int rows, cols;
};

std::vector<Launch> launches(const ConvCase& t) {
  const int N = static_cast<int>(t.x[0]), C = static_cast<int>(t.x[1]);
  const int H = static_cast<int>(t.x[2]), W = static_cast<int>(t.x[3]);
  const int M = static_cast<int>(t.out), k = t.p.kernel, s = t.p.stride, pad = t.p.pad;
  const Shape ys = conv_output_shape(t.x, M, t.p);
  std::vector<Launch> out = {{"forward", M, N * static_cast<int>(ys[2] * ys[3])},
                             {"backward_weight", M, C * k * k}};
  auto pixels = [&](int phase, int size) {  // of dx's phase along one side
    const int first = ((phase - pad) % s + s) % s;
    return first < size ? (size - first + s - 1) / s : 0;
  };
  for (int ph = 0; ph < s; ++ph)
    for (int pw = 0; pw < s; ++pw)
      if (pixels(ph, H) * pixels(pw, W) > 0)
        out.push_back({"backward_data", C, N * pixels(ph, H) * pixels(pw, W)});
  return out;
}

// The CUDA cases (both maths run them all) launch every product in every tile shape, with a
// partial last tile of rows and, in some case, of columns: so each shape's loads and stores are
// checked at the tile's edges.
TEST(ConvCuda, CasesCoverTiles) {
  for (const char* product : {"forward", "backward_data", "backward_weight"})
    for (int i = 0; i < kTileShapeCount; ++i) {
      const TileShape s = kTileShapes[i];
      SCOPED_TRACE(::testing::Message() << product << " in " << s.bm << "x" << s.bn << " tiles");
      bool partial_rows = false, partial_cols = false;
      for (const ConvCase& t : kConvCases) {
        if (!(t.modes & kCuda)) continue;
        for (const Launch& l : launches(t)) {
          if (std::string(l.product) != product || choose_tile(l.rows, l.cols) != i) continue;
          partial_rows = partial_rows || l.rows % s.bm != 0;
          partial_cols = partial_cols || l.cols % s.bn != 0;
        }
      }
      EXPECT_TRUE(partial_rows) << "no case ends in a partial tile of rows";
      EXPECT_TRUE(partial_cols) << "no case ends in a partial tile of columns";
    }
}

// ZF_CONV_MATH names the math a CUDA context starts with; anything else than fp32 or tf32 throws.
TEST(ConvCuda, ConvMathNames) {
  EXPECT_EQ(parse_conv_math("fp32"), ConvMath::Fp32);
  EXPECT_EQ(parse_conv_math("tf32"), ConvMath::Tf32);
  EXPECT_STREQ(conv_math_name(ConvMath::Tf32), "tf32");
  EXPECT_ZF_ERROR(parse_conv_math("fp16"), "fp16", "fp32 or tf32");
}

// ---- bad input ---------------------------------------------------------------------------------

TEST(Conv, BadInputForward) {
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
  EXPECT_ZF_ERROR(conv_forward(y, f32(Shape{3, 8, 8}), w, b, ConvParams{3, 1, 1}), "conv_forward",
                  "[3,8,8]");  // not 4-d
  EXPECT_ZF_ERROR(conv_forward(y, f32(Shape{0, 3, 8, 8}), w, b, ConvParams{3, 1, 1}),
                  "conv_forward", "[0,3,8,8]");  // empty
  EXPECT_ZF_ERROR(conv_forward(y, i32(Shape{2, 3, 8, 8}), w, b, ConvParams{3, 1, 1}),
                  "conv_forward", "[2,3,8,8]", "f32");  // wrong dtype
}

TEST(Conv, BadInputBackward) {
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

}  // namespace
