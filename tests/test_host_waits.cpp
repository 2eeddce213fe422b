// No hidden host waits (DESIGN section 8): every op, run once on CUDA tensors, copies nothing to
// the host and synchronizes nothing (backend::host_waits() before and after); reading the loss
// stats back is exactly one device-to-host copy. On the emulator the runtime's own count of waits
// is checked too, so an op that called the CUDA runtime around cuda/runtime.cu would be caught.
// Also: the execution context of a GPU (its own non-blocking streams, events). Skips without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/backend.h"
#include "core/context.h"
#include "core/ops.h"
#include "test_util.h"

#ifdef ZF_CUDA_EMULATOR
namespace zf_emu {  // cuda/emu/cuda_runtime.h (not includable here: it redefines CUDA's keywords)
size_t raw_d2h_copies();
size_t raw_syncs();
}  // namespace zf_emu
#endif

using namespace zf;

namespace {

struct Waits {
  size_t d2h, syncs, raw_d2h, raw_syncs;
};

Waits waits_now() {
  const backend::HostWaits w = backend::host_waits();
#ifdef ZF_CUDA_EMULATOR
  return Waits{w.d2h_copies, w.syncs, zf_emu::raw_d2h_copies(), zf_emu::raw_syncs()};
#else
  return Waits{w.d2h_copies, w.syncs, 0, 0};
#endif
}

// The waits between `before` and now, as "d2h D, syncs S" (and the emulator's own count).
std::string waits_since(const Waits& before) {
  const Waits now = waits_now();
  return "d2h " + std::to_string(now.d2h - before.d2h) + ", syncs " +
         std::to_string(now.syncs - before.syncs) + " (runtime: d2h " +
         std::to_string(now.raw_d2h - before.raw_d2h) + ", syncs " +
         std::to_string(now.raw_syncs - before.raw_syncs) + ")";
}

const std::string kNone = "d2h 0, syncs 0 (runtime: d2h 0, syncs 0)";

Tensor dev(const Tensor& t) {
  return t.to(Device::CUDA);
}

}  // namespace

TEST(HostWaits, NoOpWaitsForTheDevice) {
  if (!backend::cuda_available()) GTEST_SKIP() << backend::cuda_status();
  tu::Rng g(501);
  // Every input on the device before counting (uploads from pageable memory are waits).
  const ConvParams cp{3, 2, 1};
  const PoolParams pp{3, 2};
  const LrnParams lp{};
  Tensor x = dev(tu::uniform(Shape{2, 3, 11, 9}, g)), w = dev(tu::uniform(Shape{4, 3, 3, 3}, g));
  Tensor b = dev(tu::uniform(Shape{4}, g));
  const Shape ys = conv_output_shape(x.shape(), 4, cp);
  Tensor dy = dev(tu::uniform(ys, g));
  const Shape ps = pool_output_shape(ys, pp);
  Tensor dp = dev(tu::uniform(ps, g));
  Tensor fx = dev(tu::uniform(Shape{2, 12}, g)), fw = dev(tu::uniform(Shape{5, 12}, g));
  Tensor fb = dev(tu::uniform(Shape{5}, g)), fdy = dev(tu::uniform(Shape{2, 5}, g));
  Tensor labels = dev(tu::labels(2, 5, g));
  Tensor v = dev(tu::uniform(w.shape(), g)), dw_in = dev(tu::uniform(w.shape(), g));
  Tensor y, dx(x.shape(), Device::CUDA), dw, db, r, sw, pooled, up(ys, Device::CUDA);
  Tensor pdx(ys, Device::CUDA), ly, scale, ldx, fy, fdx, fdw, fdb, mask, dr, ddx, prob, stats, dl;
  Tensor copy(x.shape(), Device::CUDA);

  const Waits before = waits_now();
  const std::vector<std::pair<const char*, std::function<void()>>> ops = {
      {"conv_forward", [&] { conv_forward(y, x, w, b, cp); }},
      {"conv_backward_data", [&] { conv_backward_data(dx, dy, w, cp); }},
      {"conv_backward_weight", [&] { conv_backward_weight(dw, db, dy, x, cp); }},
      {"relu_forward", [&] { relu_forward(r, y); }},
      {"relu_backward", [&] { relu_backward(r, dy, y); }},
      {"relu_project", [&] { relu_project(r, dy, y, ReluRule::Guided); }},
      {"maxpool_forward", [&] { maxpool_forward(pooled, sw, y, pp); }},
      {"maxpool_backward", [&] { maxpool_backward(pdx, dp, sw, pp); }},
      {"unpool_forward", [&] { unpool_forward(up, dp, sw, pp); }},
      {"lrn_forward", [&] { lrn_forward(ly, scale, y, lp); }},
      {"lrn_backward", [&] { lrn_backward(ldx, dy, y, ly, scale, lp); }},
      {"fc_forward", [&] { fc_forward(fy, fx, fw, fb); }},
      {"fc_backward_data", [&] { fc_backward_data(fdx, fdy, fw); }},
      {"fc_backward_weight", [&] { fc_backward_weight(fdw, fdb, fdy, fx); }},
      {"dropout_forward", [&] { dropout_forward(dr, mask, fx, 0.5f, 3, 1); }},
      {"dropout_backward", [&] { dropout_backward(ddx, dr, mask); }},
      {"softmax_forward", [&] { softmax_forward(prob, fy); }},
      {"softmax_loss_forward", [&] { softmax_loss_forward(prob, stats, fy, labels); }},
      {"softmax_loss_backward", [&] { softmax_loss_backward(dl, prob, labels); }},
      {"sgd_update", [&] { sgd_update(w, v, dw_in, 0.01f, 0.9f, 5e-4f); }},
      {"renorm_filters", [&] { renorm_filters(w, 0.1f); }},
      {"add_inplace", [&] { add_inplace(v, dw_in); }},
      {"Tensor::zero", [&] { copy.zero(); }},
      {"Tensor::copy_from (device to device)", [&] { copy.copy_from(x); }},
  };
  for (const auto& [name, run] : ops) {
    const Waits at = waits_now();
    run();
    EXPECT_EQ(waits_since(at), kNone) << name;
  }
  EXPECT_EQ(waits_since(before), kNone);

  // The one read-back a step makes: the loss and the top-1 count, one copy and nothing else (the
  // runtime sees the copy, and the stream synchronization that is part of it).
  const Waits at = waits_now();
  const Tensor host = stats.to(Device::CPU);
  const Waits after = waits_now();
  EXPECT_EQ(after.d2h - at.d2h, 1u);
  EXPECT_EQ(after.syncs - at.syncs, 0u);
#ifdef ZF_CUDA_EMULATOR
  EXPECT_EQ(after.raw_d2h - at.raw_d2h, 1u);
#endif
  EXPECT_TRUE(std::isfinite(host.f32()[0]));
  EXPECT_GE(host.f32()[1], 0.f);
  EXPECT_LE(host.f32()[1], 2.f);
}

// A GPU's context: its own streams (never the legacy default stream, 0), made once and kept.
TEST(HostWaits, ContextOfAGpu) {
  if (!backend::cuda_available()) GTEST_SKIP() << backend::cuda_status();
  Context& c = context(Device::CUDA);
  EXPECT_EQ(c.device, Device::CUDA);
  EXPECT_NE(c.stream, nullptr);
  EXPECT_NE(c.upload, nullptr);
  EXPECT_NE(c.stream, c.upload);
  EXPECT_EQ(&context(Device::cuda(0)), &c);
  EXPECT_EQ(context(Device::CPU).stream, nullptr);
}

// Events: recorded on one stream and waited on by the other, queried without waiting.
TEST(HostWaits, EventsOrderStreamsWithoutWaiting) {
  if (!backend::cuda_available()) GTEST_SKIP() << backend::cuda_status();
  backend::Event e(Device::CUDA);
  const Waits at = waits_now();
  e.record(backend::Queue::Compute);
  e.wait(backend::Queue::Upload);
  e.record(backend::Queue::Upload);
  e.wait(backend::Queue::Compute);
  (void)e.done();
  EXPECT_EQ(waits_since(at), kNone);
  e.synchronize();
  EXPECT_EQ(backend::host_waits().syncs - at.syncs, 1u);
  EXPECT_TRUE(e.done());
  // The CPU's events are no events.
  backend::Event cpu(Device::CPU);
  cpu.record(backend::Queue::Compute);
  cpu.synchronize();
  EXPECT_TRUE(cpu.done());
}
