// CUDA ops against the CPU ops (the reference), for every op: odd sizes, padding, stride 2, ZFNet's
// real layer shapes at batch 2, overlapping pools with planted ties. Outputs are poisoned on the
// device before each call; values must agree to a relative error of 1e-5 and switches and dropout
// masks exactly. Both backends get the very same inputs (for backward ops: the CPU forward's
// outputs), so each comparison isolates one op. Every test skips when no GPU is usable, so the
// binary runs on any machine.
#include <gtest/gtest.h>

#include "core/backend.h"
#include "core/ops.h"
#include "test_util.h"

using namespace zf;
using tu::near;
using tu::poisoned;

namespace {

constexpr double kTol = 1e-5;

Tensor dev(const Tensor& t) {
  return t.to(Device::CUDA);
}
Tensor dev_poisoned(const Shape& s, DType t = DType::F32) {
  return poisoned(s, Device::CUDA, t);
}

// The device output stayed on the device and matches the CPU result.
::testing::AssertionResult matches(const Tensor& on_device, const Tensor& on_cpu,
                                   double tol = kTol) {
  if (on_device.device() != Device::CUDA)
    return ::testing::AssertionFailure()
           << "output " << on_device.desc() << " is not on the device";
  return on_cpu.dtype() == DType::I32 ? tu::same_ints(on_device, on_cpu)
                                      : near(on_device, on_cpu, tol);
}

// ---- convolution
// -------------------------------------------------------------------------------------------

struct ConvCase {
  const char* name;
  Shape x;
  int64_t out;
  ConvParams p;
};

const ConvCase kConvCases[] = {
    {"odd stride 2 pad 1", Shape{2, 3, 9, 11}, 5, ConvParams{3, 2, 1}},
    {"1x1", Shape{2, 4, 8, 7}, 6, ConvParams{1, 1, 0}},
    {"7x7/2 pad 1 odd", Shape{1, 3, 17, 15}, 4, ConvParams{7, 2, 1}},
    {"5x5/2 odd", Shape{3, 5, 12, 13}, 3, ConvParams{5, 2, 0}},
    {"stride 3 even kernel", Shape{1, 2, 10, 9}, 3, ConvParams{2, 3, 1}},
    {"1x1 input", Shape{2, 3, 1, 1}, 4, ConvParams{3, 1, 1}},
    {"conv1", Shape{2, 3, 224, 224}, 96, ConvParams{7, 2, 1}},
    {"conv2", Shape{2, 96, 55, 55}, 256, ConvParams{5, 2, 0}},
    {"conv3", Shape{2, 256, 13, 13}, 384, ConvParams{3, 1, 1}},
    {"conv4", Shape{2, 384, 13, 13}, 384, ConvParams{3, 1, 1}},
    {"conv5", Shape{2, 384, 13, 13}, 256, ConvParams{3, 1, 1}},
};

TEST(Cuda, Conv2dMatchesCpu) {
  if (!zf::backend::cuda_available()) GTEST_SKIP() << zf::backend::cuda_status();
  tu::Rng g(401);
  for (const ConvCase& t : kConvCases) {
    SCOPED_TRACE(t.name);
    Tensor x = tu::uniform(t.x, g),
           w = tu::uniform(Shape{t.out, t.x[1], t.p.kernel, t.p.kernel}, g);
    Tensor b = tu::uniform(Shape{t.out}, g);
    const Shape ys = conv_output_shape(t.x, static_cast<int>(t.out), t.p);
    Tensor y = poisoned(ys), yd = dev_poisoned(ys);
    conv_forward(y, x, w, b, t.p);
    conv_forward(yd, dev(x), dev(w), dev(b), t.p);
    EXPECT_TRUE(matches(yd, y)) << "conv_forward";

    Tensor dy = tu::uniform(ys, g);
    Tensor dx = poisoned(t.x), dxd = dev_poisoned(t.x);
    conv_backward_data(dx, dy, w, t.p);
    conv_backward_data(dxd, dev(dy), dev(w), t.p);
    EXPECT_TRUE(matches(dxd, dx)) << "conv_backward_data";

    Tensor dw = poisoned(w.shape()), db = poisoned(b.shape());
    Tensor dwd = dev_poisoned(w.shape()), dbd = dev_poisoned(b.shape());
    conv_backward_weight(dw, db, dy, x, t.p);
    conv_backward_weight(dwd, dbd, dev(dy), dev(x), t.p);
    EXPECT_TRUE(matches(dwd, dw)) << "conv_backward_weight dw";
    EXPECT_TRUE(matches(dbd, db)) << "conv_backward_weight db";
  }
}

// ---- rectification
// ------------------------------------------------------------------------------------------

const Shape kElemShapes[] = {Shape{1}, Shape{3, 5, 7, 1}, Shape{2, 1001}, Shape{2, 96, 55, 55}};

// Uniform with planted exact zeros (the x > 0 boundary).
Tensor with_zeros(const Shape& s, tu::Rng& g) {
  Tensor x = tu::uniform(s, g);
  for (int64_t i = 0; i < x.numel(); i += 5) x.f32()[i] = 0.f;
  return x;
}

TEST(Cuda, ReluMatchesCpu) {
  if (!zf::backend::cuda_available()) GTEST_SKIP() << zf::backend::cuda_status();
  tu::Rng g(402);
  for (const Shape& s : kElemShapes) {
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
    for (ReluRule rule : {ReluRule::Deconv, ReluRule::Guided, ReluRule::Backprop}) {
      Tensor o = poisoned(s), od = dev_poisoned(s);
      relu_project(o, r, x, rule);
      relu_project(od, dev(r), dev(x), rule);
      EXPECT_TRUE(matches(od, o, 0)) << "relu_project " << relu_rule_name(rule);
    }
  }
}

// ---- max-pooling
// ---------------------------------------------------------------------------------------------

struct PoolCase {
  const char* name;
  Shape x;
  PoolParams p;
  std::vector<float> levels;  // inputs drawn from these values (ties); empty: uniform
};

const PoolCase kPoolCases[] = {
    {"3/2 partial border, ties", Shape{2, 3, 8, 8}, PoolParams{3, 2}, {-1.f, 0.5f, 1.f}},
    {"3/2 odd non-square, ties", Shape{1, 4, 7, 9}, PoolParams{3, 2}, {-1.f, 0.5f, 1.f}},
    {"3/1 heavy overlap, ties", Shape{2, 5, 11, 10}, PoolParams{3, 1}, {-1.f, 0.5f, 1.f}},
    {"2/3 Caffe rule", Shape{2, 2, 6, 6}, PoolParams{2, 3}, {}},
    {"1/3 Caffe rule", Shape{1, 3, 5, 7}, PoolParams{1, 3}, {}},
    {"all tied", Shape{2, 3, 9, 9}, PoolParams{3, 2}, {0.25f}},
    {"4/2 uniform", Shape{1, 2, 10, 11}, PoolParams{4, 2}, {}},
    {"pool1", Shape{2, 96, 110, 110}, PoolParams{3, 2}, {-2.f, -1.f, 1.f, 2.f}},
    {"pool2", Shape{2, 256, 26, 26}, PoolParams{3, 2}, {-2.f, -1.f, 1.f, 2.f}},
    {"pool5", Shape{2, 256, 13, 13}, PoolParams{3, 2}, {-2.f, -1.f, 1.f, 2.f}},
    {"pool1 uniform", Shape{2, 96, 110, 110}, PoolParams{3, 2}, {}},
};

TEST(Cuda, MaxpoolMatchesCpu) {
  if (!zf::backend::cuda_available()) GTEST_SKIP() << zf::backend::cuda_status();
  tu::Rng g(403);
  for (const PoolCase& t : kPoolCases) {
    SCOPED_TRACE(t.name);
    Tensor x = t.levels.empty() ? tu::uniform(t.x, g) : tu::quantized(t.x, g, t.levels);
    const Shape ys = pool_output_shape(t.x, t.p);
    Tensor y = poisoned(ys), sw = poisoned(ys, Device::CPU, DType::I32);
    Tensor yd = dev_poisoned(ys), swd = dev_poisoned(ys, DType::I32);
    maxpool_forward(y, sw, x, t.p);
    maxpool_forward(yd, swd, dev(x), t.p);
    EXPECT_TRUE(matches(yd, y, 0)) << "maxpool_forward values";
    EXPECT_TRUE(matches(swd, sw)) << "maxpool_forward switches";

    Tensor dy = tu::uniform(ys, g);
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

// ---- LRN
// --------------------------------------------------------------------------------------------------------

TEST(Cuda, LrnMatchesCpu) {
  if (!zf::backend::cuda_available()) GTEST_SKIP() << zf::backend::cuda_status();
  tu::Rng g(404);
  struct Case {
    const char* name;
    Shape x;
    LrnParams p;
    float amplitude;
  };
  const Case cases[] = {
      {"odd, window wider than channels", Shape{2, 3, 5, 7}, LrnParams{5, 1e-4f, 0.75f, 2.f},
       150.f},
      {"size 3 strong", Shape{1, 10, 4, 3}, LrnParams{3, 1.f, 0.75f, 1.f}, 1.f},
      {"size 1", Shape{1, 6, 3, 3}, LrnParams{1, 0.5f, 1.5f, 1.f}, 2.f},
      {"norm1", Shape{2, 96, 55, 55}, LrnParams{}, 100.f},
      {"norm2", Shape{2, 256, 13, 13}, LrnParams{}, 100.f},
  };
  for (const Case& t : cases) {
    SCOPED_TRACE(t.name);
    Tensor x = tu::uniform(t.x, g, -t.amplitude, t.amplitude);
    Tensor y = poisoned(t.x), s = poisoned(t.x), yd = dev_poisoned(t.x), sd = dev_poisoned(t.x);
    lrn_forward(y, s, x, t.p);
    lrn_forward(yd, sd, dev(x), t.p);
    EXPECT_TRUE(matches(yd, y)) << "lrn_forward y";
    EXPECT_TRUE(matches(sd, s)) << "lrn_forward scale";
    Tensor dy = tu::uniform(t.x, g), dx = poisoned(t.x), dxd = dev_poisoned(t.x);
    lrn_backward(dx, dy, x, y, s, t.p);
    lrn_backward(dxd, dev(dy), dev(x), dev(y), dev(s), t.p);
    EXPECT_TRUE(matches(dxd, dx)) << "lrn_backward";
  }
}

// ---- fully connected
// -------------------------------------------------------------------------------------------

TEST(Cuda, FcMatchesCpu) {
  if (!zf::backend::cuda_available()) GTEST_SKIP() << zf::backend::cuda_status();
  tu::Rng g(405);
  struct Case {
    const char* name;
    Shape x;
    int64_t out;
  };
  const Case cases[] = {
      {"odd", Shape{3, 17}, 9},           {"4-d input", Shape{2, 5, 3, 3}, 7},
      {"fc6", Shape{2, 256, 6, 6}, 4096}, {"fc7", Shape{2, 4096}, 4096},
      {"fc8", Shape{2, 4096}, 1000},
  };
  for (const Case& t : cases) {
    SCOPED_TRACE(t.name);
    const int64_t in = t.x.numel() / t.x[0];
    Tensor x = tu::uniform(t.x, g), w = tu::uniform(Shape{t.out, in}, g),
           b = tu::uniform(Shape{t.out}, g);
    const Shape ys{t.x[0], t.out};
    Tensor y = poisoned(ys), yd = dev_poisoned(ys);
    fc_forward(y, x, w, b);
    fc_forward(yd, dev(x), dev(w), dev(b));
    EXPECT_TRUE(matches(yd, y)) << "fc_forward";

    Tensor dy = tu::uniform(ys, g), dx = poisoned(t.x), dxd = dev_poisoned(t.x);
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

// ---- dropout
// ------------------------------------------------------------------------------------------------------

TEST(Cuda, DropoutMatchesCpu) {
  if (!zf::backend::cuda_available()) GTEST_SKIP() << zf::backend::cuda_status();
  tu::Rng g(406);
  for (const Shape& s : {Shape{2, 4096}, Shape{1001}, Shape{3, 5, 7, 9}})
    for (float p : {0.f, 0.5f, 0.9f}) {
      SCOPED_TRACE(::testing::Message() << s.str() << " p " << p);
      const uint64_t seed = g(), stream = g() % 100;
      Tensor x = tu::uniform(s, g);
      Tensor y = poisoned(s), m = poisoned(s), yd = dev_poisoned(s), md = dev_poisoned(s);
      dropout_forward(y, m, x, p, seed, stream);
      dropout_forward(yd, md, dev(x), p, seed, stream);
      EXPECT_TRUE(matches(md, m, 0)) << "mask";  // the same RNG on both backends: identical masks
      EXPECT_TRUE(matches(yd, y, 0)) << "y";
      Tensor dy = tu::uniform(s, g), dx = poisoned(s), dxd = dev_poisoned(s);
      dropout_backward(dx, dy, m);
      dropout_backward(dxd, dev(dy), dev(m));
      EXPECT_TRUE(matches(dxd, dx, 0)) << "dropout_backward";
    }
}

// ---- softmax cross-entropy
// -----------------------------------------------------------------------------------------

TEST(Cuda, SoftmaxXentMatchesCpu) {
  if (!zf::backend::cuda_available()) GTEST_SKIP() << zf::backend::cuda_status();
  tu::Rng g(407);
  struct Case {
    Shape s;
    float amplitude, offset;
  };
  for (const Case& t : {Case{Shape{2, 1000}, 10.f, 0.f}, Case{Shape{3, 7}, 3.f, 0.f},
                        Case{Shape{5, 13}, 40.f, 1000.f}, Case{Shape{1, 1}, 1.f, 0.f}}) {
    SCOPED_TRACE(t.s.str());
    Tensor logits = tu::uniform(t.s, g, t.offset - t.amplitude, t.offset + t.amplitude);
    Tensor lab = tu::labels(t.s[0], static_cast<int>(t.s[1]), g);
    Tensor prob = poisoned(t.s), probd = dev_poisoned(t.s);
    Tensor stats = poisoned(Shape{2}), statsd = dev_poisoned(Shape{2});
    softmax_loss_forward(prob, stats, logits, lab);
    softmax_loss_forward(probd, statsd, dev(logits), dev(lab));
    EXPECT_TRUE(matches(probd, prob)) << "probabilities";
    ASSERT_EQ(statsd.device(), Device::CUDA);
    const Tensor got = statsd.to(Device::CPU);
    EXPECT_TRUE(near(got.f32()[0], stats.f32()[0], kTol)) << "loss";
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

// Top-1 hits where labels tie other classes: few distinct logits, and in every third sample the
// label shares the row's maximum, so the count depends on the tie rule (ties count for the label).
TEST(Cuda, SoftmaxXentTop1HitsWithTiesMatchCpu) {
  if (!zf::backend::cuda_available()) GTEST_SKIP() << zf::backend::cuda_status();
  tu::Rng g(409);
  for (const Shape& s : {Shape{64, 10}, Shape{300, 7}, Shape{9, 1000}}) {
    SCOPED_TRACE(s.str());
    Tensor logits = tu::quantized(s, g, {-1.5f, -0.5f, 0.f, 0.25f, 2.f});
    Tensor lab = tu::labels(s[0], static_cast<int>(s[1]), g);
    for (int64_t i = 0; i < s[0]; i += 3) {
      float* z = logits.f32() + i * s[1];
      z[lab.i32()[i]] = 2.f;
      z[(lab.i32()[i] + 1) % s[1]] = 2.f;
    }
    Tensor prob, stats, probd, statsd = dev_poisoned(Shape{2});
    softmax_loss_forward(prob, stats, logits, lab);
    softmax_loss_forward(probd, statsd, dev(logits), dev(lab));
    const Tensor got = statsd.to(Device::CPU);
    EXPECT_GE(stats.f32()[1], static_cast<float>((s[0] + 2) / 3));
    EXPECT_LT(stats.f32()[1], static_cast<float>(s[0]));
    EXPECT_EQ(got.f32()[1], stats.f32()[1]) << "top-1 hits";
    EXPECT_TRUE(near(got.f32()[0], stats.f32()[0], kTol)) << "loss";
  }
}

// ---- optimization and misc
// ---------------------------------------------------------------------------------------------

TEST(Cuda, SgdRenormAddMatchCpu) {
  if (!zf::backend::cuda_available()) GTEST_SKIP() << zf::backend::cuda_status();
  tu::Rng g(408);
  for (const Shape& s : {Shape{96, 3, 7, 7}, Shape{256, 96, 5, 5}, Shape{1001}}) {
    SCOPED_TRACE(s.str());
    Tensor w = tu::uniform(s, g), v = tu::uniform(s, g, -0.1f, 0.1f), dw = tu::uniform(s, g);
    Tensor wd = dev(w), vd = dev(v);
    sgd_update(w, v, dw, 0.01f, 0.9f, 5e-4f);
    sgd_update(wd, vd, dev(dw), 0.01f, 0.9f, 5e-4f);
    EXPECT_TRUE(matches(wd, w)) << "sgd_update w";
    EXPECT_TRUE(matches(vd, v)) << "sgd_update v";

    // Half of the filters pushed far above the radius, the rest left below it.
    Tensor f = tu::uniform(s, g, -0.05f, 0.05f);
    const int64_t per = s.numel() / s[0];
    for (int64_t o = 0; o < s[0]; o += 2)
      for (int64_t i = 0; i < per; ++i) f.f32()[o * per + i] *= 20.f;
    Tensor fd = dev(f);
    renorm_filters(f, 0.1f);
    renorm_filters(fd, 0.1f);
    EXPECT_TRUE(matches(fd, f)) << "renorm_filters";

    Tensor a = tu::uniform(s, g), x = tu::uniform(s, g), ad = dev(a);
    add_inplace(a, x);
    add_inplace(ad, dev(x));
    EXPECT_TRUE(matches(ad, a, 0)) << "add_inplace";
  }
}

// ---- tensors on the device
// --------------------------------------------------------------------------------------------

TEST(Cuda, TensorRoundTripFillZero) {
  if (!zf::backend::cuda_available()) GTEST_SKIP() << zf::backend::cuda_status();
  tu::Rng g(409);
  Tensor x = tu::uniform(Shape{3, 1001}, g);
  Tensor d = dev(x);
  EXPECT_EQ(d.device(), Device::CUDA);
  EXPECT_TRUE(near(d.to(Device::CPU), x, 0));
  Tensor d2 = d.clone();  // device to device
  EXPECT_EQ(d2.device(), Device::CUDA);
  EXPECT_TRUE(near(d2.to(Device::CPU), x, 0));
  d2.fill(3.5f);
  Tensor back = d2.to(Device::CPU);
  for (int64_t i = 0; i < back.numel(); ++i) ASSERT_EQ(back.f32()[i], 3.5f);
  d2.zero();
  back = d2.to(Device::CPU);
  for (int64_t i = 0; i < back.numel(); ++i) ASSERT_EQ(back.f32()[i], 0.f);
  Tensor host(x.shape());
  host.copy_from(d);  // device to host through copy_from
  EXPECT_TRUE(near(host, x, 0));
}

// An op whose inputs live on different devices refuses to run (no hidden copies).
TEST(Cuda, MixedDevicesThrow) {
  if (!zf::backend::cuda_available()) GTEST_SKIP() << zf::backend::cuda_status();
  Tensor x = Tensor::zeros(Shape{1, 2, 5, 5}), w = Tensor::zeros(Shape{3, 2, 3, 3}),
         b = Tensor::zeros(Shape{3});
  Tensor y;
  const std::string e = tu::error_of([&] { conv_forward(y, dev(x), w, b, ConvParams{3, 1, 1}); });
  EXPECT_NE(e.find("conv_forward"), std::string::npos) << e;
  EXPECT_NE(e.find("cuda"), std::string::npos) << e;
  EXPECT_NE(e.find("cpu"), std::string::npos) << e;
}

}  // namespace
