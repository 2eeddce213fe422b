// CUDA tests that belong to no op family: tensors on the device (copies, fill, zero) and the
// refusal of an op whose inputs live on different devices. (Each op family's CPU-vs-CUDA cases are
// in tests/ops/test_<family>.cpp.) Every test skips when no GPU is usable, so the binary runs on
// any machine.
#include <gtest/gtest.h>

#include <string>

#include "core/backend.h"
#include "core/ops.h"
#include "test_util.h"

using namespace zf;
using tu::dev;
using tu::near;

namespace {

// ---- tensors on the device
// --------------------------------------------------------------------------------------------

TEST(Cuda, TensorRoundTripFillZero) {
  ZF_REQUIRE_CUDA();
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
  ZF_REQUIRE_CUDA();
  Tensor x = Tensor::zeros(Shape{1, 2, 5, 5}), w = Tensor::zeros(Shape{3, 2, 3, 3}),
         b = Tensor::zeros(Shape{3});
  Tensor y;
  const std::string e = tu::error_of([&] { conv_forward(y, dev(x), w, b, ConvParams{3, 1, 1}); });
  EXPECT_NE(e.find("conv_forward"), std::string::npos) << e;
  EXPECT_NE(e.find("cuda"), std::string::npos) << e;
  EXPECT_NE(e.find("cpu"), std::string::npos) << e;
}

}  // namespace
