// libFuzzer target: a config's one parse (train/config.cpp parse_config: YAML, key validation, the
// typed structs), the net check (check_net_spec), and, for nets small enough to build in a fuzzing
// loop, build_net, a batch-2 setup and one forward pass with labels.
#include <cstdint>
#include <string>

#include "core/nn/net_spec.h"
#include "tests/fuzz/fuzz_util.h"
#include "train/config.h"

namespace {

// Whether the checked spec's net is small: a config may rightly ask for a net of many GB, which
// would only test the allocator. Parameters are over-estimated from the shapes: a layer with
// parameters and window geometry as out_channels x in_channels x kernel^2, any other as
// out x in (fully connected).
bool small_enough(const zf::NetSpec& spec) {
  constexpr int64_t kMaxActivation = 1 << 16, kMaxParams = 1 << 20;
  std::vector<std::unique_ptr<zf::Layer>> layers = zf::make_layers(spec);
  zf::Shape s{1, spec.input_chw[0], spec.input_chw[1], spec.input_chw[2]};
  if (s.numel() > kMaxActivation) return false;
  int64_t params = 0;
  for (auto& l : layers) {
    const zf::Shape o = l->output_shape(s);
    if (o.numel() > kMaxActivation) return false;
    if (!l->params().empty()) {
      zf::Geometry g;
      const double p =
          l->geometry(&g)
              ? static_cast<double>(o[1]) * static_cast<double>(s[1]) * g.kernel * g.kernel
              : static_cast<double>(o.numel()) * static_cast<double>(s.numel());
      if (p > kMaxParams) return false;
      params += static_cast<int64_t>(p) + o[1];
    }
    s = o;
  }
  return params <= kMaxParams;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  zf::fuzz::refusal_ok([&] {
    const zf::Config cfg = zf::parse_config(text, "fuzz.yaml");
    zf::check_net_spec(cfg.net);
    if (!small_enough(cfg.net)) return;
    zf::Net net = zf::build_net(cfg.net);
    net.setup(2);
    net.reserve_memory();
    net.init_params(1);
    const zf::Shape in = net.input_chw();
    zf::Tensor x(zf::Shape{2, in[0], in[1], in[2]});
    for (int64_t i = 0; i < x.numel(); ++i) x.f32()[i] = static_cast<float>((i * 37) % 11) - 5.f;
    zf::Tensor labels = zf::Tensor::zeros(zf::Shape{2}, zf::Device::CPU, zf::DType::I32);
    zf::RunState rs;
    rs.labels = net.has_loss() ? &labels : nullptr;
    zf::Pass pass = net.forward(x, rs);
    if (net.has_loss()) net.backward(pass);
  });
  return 0;
}
