// The maxpool family's tests (maxpool_forward with switches, maxpool_backward, and the deconvnet's
// unpool_forward), in one place: the cases are stated once in kPoolCases and run in the modes each
// row names (test_util.h): naive float64 loops, finite differences, CPU against CUDA; then a pool
// worked out by hand and the bad-input errors. Inputs drawn from a few levels plant ties (the first
// maximum in row-major window order must win, on every backend); switches must match exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>
#include <limits>
#include <ostream>
#include <set>
#include <vector>

#include "core/cpu/cpu_ops.h"
#include "core/ops.h"
#include "test_util.h"

using namespace zf;
using namespace tu;

namespace {

const std::vector<float> kTies = {-1.5f, -0.5f, 0.5f, 1.5f};
const std::vector<float> kConstant = {0.75f};  // every element tied: the window's first wins
const std::vector<float> kUniform = {};

struct PoolCase {
  const char* name;
  Shape x;
  PoolParams p;
  std::vector<float> levels;  // inputs drawn from these values (ties); empty: uniform
  unsigned modes;
};

std::ostream& operator<<(std::ostream& os, const PoolCase& t) {
  return os << t.name << ": x " << t.x.str() << " pool " << t.p.kernel << "/" << t.p.stride
            << (t.p.ceil ? " ceil" : " floor") << " levels " << t.levels.size();
}

const PoolCase kPoolCases[] = {
    {"ceil mode: the last window is 2 wide (clipped)", Shape{2, 3, 8, 8}, PoolParams{3, 2}, kTies,
     kNaive | kCuda},
    {"odd, non-square; exact fit in H, clipped in W", Shape{1, 4, 7, 9}, PoolParams{3, 2}, kTies,
     kNaive | kCuda},
    {"stride > kernel: Caffe's last-window-starts-inside rule", Shape{2, 2, 6, 6}, PoolParams{2, 3},
     kTies, kNaive | kCuda},
    {"kernel 1, stride 3: ceil would add a window past the end", Shape{1, 3, 5, 7},
     PoolParams{1, 3}, kUniform, kNaive | kCuda},
    {"ZFNet pool5 13 -> 6", Shape{1, 2, 13, 13}, PoolParams{3, 2}, kTies, kNaive | kCuda},
    {"stride 1: heavy overlap", Shape{2, 5, 11, 10}, PoolParams{3, 1}, kTies, kNaive | kCuda},
    {"one window covering the whole input", Shape{1, 1, 3, 3}, PoolParams{3, 2}, kTies,
     kNaive | kCuda},
    {"last window a single row/column", Shape{1, 2, 4, 4}, PoolParams{3, 3}, kUniform,
     kNaive | kCuda},
    {"ZFNet pool2 26 -> 13", Shape{1, 16, 26, 26}, PoolParams{3, 2}, kTies, kNaive | kCuda},
    {"ZFNet pool1 110 -> 55", Shape{1, 3, 110, 110}, PoolParams{3, 2}, kTies, kNaive | kCuda},
    {"all tied", Shape{2, 3, 9, 9}, PoolParams{3, 2}, kConstant, kNaive | kCuda},
    {"even kernel", Shape{1, 2, 10, 11}, PoolParams{4, 2}, kUniform, kNaive | kCuda},
    {"uniform, odd", Shape{2, 6, 15, 14}, PoolParams{3, 2}, kUniform, kNaive | kCuda},
    {"3/2 partial border, 3-level ties",
     Shape{2, 3, 8, 8},
     PoolParams{3, 2},
     {-1.f, 0.5f, 1.f},
     kNaive | kCuda},
    {"3/2 odd non-square, 3-level ties",
     Shape{1, 4, 7, 9},
     PoolParams{3, 2},
     {-1.f, 0.5f, 1.f},
     kNaive | kCuda},
    {"3/1 heavy overlap, 3-level ties",
     Shape{2, 5, 11, 10},
     PoolParams{3, 1},
     {-1.f, 0.5f, 1.f},
     kNaive | kCuda},
    {"2/3 Caffe rule, uniform", Shape{2, 2, 6, 6}, PoolParams{2, 3}, kUniform, kNaive | kCuda},
    {"all tied at another level", Shape{2, 3, 9, 9}, PoolParams{3, 2}, {0.25f}, kNaive | kCuda},
    // finite differences (on distinct inputs: no perturbation may move a switch)
    {"grad: overlapping, clipped border windows", Shape{2, 2, 8, 7}, PoolParams{3, 2}, kUniform,
     kNaive | kGrad | kCuda},
    {"grad: gaps between windows", Shape{1, 3, 6, 6}, PoolParams{2, 3}, kUniform,
     kNaive | kGrad | kCuda},
    {"grad: heavy overlap, shared switches add", Shape{1, 2, 7, 7}, PoolParams{3, 1}, kUniform,
     kNaive | kGrad | kCuda},
    // ZFNet's real layers at batch 2
    {"pool1", Shape{2, 96, 110, 110}, PoolParams{3, 2}, {-2.f, -1.f, 1.f, 2.f}, kCuda},
    {"pool2", Shape{2, 256, 26, 26}, PoolParams{3, 2}, {-2.f, -1.f, 1.f, 2.f}, kCuda},
    {"pool5", Shape{2, 256, 13, 13}, PoolParams{3, 2}, {-2.f, -1.f, 1.f, 2.f}, kCuda},
    {"pool1 uniform", Shape{2, 96, 110, 110}, PoolParams{3, 2}, kUniform, kCuda},
    // Floor mode (PyTorch's default): only whole windows, the clipped last one dropped.
    {"floor: 8 -> 3, the clipped window dropped", Shape{2, 3, 8, 8}, PoolParams{3, 2, false}, kTies,
     kNaive | kCuda},
    {"floor: odd, non-square, exact fit in H", Shape{1, 4, 7, 10}, PoolParams{3, 2, false}, kTies,
     kNaive | kCuda},
    {"floor: stride > kernel", Shape{2, 2, 8, 8}, PoolParams{2, 3, false}, kUniform,
     kNaive | kCuda},
    {"floor: AlexNet pool1 55 -> 27", Shape{1, 8, 55, 55}, PoolParams{3, 2, false}, kTies,
     kNaive | kCuda},
};

Tensor pool_input(const PoolCase& t, Rng& g) {
  return t.levels.empty() ? uniform(t.x, g) : quantized(t.x, g, t.levels);
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

// ---- naive -------------------------------------------------------------------------------------

TEST(Maxpool, MatchesNaive) {
  Rng g(105);
  int64_t shared_total = 0;
  for (const PoolCase& t : kPoolCases) {
    if (!(t.modes & kNaive)) continue;
    SCOPED_TRACE(::testing::Message() << t);
    Tensor x = pool_input(t, g);
    naive::DT ny;
    std::vector<int32_t> nsw;
    naive::maxpool_forward(ny, nsw, naive::of(x), t.p.kernel, t.p.stride, t.p.ceil);

    Tensor y = poisoned(ny.shape), sw = poisoned(ny.shape, Device::CPU, DType::I32);
    maxpool_forward(y, sw, x, t.p);
    EXPECT_TRUE(near(y, ny, 0)) << "maxpool_forward values";
    EXPECT_TRUE(same_ints(sw, nsw)) << "maxpool_forward switches";
    shared_total += shared_switches(sw);

    Tensor dy = uniform(ny.shape, g);
    const naive::DT want = naive::maxpool_backward(naive::of(dy), nsw, x.shape());
    Tensor dx = poisoned(x.shape());
    maxpool_backward(dx, dy, sw, t.p);
    EXPECT_TRUE(near(dx, want, kElemTol)) << "maxpool_backward";
    Tensor up = poisoned(x.shape());
    unpool_forward(up, dy, sw, t.p);
    EXPECT_TRUE(near(up, want, kElemTol)) << "unpool_forward";
  }
  // The tie planting must actually make overlapping windows share maxima, or the sums went
  // untested.
  EXPECT_GT(shared_total, 50);
}

// A 4x4 plane pooled 3/2 in ceil mode, worked out by hand: windows rows/cols [0,3) and [2,4).
//   1 5 5 2     window (0,0): max 5, first at (0,1) -> 1     window (0,1): 5 at (0,2) -> 2
//   5 0 3 5     window (1,0): 6 at (3,2) -> 14               window (1,1): 6 at (3,2) -> 14
//   4 5 1 1     (shared, even though (3,3) is also 6: the first maximum in row-major order wins)
//   2 2 6 6
TEST(Maxpool, ByHand) {
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

// ---- finite differences ------------------------------------------------------------------------

TEST(Maxpool, GradCheck) {
  Rng g(205);
  for (const PoolCase& t : kPoolCases) {
    if (!(t.modes & kGrad)) continue;
    SCOPED_TRACE(::testing::Message() << t);
    Tensor x = distinct(t.x, g, 0.05f), y, sw;
    maxpool_forward(y, sw, x, t.p);
    Tensor r = uniform(y.shape(), g), dx(x.shape());
    maxpool_backward(dx, r, sw, t.p);
    auto objective = [&] {
      maxpool_forward(y, sw, x, t.p);
      return dot(y, r);
    };
    EXPECT_TRUE(passes(grad_check(x, dx, objective, 1e-2, g)));
  }
}

// ---- the CPU fast path against the CPU reference ----------------------------------------------

// The fast forward (3/2 windows) must give the reference loop's values and switches bit for bit,
// on every case of the table and on pool1's shape with NaNs planted (the strict-> scan keeps a
// leading NaN and skips later ones; the fast lanes must do the same).
TEST(Maxpool, FastMatchesReference) {
  Rng g(307);
  std::vector<PoolCase> cases(std::begin(kPoolCases), std::end(kPoolCases));
  cases.push_back({"pool1 batch 3, NaNs", Shape{3, 8, 110, 110}, PoolParams{3, 2}, kTies, 0});
  cases.push_back({"pool1 floor", Shape{1, 4, 110, 110}, PoolParams{3, 2, false}, kTies, 0});
  // The vectors read wide planes in place (34 columns and more) up to the last window their loads
  // reach, the overlapping last vector included, and the rest through window_max: 33 (padded: the
  // loads would pass the row), 34 (one vector), 35, 50 (two vectors, overlapping), 111 (odd: a whole
  // last window left to window_max) and a floor-mode plane whose windows all fit the vectors.
  cases.push_back({"33 wide, NaNs", Shape{2, 3, 33, 33}, PoolParams{3, 2}, kTies, 0});
  cases.push_back({"34 wide, NaNs", Shape{2, 3, 35, 34}, PoolParams{3, 2}, kTies, 0});
  cases.push_back({"35 wide, NaNs", Shape{1, 3, 34, 35}, PoolParams{3, 2}, kTies, 0});
  cases.push_back({"50 wide, NaNs", Shape{2, 2, 7, 50}, PoolParams{3, 2}, kTies, 0});
  cases.push_back({"111 wide, NaNs", Shape{1, 2, 111, 111}, PoolParams{3, 2}, kTies, 0});
  cases.push_back({"35 wide floor, NaNs", Shape{2, 2, 9, 35}, PoolParams{3, 2, false}, kTies, 0});
  // Fashion-MNIST's planes (32, 16, 8 wide: padded, clipped last windows, vectors partly used),
  // and planes a window or two wide.
  cases.push_back({"Fashion pool1, NaNs", Shape{2, 32, 32, 32}, PoolParams{3, 2}, kTies, 0});
  cases.push_back({"Fashion pool2, NaNs", Shape{3, 64, 16, 16}, PoolParams{3, 2}, kTies, 0});
  cases.push_back({"Fashion pool5, NaNs", Shape{5, 64, 8, 8}, PoolParams{3, 2}, kTies, 0});
  // Planes at most 8 windows wide take two output rows a vector step (ZFNet's pool5: 13x13), the
  // last row alone when their count is odd (15x15: 7 rows).
  cases.push_back({"ZFNet pool5, NaNs", Shape{2, 8, 13, 13}, PoolParams{3, 2}, kTies, 0});
  cases.push_back({"15x15: 7 rows, NaNs", Shape{2, 3, 15, 15}, PoolParams{3, 2}, kTies, 0});
  cases.push_back({"3x4 planes", Shape{3, 5, 3, 4}, PoolParams{3, 2}, kUniform, 0});
  cases.push_back({"4x3 planes", Shape{3, 7, 4, 3}, PoolParams{3, 2}, kUniform, 0});
  // -inf inside the plane, also as all of a clipped window's values: the padding must not win.
  const float inf = std::numeric_limits<float>::infinity();
  cases.push_back({"-inf levels", Shape{2, 9, 9, 8}, PoolParams{3, 2}, {-inf, -inf, 1.f}, 0});
  for (const PoolCase& t : cases) {
    SCOPED_TRACE(::testing::Message() << t);
    Tensor x = pool_input(t, g);
    if (t.modes == 0)
      for (int64_t i = 0; i < x.numel(); i += 97) x.f32()[i] = std::nanf("");
    const Shape ys = pool_output_shape(t.x, t.p);
    Tensor y = poisoned(ys), sw = poisoned(ys, Device::CPU, DType::I32);
    Tensor yr = poisoned(ys), swr = poisoned(ys, Device::CPU, DType::I32);
    maxpool_forward(y, sw, x, t.p);
    cpu::maxpool_forward_reference(yr, swr, x, t.p);
    EXPECT_EQ(std::memcmp(y.f32(), yr.f32(), sizeof(float) * y.numel()), 0) << "values' bits";
    EXPECT_TRUE(same_ints(sw, swr)) << "switches";
  }
}

// ---- CPU against CUDA --------------------------------------------------------------------------

TEST(MaxpoolCuda, MatchesCpu) {
  ZF_REQUIRE_CUDA();
  Rng g(403);
  for (const PoolCase& t : kPoolCases) {
    if (!(t.modes & kCuda)) continue;
    SCOPED_TRACE(::testing::Message() << t);
    Tensor x = pool_input(t, g);
    const Shape ys = pool_output_shape(t.x, t.p);
    Tensor y = poisoned(ys), sw = poisoned(ys, Device::CPU, DType::I32);
    Tensor yd = dev_poisoned(ys), swd = dev_poisoned(ys, DType::I32);
    maxpool_forward(y, sw, x, t.p);
    maxpool_forward(yd, swd, dev(x), t.p);
    EXPECT_TRUE(matches(yd, y, 0)) << "maxpool_forward values";
    EXPECT_TRUE(matches(swd, sw)) << "maxpool_forward switches";

    Tensor dy = uniform(ys, g);
    Tensor dx = poisoned(t.x), dxd = dev_poisoned(t.x);
    maxpool_backward(dx, dy, sw, t.p);
    maxpool_backward(dxd, dev(dy), dev(sw), t.p);
    EXPECT_TRUE(matches(dxd, dx)) << "maxpool_backward";
    Tensor u = poisoned(t.x), ud = dev_poisoned(t.x);
    unpool_forward(u, dy, sw, t.p);
    unpool_forward(ud, dev(dy), dev(sw), t.p);
    EXPECT_TRUE(matches(ud, u)) << "unpool_forward";
  }
}

// ---- bad input ---------------------------------------------------------------------------------

TEST(Maxpool, BadInput) {
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

}  // namespace
