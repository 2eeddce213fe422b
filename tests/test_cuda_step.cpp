// Whole training steps on the GPU against the CPU, with a small net built in code (no YAML, so this
// runs on the GPU machine, which has none of Debian's packages): three SGD steps give the same
// weights, and no device memory is allocated once the net's arena is laid out. The CudaStep tests
// skip themselves without a GPU; NetArena checks the arena on the CPU too.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/backend.h"
#include "core/nn/net.h"
#include "core/nn/optimizer.h"
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

void train_step(Net& net, const Batch& b, uint64_t step) {
  RunState rs;
  rs.seed = 3, rs.step = step, rs.labels = &b.labels;
  const Pass pass = net.forward(b.x, rs);
  net.backward(pass);
  sgd_step(net, SgdParams{0.05f, 0.9f, 5e-4f, 0.5f});
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
    train_step(cpu, batch(t, Device::CPU), t);
    train_step(gpu, batch(t, Device::CUDA), t);
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

// The arena holds every buffer of a pass: once it is laid out (one allocation, plus the ops'
// scratch when it must grow), training steps, an evaluation with a smaller batch and projections
// allocate nothing on the device, not even the first step.
TEST(CudaStep, NoDeviceAllocationAfterTheArenaIsLaidOut) {
  if (!backend::cuda_available()) GTEST_SKIP() << backend::cuda_status();
  Net net = tiny_net();
  net.setup(16);
  net.init_params(5);
  net.to(Device::CUDA);
  // The test's own device tensors first: a training batch, an evaluation batch of 8, a signal.
  const Batch b = batch(0, Device::CUDA);
  Tensor host8(Shape{8, 1, 28, 28});
  for (int64_t i = 0; i < host8.numel(); ++i) host8.f32()[i] = rng_normal(13, 0, i);
  const Tensor x8 = host8.to(Device::CUDA);
  const int top = net.find("maxpool6");  // the deconvnet projects from conv-stage layers
  ASSERT_GE(top, 0);
  Shape rs = net.output_shape(top);
  rs.d[0] = 8;
  const Tensor r = Tensor::zeros(rs, Device::CUDA);

  const size_t before = backend::device_alloc_count();
  net.reserve_memory();
  const size_t laid_out = backend::device_alloc_count();
  EXPECT_GE(laid_out - before, 2u);
  EXPECT_LE(laid_out - before, 3u) << "the arenas are two allocations (+ the scratch)";
  for (uint64_t t = 0; t < 3; ++t) train_step(net, b, t);
  EXPECT_EQ(backend::device_alloc_count(), laid_out) << "cudaMalloc inside the training loop";
  RunState eval;
  eval.phase = Phase::Eval;
  {
    const Pass pass = net.forward_to(x8, top, eval);
    for (ReluRule rule : {ReluRule::Deconv, ReluRule::Guided, ReluRule::Backprop}) {
      ProjectOptions o;
      o.rule = rule;
      o.through_lrn = rule == ReluRule::Backprop;
      net.project(pass, r, top, o);
    }
  }
  train_step(net, b, 3);  // back to the full batch: it still fits
  EXPECT_EQ(backend::device_alloc_count(), laid_out)
      << "cudaMalloc in an evaluation with a smaller batch or in a projection";
}

// On any device: after a step every activation and parameter gradient is a view into the arena.
TEST(NetArena, PassBuffersAreViewsIntoOneAllocation) {
  std::vector<Device> devices = {Device::CPU};
  if (backend::cuda_available()) devices.push_back(Device::CUDA);
  for (Device d : devices) {
    SCOPED_TRACE(device_name(d));
    Net net = tiny_net();
    net.setup(16);
    net.init_params(5);
    net.to(d);
    train_step(net, batch(0, d), 0);
    const size_t bytes = net.arena_bytes();
    EXPECT_GT(bytes, 0u);
    {
      const Batch b = batch(1, d);
      RunState rs;
      rs.labels = &b.labels;
      const Pass pass = net.forward(b.x, rs);
      EXPECT_FALSE(pass.input().owns_storage());
      for (int i = 0; i < net.size(); ++i)
        EXPECT_FALSE(pass.output(i).owns_storage()) << "activation of layer " << i;
      net.backward(pass);
      for (auto& np : net.params())
        EXPECT_FALSE(np.param->grad.owns_storage()) << np.layer << "/" << np.param->name;
    }
    train_step(net, batch(1, d), 1);
    EXPECT_EQ(net.arena_bytes(), bytes) << "one pass per step reuses one pass arena";
  }
}

// Two passes alive at once: each keeps its own activations and switches, so projecting pass A
// after pass B ran (another batch, another batch size) gives exactly what projecting A alone does.
TEST(Pass, ProjectingAPassIsUnaffectedByALaterPass) {
  std::vector<Device> devices = {Device::CPU};
  if (backend::cuda_available()) devices.push_back(Device::CUDA);
  for (Device d : devices) {
    SCOPED_TRACE(device_name(d));
    Net net = tiny_net();
    net.setup(4);
    net.init_params(8);
    net.to(d);
    const int top = net.find("maxpool6");
    const Batch a = batch(20, d), b = batch(21, d);
    RunState eval;
    eval.phase = Phase::Eval;
    auto first = [&](const Tensor& x16, int n) {  // the first n images of a batch
      Tensor h = x16.to(Device::CPU), o(Shape{n, 1, 28, 28});
      std::copy(h.f32(), h.f32() + o.numel(), o.f32());
      return o.to(d);
    };
    const Tensor x4 = first(a.x, 4), x3 = first(b.x, 3);
    Shape sig = net.output_shape(top);
    sig.d[0] = 4;
    Tensor host_r = Tensor::zeros(sig);
    for (int n = 0; n < 4; ++n) host_r.f32()[(n * sig[1] + n) * sig[2] * sig[3] + 5] = 1.f + n;
    const Tensor r = host_r.to(d);
    ProjectOptions guided;
    guided.rule = ReluRule::Guided;

    Tensor alone;
    {
      const Pass pa = net.forward_to(x4, top, eval);
      alone = net.project(pa, r, top, guided).to(Device::CPU);
    }
    const Pass pa = net.forward_to(x4, top, eval);
    const Pass pb = net.forward_to(x3, top, eval);  // another batch, another batch size
    EXPECT_NE(pa.output(top).raw(), pb.output(top).raw());
    const Tensor again = net.project(pa, r, top, guided).to(Device::CPU);
    ASSERT_EQ(again.shape(), alone.shape());
    EXPECT_EQ(std::memcmp(again.raw(), alone.raw(), alone.bytes()), 0)
        << "projection of pass A changed by pass B";
    int64_t nonzero = 0;
    for (int64_t i = 0; i < alone.numel(); ++i) nonzero += alone.f32()[i] != 0.f;
    EXPECT_GT(nonzero, 0);
  }
}
