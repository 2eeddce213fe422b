// Whole training steps on the GPU against the CPU, with a small net built in code (no YAML, so this
// runs on the GPU machine, which has none of Debian's packages): three SGD steps give the same
// weights, and no device memory is allocated after the first step. Both skip themselves without a
// GPU.
#include <gtest/gtest.h>

#include <cmath>

#include "core/backend.h"
#include "core/net.h"
#include "core/rng.h"

using namespace zf;

namespace {

// Every layer kind of the framework, at small sizes (configs/tiny.yaml's shape).
Net tiny_net() {
  const std::vector<std::pair<std::string, std::map<std::string, std::string>>> spec = {
      {"conv", {{"filters", "8"}, {"kernel", "5"}, {"pad", "2"}, {"std", "0.28"}}},
      {"relu", {}},
      {"maxpool", {{"kernel", "3"}, {"stride", "2"}}},
      {"lrn", {{"size", "5"}}},
      {"conv", {{"filters", "16"}, {"kernel", "3"}, {"pad", "1"}, {"std", "0.1"}}},
      {"relu", {}},
      {"maxpool", {{"kernel", "3"}, {"stride", "2"}}},
      {"fc", {{"outputs", "32"}, {"std", "0.05"}}},
      {"relu", {}},
      {"dropout", {{"p", "0.5"}}},
      {"fc", {{"outputs", "10"}, {"std", "0.01"}}},
      {"softmax_loss", {}},
  };
  std::vector<std::unique_ptr<Layer>> layers;
  for (size_t i = 0; i < spec.size(); ++i)
    layers.push_back(
        make_layer(LayerSpec("layers[" + std::to_string(i) + "]", spec[i].first + std::to_string(i),
                             spec[i].first, spec[i].second)));
  return Net(std::move(layers), Shape{1, 28, 28});
}

struct Batch {
  Tensor x, labels;
};

Batch batch(uint64_t step, Device d) {
  Tensor x(Shape{16, 1, 28, 28}), labels(Shape{16}, Device::CPU, DType::I32);
  for (int64_t i = 0; i < x.numel(); ++i)
    x.f32()[i] = rng_normal(11, step, static_cast<uint64_t>(i));
  for (int i = 0; i < 16; ++i) labels.i32()[i] = static_cast<int32_t>(rng_u32(12, step, i) % 10);
  return Batch{x.to(d), labels.to(d)};
}

void sgd_step(Net& net, const Batch& b, uint64_t step) {
  RunState rs;
  rs.seed = 3, rs.step = step, rs.labels = &b.labels;
  net.forward(b.x, rs);
  net.backward();
  for (auto& np : net.params()) {
    sgd_update(np.param->value, np.param->momentum, np.param->grad, 0.05f, 0.9f, 5e-4f);
    if (np.param->renorm) renorm_filters(np.param->value, 0.5f);
  }
}

}  // namespace

TEST(CudaStep, ThreeSgdStepsGiveTheSameWeightsAsTheCpu) {
  if (!backend::cuda_available()) GTEST_SKIP() << backend::cuda_status();
  Net cpu = tiny_net(), gpu = tiny_net();
  for (Net* n : {&cpu, &gpu}) {
    n->setup(16);
    n->init_params(7);
  }
  gpu.to(Device::CUDA);
  for (uint64_t t = 0; t < 3; ++t) {
    sgd_step(cpu, batch(t, Device::CPU), t);
    sgd_step(gpu, batch(t, Device::CUDA), t);
  }
  auto pc = cpu.params(), pg = gpu.params();
  ASSERT_EQ(pc.size(), pg.size());
  for (size_t i = 0; i < pc.size(); ++i) {
    Tensor a = pc[i].param->value.to(Device::CPU), b = pg[i].param->value.to(Device::CPU);
    double worst = 0;
    for (int64_t j = 0; j < a.numel(); ++j)
      worst = std::max(worst, std::fabs(double(a.f32()[j]) - b.f32()[j]) /
                                  std::max(1.0, std::fabs(double(a.f32()[j]))));
    EXPECT_LT(worst, 1e-4) << pc[i].layer << "/" << pc[i].param->name;
  }
}

TEST(CudaStep, NoDeviceAllocationAfterTheFirstStep) {
  if (!backend::cuda_available()) GTEST_SKIP() << backend::cuda_status();
  Net net = tiny_net();
  net.setup(16);
  net.init_params(5);
  net.to(Device::CUDA);
  const Batch b = batch(0, Device::CUDA);
  sgd_step(net, b, 0);
  const size_t after_first = backend::device_alloc_count();
  for (uint64_t t = 1; t < 4; ++t) sgd_step(net, b, t);
  EXPECT_EQ(backend::device_alloc_count(), after_first) << "cudaMalloc inside the training loop";
}
