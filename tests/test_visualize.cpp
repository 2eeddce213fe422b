// The deconvnet (DESIGN section 4) on small nets built from YAML text: projections with hand-set
// filters against their closed form (a conv's filter placed at the unit's receptive field,
// unpooling through the switches), receptive-field geometry of a ZFNet-like stack and behind fc
// layers, feature layers chosen by capability (any layer; the convs by default), `rule backprop`
// against the trainer's backward pass (LRN skipped or crossed; from a conv and from an fc unit
// mined over a data set), batch-vs-single and repeat determinism (bitwise), top-k mining's
// bookkeeping, and how the deconv / guided / backprop rules differ.
// Run: build/tests/zf_train_tests --gtest_filter='Deconvnet*:ReceptiveField*:TopK*:ReluRules*'
// Random draws (inputs, weights) come from seed ZF_TEST_SEED when it is set, else from a fixed
// seed.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <string>
#include <vector>

#include "core/cpu/cpu_ops.h"
#include "core/nn/net.h"
#include "core/rng.h"
#include "visualize/visualize.h"

using namespace zf;

namespace {

uint64_t test_seed() {
  const char* s = std::getenv("ZF_TEST_SEED");
  return s ? std::strtoull(s, nullptr, 10) : 20131112;
}

// A net from an `input:` map and a `layers:` list given as YAML lines ("  - {name: .., type: ..}").
// Net insists on a softmax_loss as the last layer, so a classifier head follows the layers under
// test (projections and forward_to never reach it).
Net build_net(int c, int h, int w, const std::string& layers) {
  const std::string yaml =
      strprintf("input: {channels: %d, height: %d, width: %d}\nlayers:\n", c, h, w) + layers +
      "  - {name: head, type: fc, outputs: 2}\n"
      "  - {name: loss, type: softmax_loss}\n"
      "data: {train: unused}\n";
  return zf::build_net(parse_config(yaml, "test_visualize.yaml").net);
}

Param& param(Net& net, const std::string& layer, const std::string& which) {
  for (auto& np : net.params())
    if (np.layer == layer && np.param->name == which) return *np.param;
  throw Error("no parameter " + layer + "." + which);
}

void set_values(Param& p, const std::vector<float>& v) {
  ASSERT_EQ(p.value.numel(), static_cast<int64_t>(v.size())) << p.name;
  std::copy(v.begin(), v.end(), p.value.f32());
}

// N(0, 1) values from the test's seed; `stream` keeps the draws of different tests apart.
Tensor random_tensor(const Shape& s, uint64_t stream) {
  Tensor t(s);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.f32()[i] = rng_normal(test_seed(), stream, static_cast<uint64_t>(i));
  return t;
}

int64_t offset(const Tensor& t, int64_t n, int64_t c, int64_t y, int64_t x) {
  return ((n * t.c() + c) * t.h() + y) * t.w() + x;
}
float at(const Tensor& t, int64_t n, int64_t c, int64_t y, int64_t x) {
  return t.f32()[offset(t, n, c, y, x)];
}

struct Unit {
  int n, f, y, x;
  float value;
};

// The strongest unit of feature map f of image n (the first maximum in row-major order).
Unit strongest(const Tensor& a, int n, int f) {
  Unit u{n, f, 0, 0, at(a, n, f, 0, 0)};
  for (int y = 0; y < a.h(); ++y)
    for (int x = 0; x < a.w(); ++x)
      if (at(a, n, f, y, x) > u.value) u = Unit{n, f, y, x, at(a, n, f, y, x)};
  return u;
}

// The strongest unit of the first feature from f on (cyclically) that is active anywhere in image
// n: with random filters over rectified inputs, some features are off everywhere.
Unit strongest_alive(const Tensor& a, int n, int f) {
  for (int i = 0; i < a.c(); ++i) {
    const Unit u = strongest(a, n, static_cast<int>((f + i) % a.c()));
    if (u.value > 0.f) return u;
  }
  throw Error("image " + std::to_string(n) + ": no active unit at all");
}

// The deconvnet's starting signal: zeros shaped as `like`, except the given units.
Tensor signal(const Shape& like, const std::vector<Unit>& units) {
  Tensor r = Tensor::zeros(like);
  for (const Unit& u : units) r.f32()[offset(r, u.n, u.f, u.y, u.x)] = u.value;
  return r;
}

Tensor copy_of(const Tensor& t) {
  return t.clone();
}

// One image of a batch, as a batch of one.
Tensor image(const Tensor& batch, int64_t n) {
  Tensor t(Shape{1, batch.c(), batch.h(), batch.w()});
  const int64_t per = t.numel();
  std::copy(batch.f32() + n * per, batch.f32() + (n + 1) * per, t.f32());
  return t;
}

// Equal as numbers (+0 == -0), with the first mismatch and the largest difference on failure.
::testing::AssertionResult same_values(const float* got, const float* want, int64_t n) {
  int64_t bad = 0, first = -1;
  double worst = 0;
  for (int64_t i = 0; i < n; ++i)
    if (!(got[i] == want[i])) {
      if (first < 0) first = i;
      ++bad;
      worst = std::max(worst, std::fabs(static_cast<double>(got[i]) - want[i]));
    }
  if (!bad) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << bad << " of " << n << " values differ; first at flat index " << first << ": got "
         << got[first] << ", want " << want[first] << "; max |difference| " << worst;
}
::testing::AssertionResult same_values(const Tensor& got, const Tensor& want) {
  if (got.shape() != want.shape())
    return ::testing::AssertionFailure()
           << "shape " << got.shape().str() << " vs " << want.shape().str();
  return same_values(got.f32(), want.f32(), got.numel());
}

// Within rtol of the largest |want|, with the first mismatch and the largest difference on failure.
::testing::AssertionResult close_values(const Tensor& got, const Tensor& want, double rtol) {
  if (got.shape() != want.shape())
    return ::testing::AssertionFailure()
           << "shape " << got.shape().str() << " vs " << want.shape().str();
  double scale = 0, worst = 0;
  for (int64_t i = 0; i < want.numel(); ++i)
    scale = std::max(scale, std::fabs(static_cast<double>(want.f32()[i])));
  int64_t bad = 0, first = -1;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const double d = std::fabs(static_cast<double>(got.f32()[i]) - want.f32()[i]);
    worst = std::max(worst, d);
    if (!(d <= rtol * scale)) {
      if (first < 0) first = i;
      ++bad;
    }
  }
  if (!bad) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << bad << " of " << got.numel() << " values differ by more than " << rtol << " x " << scale
         << "; first at flat index " << first << ": got " << got.f32()[first] << ", want "
         << want.f32()[first] << "; max |difference| " << worst;
}

// The CPU's reference kernels (ZF_CPU_KERNELS=reference) for a scope: the convolutions as one
// product per output.
struct ReferenceConvs {
  ReferenceConvs() : before(cpu::reference_kernels()) { cpu::set_reference_kernels(true); }
  ~ReferenceConvs() { cpu::set_reference_kernels(before); }
  bool before;
};

// Bit-for-bit equal (so -0 != +0), with the count and the largest difference on failure.
::testing::AssertionResult same_bits(const float* a, const float* b, int64_t n) {
  int64_t bad = 0, first = -1;
  double worst = 0;
  for (int64_t i = 0; i < n; ++i)
    if (std::memcmp(a + i, b + i, sizeof(float)) != 0) {
      if (first < 0) first = i;
      ++bad;
      worst = std::max(worst, std::fabs(static_cast<double>(a[i]) - b[i]));
    }
  if (!bad) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << bad << " of " << n << " values differ in their bits; first at flat index " << first
         << ": " << a[first] << " vs " << b[first] << "; max |difference| " << worst;
}
::testing::AssertionResult same_bits(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape())
    return ::testing::AssertionFailure()
           << "shape " << a.shape().str() << " vs " << b.shape().str();
  return same_bits(a.f32(), b.f32(), a.numel());
}

int64_t nonzeros(const Tensor& t) {
  return std::count_if(t.f32(), t.f32() + t.numel(), [](float v) { return v != 0.f; });
}

RunState eval_state() {
  RunState rs;
  rs.phase = Phase::Eval;
  return rs;
}

ProjectOptions rule(ReluRule r, bool through_lrn = false) {
  ProjectOptions o;
  o.rule = r;
  o.through_lrn = through_lrn;
  return o;
}

// Sets OpenMP's thread count for a scope.
class Threads {
 public:
  explicit Threads(int n) : saved_(omp_get_max_threads()) { omp_set_num_threads(n); }
  ~Threads() { omp_set_num_threads(saved_); }

 private:
  int saved_;
};

}  // namespace

// ---- closed forms with hand-set filters ---------------------------------------------------------

// Cross-correlation: unit (y, x) of filter f reads input pixel (y*s - p + i, x*s - p + j) with
// weight w[f][c][i][j], so projecting that unit alone (value v) must give exactly v * w[f] there,
// clipped at the border, and nothing anywhere else (nor in the other image of the batch).
TEST(DeconvnetClosedForm, OneConvPlacesTheFilterAtTheReceptiveField) {
  const int C = 2, K = 3, S = 2, P = 1;
  Net net = build_net(C, 9, 11,
                      "  - {name: conv1, type: conv, filters: 2, kernel: 3, stride: 2, pad: 1}\n"
                      "  - {name: relu1, type: relu}\n");
  net.setup(2);
  // Filter 1 is a signed ramp that is different under every flip and transpose; filter 0 is random.
  std::vector<float> w(2 * C * K * K);
  for (int c = 0; c < C; ++c)
    for (int i = 0; i < K; ++i)
      for (int j = 0; j < K; ++j) {
        w[(0 * C + c) * K * K + i * K + j] =
            rng_normal(test_seed(), 11, static_cast<uint64_t>(c * K * K + i * K + j));
        w[(1 * C + c) * K * K + i * K + j] =
            (c ? -0.75f : 1.f) * (1 + i * K + j) * (j % 2 ? -0.25f : 0.25f);
      }
  set_values(param(net, "conv1", "weight"), w);
  set_values(param(net, "conv1", "bias"), {0.05f, -0.1f});
  Tensor x = random_tensor(Shape{2, C, 9, 11}, 12);
  const Pass pass = net.forward_to(x, 1, eval_state());
  const Tensor& a = pass.output(1);
  ASSERT_EQ(a.shape(), (Shape{2, 2, 5, 6}));

  int tested = 0, clipped = 0;
  for (int n = 0; n < 2; ++n)
    for (int f = 0; f < 2; ++f)
      for (int y = 0; y < a.h(); ++y)
        for (int xx = 0; xx < a.w(); ++xx) {
          const float v = at(a, n, f, y, xx);
          if (v <= 0.f) continue;
          Tensor want = Tensor::zeros(x.shape());
          bool clip = false;
          for (int c = 0; c < C; ++c)
            for (int i = 0; i < K; ++i)
              for (int j = 0; j < K; ++j) {
                const int iy = y * S - P + i, ix = xx * S - P + j;
                if (iy < 0 || iy >= x.h() || ix < 0 || ix >= x.w()) {
                  clip = true;
                  continue;
                }
                want.f32()[offset(want, n, c, iy, ix)] = v * w[(f * C + c) * K * K + i * K + j];
              }
          const Tensor& got = net.project(pass, signal(a.shape(), {Unit{n, f, y, xx, v}}), 1,
                                          rule(ReluRule::Deconv));
          ASSERT_TRUE(same_values(got, want))
              << "image " << n << " filter " << f << " unit (" << y << ", " << xx << ")";
          ++tested;
          clipped += clip;
        }
  EXPECT_GT(tested, 20);
  EXPECT_GT(clipped, 0);  // some fields hang over the border
}

// conv1 -> relu -> maxpool 3/2 (overlapping windows) -> conv2 1x1 -> relu. The projection of a top
// unit (value v) crosses conv2 as v * u[c] per channel, is rectified (channel 1, u < 0, vanishes),
// unpooled to the switch of channel 0's window (the first maximum of relu1's output, found here
// independently), and filtered by conv1's filter 0 there: exactly (v * u0) * w1[0] centred on the
// switch, zero elsewhere (in particular at every other pixel of that pool window).
TEST(DeconvnetClosedForm, UnpoolingRoutesThroughTheSwitches) {
  const int H = 9, K = 3;
  Net net = build_net(1, H, H,
                      "  - {name: conv1, type: conv, filters: 2, kernel: 3, pad: 1}\n"
                      "  - {name: relu1, type: relu}\n"
                      "  - {name: pool1, type: maxpool, kernel: 3, stride: 2}\n"
                      "  - {name: conv2, type: conv, filters: 1, kernel: 1}\n"
                      "  - {name: relu2, type: relu}\n");
  net.setup(1);
  const std::vector<float> w1 = {0.5f, -1.f,  1.5f, 2.f,   -2.5f, 3.f,    -3.5f, 4.f,   4.5f,
                                 -1.f, 0.25f, 0.5f, 0.75f, 1.f,   -1.25f, 1.5f,  1.75f, -2.f};
  const float u0 = 0.7f, u1 = -1.3f;
  set_values(param(net, "conv1", "weight"), w1);
  set_values(param(net, "conv1", "bias"), {0.f, 0.f});
  set_values(param(net, "conv2", "weight"), {u0, u1});
  set_values(param(net, "conv2", "bias"), {0.2f});
  Tensor x = random_tensor(Shape{1, 1, H, H}, 21);
  const Pass pass = net.forward_to(x, 4, eval_state());
  const Tensor &r1 = pass.output(1), &top = pass.output(4);
  ASSERT_EQ(top.shape(), (Shape{1, 1, 4, 4}));

  int tested = 0, off_origin = 0;
  for (int Y = 0; Y < 4; ++Y)
    for (int X = 0; X < 4; ++X) {
      const float v = at(top, 0, 0, Y, X);
      if (v <= 0.f) continue;
      // The switch: the first maximum of channel 0 in the (clipped) window.
      int sy = 2 * Y, sx = 2 * X;
      for (int iy = 2 * Y; iy < std::min(2 * Y + 3, H); ++iy)
        for (int ix = 2 * X; ix < std::min(2 * X + 3, H); ++ix)
          if (at(r1, 0, 0, iy, ix) > at(r1, 0, 0, sy, sx)) sy = iy, sx = ix;
      off_origin += (sy != 2 * Y || sx != 2 * X);
      const float a0 = v * u0;
      Tensor want = Tensor::zeros(x.shape());
      for (int i = 0; i < K; ++i)
        for (int j = 0; j < K; ++j) {
          const int iy = sy - 1 + i, ix = sx - 1 + j;
          if (iy >= 0 && iy < H && ix >= 0 && ix < H)
            want.f32()[offset(want, 0, 0, iy, ix)] = a0 * w1[i * K + j];
        }
      // Exact through the reference convolutions (one product per pixel); the fast path filters by
      // Winograd's transforms (core/cpu/winograd.h), which round.
      const Tensor got = copy_of(
          net.project(pass, signal(top.shape(), {Unit{0, 0, Y, X, v}}), 4, rule(ReluRule::Deconv)));
      ASSERT_TRUE(close_values(got, want, 1e-6))
          << "top unit (" << Y << ", " << X << "), switch (" << sy << ", " << sx << ")";
      {
        const ReferenceConvs reference;
        ASSERT_TRUE(same_values(net.project(pass, signal(top.shape(), {Unit{0, 0, Y, X, v}}), 4,
                                            rule(ReluRule::Deconv)),
                                want))
            << "reference, top unit (" << Y << ", " << X << "), switch (" << sy << ", " << sx
            << ")";
      }
      ++tested;
    }
  EXPECT_GT(tested, 3);
  EXPECT_GT(off_origin, 0);  // a switch elsewhere than the window's first pixel was exercised
}

// ---- receptive fields ---------------------------------------------------------------------------

namespace {
// ZFNet's first three stages at a small size:
// conv 7/2 pad 1, pool 3/2, conv 5/2, pool 3/2, conv 3/1 pad 1.
const char* kZfLike =
    "  - {name: conv1, type: conv, filters: 4, kernel: 7, stride: 2, pad: 1, std: 0.2}\n"
    "  - {name: relu1, type: relu}\n"
    "  - {name: pool1, type: maxpool, kernel: 3, stride: 2}\n"
    "  - {name: conv2, type: conv, filters: 4, kernel: 5, stride: 2, std: 0.2}\n"
    "  - {name: relu2, type: relu}\n"
    "  - {name: pool2, type: maxpool, kernel: 3, stride: 2}\n"
    "  - {name: conv3, type: conv, filters: 4, kernel: 3, pad: 1, std: 0.2, bias: 0.05}\n"
    "  - {name: relu3, type: relu}\n";
}  // namespace

TEST(ReceptiveField, ZfnetLikeStackByHand) {
  Net net = build_net(3, 64, 64, kZfLike);
  // By hand, layer by layer: first -= pad * jump; size += (kernel - 1) * jump; jump *= stride.
  //   conv1 7/2 p1: size 1+6*1 = 7,   jump 2,  first -1
  //   pool1 3/2:    size 7+2*2 = 11,  jump 4,  first -1
  //   conv2 5/2:    size 11+4*4 = 27, jump 8,  first -1
  //   pool2 3/2:    size 27+2*8 = 43, jump 16, first -1
  //   conv3 3/1 p1: size 43+2*16 = 75, jump 16, first -1-16 = -17
  const struct {
    int size, jump, first, side;
  } want[] = {{7, 2, -1, 30}, {7, 2, -1, 30},  {11, 4, -1, 15},  {27, 8, -1, 6},
              {27, 8, -1, 6}, {43, 16, -1, 3}, {75, 16, -17, 3}, {75, 16, -17, 3}};
  ASSERT_EQ(net.size(), 8 + 2);
  for (int i = 0; i < 8; ++i) {
    const Field f = receptive_field(net, i);
    EXPECT_EQ(f.size, want[i].size) << net.layer(i).name();
    EXPECT_EQ(f.jump, want[i].jump) << net.layer(i).name();
    EXPECT_EQ(f.first, want[i].first) << net.layer(i).name();
    EXPECT_EQ(net.output_shape(i)[2], want[i].side) << net.layer(i).name();
    EXPECT_EQ(net.output_shape(i)[3], want[i].side) << net.layer(i).name();
  }
  // "Layer L" is the ReLU after convL; it shares the conv's field.
  const FeatureLayer v = find_feature_layer(net, "conv2");
  EXPECT_EQ(v.layer, 3);
  EXPECT_EQ(v.act, 4);
  EXPECT_EQ(v.features, 4);
  // Any layer but the loss can be shown; one without a rectifier after it is shown as it is.
  const FeatureLayer p = find_feature_layer(net, "pool1");
  EXPECT_EQ(p.layer, 2);
  EXPECT_EQ(p.act, 2);
  EXPECT_EQ(find_feature_layer(net, "head").features, 2);
  EXPECT_THROW(find_feature_layer(net, "loss"), Error);
  EXPECT_THROW(find_feature_layer(net, "conv9"), Error);
  // The default: the filtering layers (geometry and parameters), i.e. the convs, not the pools.
  const std::vector<FeatureLayer> convs = filtering_layers(net);
  ASSERT_EQ(convs.size(), 3u);
  EXPECT_EQ(convs[0].name, "conv1");
  EXPECT_EQ(convs[2].name, "conv3");
}

// Every projection's nonzero support lies inside the field computed for its unit; on conv1, where
// the projection is the filter itself (no zero weights), the support is exactly the field clipped
// to the image.
TEST(ReceptiveField, ProjectionSupportLiesInsideTheField) {
  Net net = build_net(3, 64, 64, kZfLike);
  net.setup(2);
  net.init_params(test_seed());
  Tensor x = random_tensor(Shape{2, 3, 64, 64}, 31);
  const Pass pass = net.forward_to(x, 7, eval_state());
  int checked = 0;
  for (int layer : {1, 4, 7}) {
    const Field fld = receptive_field(net, layer);
    const Tensor& a = pass.output(layer);
    std::vector<Unit> units;
    for (int n = 0; n < 2; ++n)
      for (int f = 0; f < a.c(); ++f) units.push_back(strongest(a, n, f));
    // And every active unit of the last layer's feature 0, corners included.
    for (int y = 0; y < a.h(); ++y)
      for (int xx = 0; xx < a.w(); ++xx)
        if (layer == 7) units.push_back(Unit{1, 0, y, xx, at(a, 1, 0, y, xx)});
    for (const Unit& u : units) {
      if (u.value <= 0.f) continue;
      for (ReluRule rr : {ReluRule::Deconv, ReluRule::Backprop}) {
        const Tensor& p = net.project(pass, signal(a.shape(), {u}), layer, rule(rr));
        const int y0 = fld.first + u.y * fld.jump, x0 = fld.first + u.x * fld.jump;
        int lo_y = 1 << 30, hi_y = -1, lo_x = 1 << 30, hi_x = -1;
        int64_t outside = 0;
        for (int n = 0; n < 2; ++n)
          for (int c = 0; c < 3; ++c)
            for (int iy = 0; iy < 64; ++iy)
              for (int ix = 0; ix < 64; ++ix) {
                if (at(p, n, c, iy, ix) == 0.f) continue;
                if (n != u.n || iy < y0 || iy >= y0 + fld.size || ix < x0 || ix >= x0 + fld.size)
                  ++outside;
                lo_y = std::min(lo_y, iy), hi_y = std::max(hi_y, iy);
                lo_x = std::min(lo_x, ix), hi_x = std::max(hi_x, ix);
              }
        SCOPED_TRACE(net.layer(layer).name() + " " + relu_rule_name(rr) + " unit " +
                     std::to_string(u.n) + "/" + std::to_string(u.f) + " (" + std::to_string(u.y) +
                     ", " + std::to_string(u.x) + ")");
        EXPECT_EQ(outside, 0);
        ASSERT_GE(hi_y, 0) << "empty projection";
        if (layer == 1) {
          EXPECT_EQ(lo_y, std::max(y0, 0));
          EXPECT_EQ(hi_y, std::min(y0 + fld.size, 64) - 1);
          EXPECT_EQ(lo_x, std::max(x0, 0));
          EXPECT_EQ(hi_x, std::min(x0 + fld.size, 64) - 1);
        }
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 30);
}

// ---- rule backprop = the trainer's gradient -----------------------------------------------------

namespace {

// The trainer's backward pass (Layer::backward, layer by layer) from dy at layer `top`'s output
// down to the input. With skip_lrn, LRN layers pass their gradient through unchanged, as the
// deconvnet does.
Tensor backward_from(Net& net, const Pass& pass, const Tensor& dy, int top, bool skip_lrn) {
  Tensor cur = dy.clone();
  for (int i = top; i >= 0; --i) {
    const Tensor& x = i ? pass.output(i - 1) : pass.input();
    Tensor dx(x.shape());
    if (skip_lrn && std::string(net.layer(i).type()) == "lrn")
      dx.copy_from(cur);
    else
      net.layer(i).backward(&dx, cur, x, pass.output(i), pass.saved(i), pass.run());
    cur = std::move(dx);
  }
  return cur;
}

const char* kWithLrn =
    "  - {name: conv1, type: conv, filters: 4, kernel: 3, pad: 1, std: 0.4}\n"
    "  - {name: relu1, type: relu}\n"
    "  - {name: pool1, type: maxpool, kernel: 3, stride: 2}\n"
    "  - {name: norm1, type: lrn, size: 3, alpha: 0.5, beta: 0.75, k: 1}\n"
    "  - {name: conv2, type: conv, filters: 5, kernel: 3, pad: 1, std: 0.3, bias: 0.05}\n"
    "  - {name: relu2, type: relu}\n";

}  // namespace

TEST(DeconvnetBackprop, EqualsTheGradientOfTheChosenActivation) {
  Net net = build_net(2, 12, 12, kWithLrn);
  net.setup(2);
  net.init_params(test_seed() + 1);
  Tensor x = random_tensor(Shape{2, 2, 12, 12}, 41);
  const Pass pass = net.forward_to(x, 5, eval_state());
  const Shape top = net.output_shape(5);
  ASSERT_EQ(top, (Shape{2, 5, 6, 6}));
  for (bool through_lrn : {true, false}) {
    Tensor first_run;
    for (int f = 0; f < 5; ++f) {
      // One-hot (value 1) at the strongest unit of feature f in image 0, and of feature 4-f in
      // image 1 (or of the next active features).
      Unit u0 = strongest_alive(pass.output(5), 0, f),
           u1 = strongest_alive(pass.output(5), 1, 4 - f);
      ASSERT_GT(u0.value, 0.f);
      ASSERT_GT(u1.value, 0.f);
      u0.value = u1.value = 1.f;
      for (const std::vector<Unit>& units : {std::vector<Unit>{u0}, std::vector<Unit>{u0, u1}}) {
        Tensor r = signal(top, units);
        Tensor grad = backward_from(net, pass, r, 5, !through_lrn);
        const Tensor& proj = net.project(pass, r, 5, rule(ReluRule::Backprop, through_lrn));
        SCOPED_TRACE(std::string(through_lrn ? "through LRN" : "skipping LRN") + ", feature " +
                     std::to_string(f) + ", units " + std::to_string(units.size()));
        EXPECT_TRUE(same_bits(proj, grad));
        EXPECT_GT(nonzeros(grad), 0);
      }
    }
  }
  // The LRN here is strong enough that crossing it matters.
  Unit u = strongest_alive(pass.output(5), 0, 0);
  u.value = 1.f;
  Tensor r = signal(top, {u});
  Tensor through = copy_of(net.project(pass, r, 5, rule(ReluRule::Backprop, true)));
  Tensor skipped = copy_of(net.project(pass, r, 5, rule(ReluRule::Backprop, false)));
  EXPECT_FALSE(same_values(through, skipped));
}

// ---- fully connected feature layers -------------------------------------------------------------

namespace {

// A conv stage, then two fc layers with a dropout between: an fc unit's projection crosses every
// kind of step (fc transposed, ReLU, dropout, unpooling, conv transposed).
const char* kFcStack =
    "  - {name: conv1, type: conv, filters: 4, kernel: 3, pad: 1, std: 0.3}\n"
    "  - {name: relu1, type: relu}\n"
    "  - {name: pool1, type: maxpool, kernel: 3, stride: 2}\n"
    "  - {name: fc2, type: fc, outputs: 6, std: 0.2, bias: 0.05}\n"
    "  - {name: relu2, type: relu}\n"
    "  - {name: drop2, type: dropout, p: 0.5}\n"
    "  - {name: fc3, type: fc, outputs: 5, std: 0.3, bias: 0.05}\n"
    "  - {name: relu3, type: relu}\n";

// Random 8-bit images held in memory, so that mining runs without data files.
class RandomImages : public Dataset {
 public:
  RandomImages(int64_t n, int c, int side, uint64_t stream) : n_(n), c_(c), side_(side) {
    pixels_.resize(static_cast<size_t>(n) * c * side * side);
    for (size_t i = 0; i < pixels_.size(); ++i)
      pixels_[i] = static_cast<uint8_t>(rng_u32(test_seed(), stream, i) & 255u);
  }
  int64_t size() const override { return n_; }
  int channels() const override { return c_; }
  int height() const override { return side_; }
  int width() const override { return side_; }
  int num_classes() const override { return 2; }
  int32_t label(int64_t i) const override { return static_cast<int32_t>(i % 2); }
  void image(int64_t i, uint8_t* chw) const override {
    const size_t per = image_bytes();
    std::copy(pixels_.begin() + i * per, pixels_.begin() + (i + 1) * per, chw);
  }
  std::string source() const override { return "random images"; }

 private:
  int64_t n_;
  int c_, side_;
  std::vector<uint8_t> pixels_;
};

// A session over a net made here (no checkpoint): pixels scaled by 1/64, no mean subtracted.
Session test_session(Net net, const Dataset& ds) {
  Session s;
  s.cfg.data.threads = 1;
  s.cfg.data.transform.scale = 1.f / 64;
  s.norm = make_normalizer(ds, s.cfg.data.transform);
  s.net = std::make_unique<Net>(std::move(net));
  return s;
}

}  // namespace

// A unit after an fc layer sees the union of its input units' fields, clipped to the image: the
// whole image behind convs that cover it, and only the covered part when the convs drop a border.
TEST(ReceptiveField, FcUnitsSeeWhatTheirInputsSee) {
  Net net = build_net(2, 12, 12, kFcStack);
  const FeatureLayer fc3 = find_feature_layer(net, "fc3");
  EXPECT_EQ(fc3.layer, 6);
  EXPECT_EQ(fc3.act, 7);
  EXPECT_EQ(fc3.features, 5);
  EXPECT_EQ(find_feature_layer(net, "drop2").act, 5);  // no rectifier after it
  // pool1 (6x6): size 5, jump 2, first -1; its units together cover [-1, 14), i.e. all 12 pixels.
  for (int layer : {3, 4, 5, 6, 7}) {
    const Field f = receptive_field(net, layer);
    EXPECT_EQ(f.first, 0) << net.layer(layer).name();
    EXPECT_EQ(f.size, 12) << net.layer(layer).name();
    EXPECT_EQ(f.jump, 12) << net.layer(layer).name();
  }
  // conv 3/2 without padding on 8 pixels: 3 units covering [0, 7), so pixel 7 is never seen.
  Net edge = build_net(1, 8, 8,
                       "  - {name: c, type: conv, filters: 2, kernel: 3, stride: 2, std: 0.5}\n"
                       "  - {name: f, type: fc, outputs: 3, std: 0.5}\n"
                       "  - {name: r, type: relu}\n");
  const Field f = receptive_field(edge, 2);
  EXPECT_EQ(f.first, 0);
  EXPECT_EQ(f.size, 7);
  ASSERT_EQ(edge.output_shape(0), (Shape{1, 2, 3, 3}));
  edge.init_params(test_seed() + 7);
  Tensor x = random_tensor(Shape{1, 1, 8, 8}, 45);
  const Pass pass = edge.forward_to(x, 2, eval_state());
  Tensor r = Tensor::zeros(pass.output(2).shape());  // [1, 3]: every unit at once
  for (int u = 0; u < 3; ++u) r.f32()[u] = 1.f;
  const Tensor& p = edge.project(pass, r, 2, rule(ReluRule::Backprop));
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(at(p, 0, 0, 7, i), 0.f) << "row 7 lies outside every unit's field";
    EXPECT_EQ(at(p, 0, 0, i, 7), 0.f) << "column 7 lies outside every unit's field";
  }
}

// Mining an fc layer over a data set keeps, per feature, the k images with the largest activation
// (each a 1x1 map); projecting one alone with rule backprop is the trainer's gradient of that
// activation, through dropout (identity at evaluation), fc, pooling and conv.
TEST(DeconvnetBackprop, FcUnitsMineAndProjectAsTheGradient) {
  const RandomImages ds(13, 2, 12, 81);
  Net built = build_net(2, 12, 12, kFcStack);
  built.init_params(test_seed() + 4);
  Session s = test_session(std::move(built), ds);
  Net& net = *s.net;
  const FeatureLayer fc3 = find_feature_layer(net, "fc3");
  const std::vector<TopK> tops = mine_topk(s, ds, {fc3}, 3, 4);
  ASSERT_EQ(tops.size(), 1u);
  // The same activations from one forward pass over all images.
  Tensor all(Shape{13, 2, 12, 12});
  for (int64_t i = 0; i < 13; ++i)
    view_sample(ds, s.cfg.data.transform, s.norm, i, kCenterView, all.f32() + i * 2 * 12 * 12);
  const Pass full_pass = net.forward_to(all, fc3.act, eval_state());
  const Tensor acts = copy_of(full_pass.output(fc3.act));
  ASSERT_EQ(acts.shape(), (Shape{13, 5}));
  int projected = 0;
  for (int f = 0; f < 5; ++f) {
    std::vector<Hit> want;
    for (int64_t i = 0; i < 13; ++i) want.push_back(Hit{acts.f32()[i * 5 + f], i, 0, 0});
    std::stable_sort(want.begin(), want.end(),
                     [](const Hit& a, const Hit& b) { return a.value > b.value; });
    const std::vector<Hit> got = tops[0].sorted(f);
    ASSERT_EQ(got.size(), 3u);
    for (int j = 0; j < 3; ++j) {
      EXPECT_EQ(got[j].image, want[j].image) << "feature " << f << " place " << j;
      EXPECT_EQ(got[j].value, want[j].value);
      EXPECT_EQ(got[j].y, 0);
      EXPECT_EQ(got[j].x, 0);
    }
    if (got[0].value <= 0.f) continue;  // a dead unit projects nothing
    const std::vector<ProjectRequest> req = {{f, got[0]}};
    const auto proj = project_full(s, ds, fc3, req, rule(ReluRule::Backprop), 1);
    Tensor x = image(all, got[0].image);
    const Pass pass = net.forward_to(x, fc3.act, eval_state());
    // [1, 5]: unit f alone, at its value in this pass of the image alone, as the projection sets
    // it (the mined value came from a pass over 4 images, and OpenBLAS's sums at 1 and 4 rows of
    // fc2 may differ in their last bits).
    Tensor dy = Tensor::zeros(pass.output(fc3.act).shape());
    dy.f32()[f] = pass.output(fc3.act).f32()[f];
    Tensor grad = backward_from(net, pass, dy, fc3.act, true);
    SCOPED_TRACE("feature " + std::to_string(f));
    EXPECT_TRUE(same_bits(proj[0].data(), grad.f32(), grad.numel()));
    EXPECT_GT(nonzeros(grad), 0);
    // Cropped to the field (the whole 12x12 image), the projection is the same numbers.
    const auto hits = project_hits(s, ds, fc3, req, rule(ReluRule::Backprop), 1);
    ASSERT_EQ(hits[0].proj.size(), proj[0].size());
    EXPECT_TRUE(same_bits(hits[0].proj.data(), proj[0].data(), grad.numel()));
    ++projected;
  }
  EXPECT_GE(projected, 2);
}

// ---- bitwise reproducibility --------------------------------------------------------------------

namespace {

// Every layer type the deconvnet crosses, three conv stages deep.
const char* kThreeStages =
    "  - {name: conv1, type: conv, filters: 6, kernel: 5, stride: 2, pad: 1, std: 0.15}\n"
    "  - {name: relu1, type: relu}\n"
    "  - {name: pool1, type: maxpool, kernel: 3, stride: 2}\n"
    "  - {name: norm1, type: lrn, size: 5, alpha: 0.1, k: 1}\n"
    "  - {name: conv2, type: conv, filters: 8, kernel: 3, pad: 1, std: 0.2}\n"
    "  - {name: relu2, type: relu}\n"
    "  - {name: pool2, type: maxpool, kernel: 3, stride: 2}\n"
    "  - {name: conv3, type: conv, filters: 8, kernel: 3, pad: 1, std: 0.2, bias: 0.01}\n"
    "  - {name: relu3, type: relu}\n";
const int kRelu3 = 8, kRelu2 = 5;

const ProjectOptions kAllRules[] = {rule(ReluRule::Deconv), rule(ReluRule::Guided),
                                    rule(ReluRule::Backprop), rule(ReluRule::Deconv, true)};

}  // namespace

// A batch of 4 images, each with its own chosen activation, projects to the same bits as each image
// alone (batch 1). Run with 2 threads (the CPU conv then takes its one-image-per-thread path for
// the batch and its serial path for single images) and with the default thread count.
TEST(DeconvnetDeterminism, BatchEqualsOneAtATime) {
  Net net = build_net(3, 32, 32, kThreeStages);
  net.setup(4);
  net.init_params(test_seed() + 2);
  Tensor x = random_tensor(Shape{4, 3, 32, 32}, 51);
  std::vector<int> thread_counts = {2};
  if (omp_get_max_threads() != 2) thread_counts.push_back(omp_get_max_threads());
  for (int threads : thread_counts) {
    Threads scope(threads);
    SCOPED_TRACE("threads " + std::to_string(threads));
    const Pass pass = net.forward_to(x, kRelu3, eval_state());
    Tensor acts = copy_of(pass.output(kRelu3));
    std::vector<Unit> units;
    for (int n = 0; n < 4; ++n) {
      units.push_back(strongest_alive(acts, n, (3 * n + 1) % 8));
      ASSERT_GT(units.back().value, 0.f);
    }
    std::vector<Tensor> batched;
    for (const ProjectOptions& o : kAllRules)
      batched.push_back(copy_of(net.project(pass, signal(acts.shape(), units), kRelu3, o)));
    const int64_t per_image = 3 * 32 * 32, per_act = acts.numel() / 4;
    for (int n = 0; n < 4; ++n) {
      Tensor xn = image(x, n);
      const Pass one = net.forward_to(xn, kRelu3, eval_state());
      EXPECT_TRUE(same_bits(one.output(kRelu3).f32(), acts.f32() + n * per_act, per_act))
          << "forward, image " << n;
      Unit u = units[n];
      u.n = 0;
      for (size_t k = 0; k < std::size(kAllRules); ++k) {
        const Tensor& alone =
            net.project(one, signal(one.output(kRelu3).shape(), {u}), kRelu3, kAllRules[k]);
        EXPECT_TRUE(same_bits(alone.f32(), batched[k].f32() + n * per_image, per_image))
            << "image " << n << ", rule " << relu_rule_name(kAllRules[k].rule)
            << (kAllRules[k].through_lrn ? " through LRN" : "");
      }
    }
  }
}

// The same inputs give the same bits: repeated projections, interleaved with other projections,
// other forward passes (another batch size) and a second net built the same way. Projecting leaves
// the signal and the forward activations untouched.
TEST(DeconvnetDeterminism, RepeatsGiveTheSameBits) {
  Net net = build_net(3, 32, 32, kThreeStages);
  net.init_params(test_seed() + 3);
  Tensor x = random_tensor(Shape{3, 3, 32, 32}, 61), other = random_tensor(Shape{2, 3, 32, 32}, 62);
  const Pass pass = net.forward_to(x, kRelu3, eval_state());
  const Tensor acts = copy_of(pass.output(kRelu3));
  const Tensor acts2 = copy_of(pass.output(kRelu2));
  const Tensor ra =
      signal(acts.shape(), {strongest_alive(acts, 0, 2), strongest_alive(acts, 2, 5)});
  const Tensor ra_copy = copy_of(ra);
  const Tensor rb = signal(acts2.shape(), {strongest_alive(acts2, 1, 3)});
  ASSERT_GT(nonzeros(ra), 1);
  // A second net built the same way, fed the same batch.
  Net twin = build_net(3, 32, 32, kThreeStages);
  twin.init_params(test_seed() + 3);
  const Pass twin_pass = twin.forward_to(x, kRelu3, eval_state());

  for (const ProjectOptions& o : kAllRules) {
    SCOPED_TRACE(std::string(relu_rule_name(o.rule)) + (o.through_lrn ? " through LRN" : ""));
    Tensor first = copy_of(net.project(pass, ra, kRelu3, o));
    EXPECT_GT(nonzeros(first), 0);
    net.project(pass, rb, kRelu2, rule(ReluRule::Guided));
    Tensor second = copy_of(net.project(pass, ra, kRelu3, o));
    EXPECT_TRUE(same_bits(second, first));
    EXPECT_TRUE(same_bits(ra, ra_copy));
    EXPECT_TRUE(same_bits(pass.output(kRelu3), acts));
    EXPECT_TRUE(same_bits(pass.output(kRelu2), acts2));

    {
      const Pass b = net.forward_to(other, kRelu3, eval_state());
      net.project(b, signal(b.output(kRelu3).shape(), {strongest_alive(b.output(kRelu3), 1, 0)}),
                  kRelu3, o);
    }
    const Pass again = net.forward_to(x, kRelu3, eval_state());
    EXPECT_TRUE(same_bits(again.output(kRelu3), acts));
    Tensor third = copy_of(net.project(again, ra, kRelu3, o));
    EXPECT_TRUE(same_bits(third, first));

    EXPECT_TRUE(same_bits(twin.project(twin_pass, ra, kRelu3, o), first));
  }
}

// ---- top-k --------------------------------------------------------------------------------------

TEST(TopK, KeepsTheLargestWithLowerImagesWinningTies) {
  TopK top(3, 3);
  EXPECT_EQ(top.features(), 3);
  // Feature 0: the 5s of images 6, 3 and 1 tie; only two fit behind the 7, and the lower images win
  // even though image 6 came first.
  const float values[] = {1, 5, 3, 5, 2, 7, 5};
  for (int64_t img : {6, 0, 4, 3, 2, 5, 1})
    top.offer(0, Hit{values[img], img, static_cast<int>(img), 10 + static_cast<int>(img)});
  std::vector<Hit> s = top.sorted(0);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].value, 7.f);
  EXPECT_EQ(s[0].image, 5);
  EXPECT_EQ(s[1].value, 5.f);
  EXPECT_EQ(s[1].image, 1);
  EXPECT_EQ(s[2].value, 5.f);
  EXPECT_EQ(s[2].image, 3);
  EXPECT_EQ(s[1].y, 1);  // the hit's position travels with it
  EXPECT_EQ(s[1].x, 11);
  // A tie with the weakest kept hit from a higher image does not get in.
  top.offer(0, Hit{5, 9, 0, 0});
  EXPECT_EQ(top.sorted(0)[2].image, 3);
  // Fewer offers than k: all of them, sorted; none: empty. Features are independent.
  top.offer(1, Hit{-1, 4, 0, 0});
  top.offer(1, Hit{0.5f, 8, 0, 0});
  s = top.sorted(1);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].image, 8);
  EXPECT_EQ(s[1].image, 4);
  EXPECT_TRUE(top.sorted(2).empty());
  EXPECT_THROW(TopK(2, 0), Error);
}

// Against a full sort over many offers with many ties, in a scrambled order: the same k hits in the
// same order, and never more than k kept.
TEST(TopK, MatchesAFullSortAndStaysBounded) {
  const int features = 4, k = 7, images = 3000;
  TopK top(features, k);
  std::vector<std::vector<Hit>> all(features);
  for (int i = 0; i < images; ++i) {
    const int64_t img =
        (static_cast<int64_t>(i) * 1237) % images;  // 1237 is prime to 3000: a permutation
    for (int f = 0; f < features; ++f) {
      // Few distinct values, so ties decide many places: feature 0 is capped so that hundreds of
      // images tie for the top, feature 1 has fine steps (distinct values at the top), 2 and 3 are
      // in between.
      const float z = rng_normal(test_seed(), 70 + f, static_cast<uint64_t>(img));
      const float v =
          f == 0 ? std::min(std::floor(2.f * z), 2.f) : std::floor((f == 1 ? 16.f : 4.f) * z);
      Hit h{v, img, i % 13, f};
      top.offer(f, h);
      all[f].push_back(h);
    }
    if (i % 500 == 0) {
      for (int f = 0; f < features; ++f) EXPECT_LE(top.sorted(f).size(), static_cast<size_t>(k));
    }
  }
  for (int f = 0; f < features; ++f) {
    std::sort(all[f].begin(), all[f].end(), [](const Hit& a, const Hit& b) {
      return a.value != b.value ? a.value > b.value : a.image < b.image;
    });
    const std::vector<Hit> got = top.sorted(f);
    ASSERT_EQ(got.size(), static_cast<size_t>(k));
    for (int j = 0; j < k; ++j) {
      EXPECT_EQ(got[j].value, all[f][j].value) << "feature " << f << " place " << j;
      EXPECT_EQ(got[j].image, all[f][j].image) << "feature " << f << " place " << j;
      EXPECT_EQ(got[j].y, all[f][j].y);
    }
    if (f == 0) {
      EXPECT_EQ(got[0].value, got[k - 1].value) << "feature 0 should be all ties";
    }
    if (f == 1) {
      EXPECT_GT(got[0].value, got[k - 1].value) << "feature 1 should have distinct values";
    }
  }
}

// ---- the three rules ----------------------------------------------------------------------------

// The ReLU step alone, on a signal with negative parts: deconv = relu(r), guided = relu(r) where x
// > 0, backprop = r where x > 0.
TEST(ReluRules, TheReluStepFollowsTheDocumentedFormulas) {
  EXPECT_EQ(parse_relu_rule("deconv"), ReluRule::Deconv);
  EXPECT_EQ(parse_relu_rule("guided"), ReluRule::Guided);
  EXPECT_EQ(parse_relu_rule("backprop"), ReluRule::Backprop);
  EXPECT_STREQ(relu_rule_name(ReluRule::Guided), "guided");
  EXPECT_THROW(parse_relu_rule("deconvnet"), Error);

  const Tensor r = random_tensor(Shape{2, 3, 5, 7}, 81), x = random_tensor(Shape{2, 3, 5, 7}, 82);
  int cases[4] = {0, 0, 0, 0};  // (r > 0) * 2 + (x > 0)
  for (int64_t i = 0; i < r.numel(); ++i) ++cases[(r.f32()[i] > 0) * 2 + (x.f32()[i] > 0)];
  for (int c : cases) ASSERT_GT(c, 0);
  for (ReluRule rr : {ReluRule::Deconv, ReluRule::Guided, ReluRule::Backprop}) {
    Tensor out(r.shape());
    out.fill(std::nanf(""));  // poisoned
    relu_project(out, r, x, rr);
    Tensor want(r.shape());
    for (int64_t i = 0; i < r.numel(); ++i) {
      const float ri = r.f32()[i], xi = x.f32()[i];
      const float relu_r = ri > 0.f ? ri : 0.f;
      want.f32()[i] = rr == ReluRule::Deconv   ? relu_r
                      : rr == ReluRule::Guided ? (xi > 0.f ? relu_r : 0.f)
                                               : (xi > 0.f ? ri : 0.f);
    }
    EXPECT_TRUE(same_values(out, want)) << relu_rule_name(rr);
  }
}

// Through a net: conv1 -> relu1 -> conv2 -> relu2, projecting a unit of relu2. The signal that
// reaches relu1 (conv2's transposed filter) has negative parts, so the rules differ there exactly
// as documented, and the input-space results are those steps filtered by conv1's transposed
// filters.
TEST(ReluRules, DifferAsDocumentedInsideANet) {
  Net net = build_net(2, 10, 10,
                      "  - {name: conv1, type: conv, filters: 3, kernel: 3, pad: 1, std: 0.5}\n"
                      "  - {name: relu1, type: relu}\n"
                      "  - {name: conv2, type: conv, filters: 4, kernel: 3, pad: 1, std: 0.5}\n"
                      "  - {name: relu2, type: relu}\n");
  net.setup(2);
  net.init_params(test_seed() + 4);
  ConvParams cp;
  cp.kernel = 3, cp.stride = 1, cp.pad = 1;
  Tensor x = random_tensor(Shape{2, 2, 10, 10}, 91);
  const Pass pass = net.forward_to(x, 3, eval_state());
  const Tensor &pre1 = pass.output(0), &top = pass.output(3);
  const Unit u = strongest_alive(top, 1, 2);
  ASSERT_GT(u.value, 0.f);
  const Tensor r = signal(top.shape(), {u});

  // The signal at relu1's output: conv2's transposed filter times the activation (relu2 passes it:
  // its forward input there is > 0 and the signal is positive).
  Tensor s(pre1.shape());
  conv_backward_data(s, r, param(net, "conv2", "weight").value, cp);
  int neg_active = 0, pos_inactive = 0;
  for (int64_t i = 0; i < s.numel(); ++i) {
    neg_active += s.f32()[i] < 0.f && pre1.f32()[i] > 0.f;
    pos_inactive += s.f32()[i] > 0.f && pre1.f32()[i] <= 0.f;
  }
  ASSERT_GT(neg_active, 0);    // deconv and guided drop these, backprop keeps them
  ASSERT_GT(pos_inactive, 0);  // deconv keeps these, guided and backprop drop them

  std::vector<Tensor> results;
  for (ReluRule rr : {ReluRule::Deconv, ReluRule::Guided, ReluRule::Backprop}) {
    Tensor step(s.shape());
    for (int64_t i = 0; i < s.numel(); ++i) {
      const float si = s.f32()[i];
      const bool on = pre1.f32()[i] > 0.f;
      step.f32()[i] = rr == ReluRule::Deconv   ? std::max(si, 0.f)
                      : rr == ReluRule::Guided ? (on && si > 0.f ? si : 0.f)
                                               : (on ? si : 0.f);
    }
    Tensor want(x.shape());
    conv_backward_data(want, step, param(net, "conv1", "weight").value, cp);
    const Tensor& got = net.project(pass, r, 3, rule(rr));
    EXPECT_TRUE(same_values(got, want)) << relu_rule_name(rr);
    results.push_back(copy_of(got));
  }
  EXPECT_FALSE(same_values(results[0], results[1]));
  EXPECT_FALSE(same_values(results[0], results[2]));
  EXPECT_FALSE(same_values(results[1], results[2]));

  // At a unit that is off (relu2's input <= 0), the gradient and guided backprop are exactly zero,
  // while the deconvnet, which never looks at the forward pass through a ReLU, still projects the
  // filter.
  Unit off{0, 1, 0, 0, 0.f};
  for (int y = 0; y < top.h() && off.value == 0.f; ++y)
    for (int xx = 0; xx < top.w() && off.value == 0.f; ++xx)
      if (at(pass.output(2), 0, 1, y, xx) < 0.f) off = Unit{0, 1, y, xx, 1.f};
  ASSERT_EQ(off.value, 1.f) << "no inactive unit in feature 1";
  const Tensor r_off = signal(top.shape(), {off});
  EXPECT_EQ(nonzeros(net.project(pass, r_off, 3, rule(ReluRule::Backprop))), 0);
  EXPECT_EQ(nonzeros(net.project(pass, r_off, 3, rule(ReluRule::Guided))), 0);
  EXPECT_GT(nonzeros(net.project(pass, r_off, 3, rule(ReluRule::Deconv))), 0);
}
