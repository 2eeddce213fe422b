// zf_bench_occlusion: how fast zf_analyze occlusion is, on the work of the PyTorch reference
// (../shared/reference/pytorch/bench_occlusion.py): one random 224x224 input through ZFNet with
// random weights, a square of zeros (the mean) of side --size every --stride pixels, the occluded
// copies in batches of --batch, probabilities out. Times the full method (every copy through the
// whole net) and the incremental one (only what the square changes, occlusion_engine.h), and
// where each spends its time: per layer for the incremental method (the layers before the first fc
// on windows, then the rest as one row), and per layer for a batch of whole copies (the layers run
// one by one on a full batch, what the full method does) so the two can be read side by side.
//
//   build/bench/zf_bench_occlusion [--config configs/zfnet.yaml] [--size 48] [--stride 8]
//                                  [--batch 64] [--reps 3] [--json]
// The table goes to stdout; with --json one JSON line per method follows it.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "core/nn/net_spec.h"
#include "core/rng.h"
#include "train/config.h"
#include "visualize/analyses/occlusion_engine.h"

using namespace zf;

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The full method's time per layer: one batch of whole copies through the layers one by one
// (buffers reused, the first run untimed).
std::vector<double> full_layer_ms(Net& net, int batch, int reps) {
  const Shape& in = net.input_chw();
  std::vector<Tensor> out(net.size());
  std::vector<std::vector<Tensor>> saved(net.size());
  Tensor x(Shape{batch, in[0], in[1], in[2]});
  for (int64_t i = 0; i < x.numel(); ++i) x.f32()[i] = rng_normal(3, 0, static_cast<uint64_t>(i));
  std::vector<std::vector<double>> t(net.size());
  RunState rs;
  rs.phase = Phase::Eval;
  for (int r = 0; r <= reps; ++r)
    for (int i = 0; i < net.size(); ++i) {
      Layer& l = net.layer(i);
      const Tensor& xi = i ? out[i - 1] : x;
      saved[i].resize(l.saved_buffers(xi.shape(), l.output_shape(xi.shape())).size());
      const double t0 = now();
      l.forward(out[i], xi, saved[i].data(), rs);
      if (r) t[i].push_back(now() - t0);
    }
  std::vector<double> ms;
  for (auto& v : t) ms.push_back(1e3 * median(v));
  return ms;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config = ZF_BENCH_DEFAULT_CONFIG;
  int size = 48, stride = 8, batch = 64, reps = 3;
  bool json = false;
  CLI::App app{"time zf_analyze occlusion's full and incremental methods on a random image"};
  app.add_option("--config", config, "net config (default configs/zfnet.yaml)");
  app.add_option("--size", size, "square side (default 48)")->check(CLI::PositiveNumber);
  app.add_option("--stride", stride, "step between positions (default 8)")
      ->check(CLI::PositiveNumber);
  app.add_option("--batch", batch, "occluded copies per pass (default 64)")
      ->check(CLI::PositiveNumber);
  app.add_option("--reps", reps, "timed repeats after one untimed (default 3)")
      ->check(CLI::PositiveNumber);
  app.add_flag("--json", json, "also one JSON line per method");
  CLI11_PARSE(app, argc, argv);
  try {
    Net net = build_net(load_config(config).net);
    net.setup(1);
    net.init_params(1);
    const Shape& in = net.input_chw();
    std::vector<float> x(static_cast<size_t>(in.numel())), fill(x.size(), 0.f);
    for (size_t i = 0; i < x.size(); ++i) x[i] = rng_normal(2, 0, i);
    const int prefix = spatial_prefix(net);
    int positions = 0;
    std::printf("occlusion of one %lldx%lld image: square %d, stride %d, batch %d\n",
                static_cast<long long>(in[1]), static_cast<long long>(in[2]), size, stride, batch);
    std::vector<double> layer_ms;  // incremental, per layer (median over reps)
    double ms[2] = {0, 0};
    for (int inc = 0; inc < 2; ++inc) {
      std::vector<double> total;
      std::vector<std::vector<double>> per(prefix + 1);
      for (int r = 0; r <= reps; ++r) {
        OcclusionSpec spec;
        spec.size = size, spec.stride = stride, spec.batch = batch, spec.incremental = inc;
        spec.act = prefix - 1, spec.feature = 0, spec.true_class = 0;
        std::vector<double> sec;
        spec.seconds = &sec;
        const double t0 = now();
        const OcclusionMaps m = occlude(net, x, fill, spec);
        if (!r) continue;
        total.push_back(now() - t0);
        positions = static_cast<int>(m.p_true.size());
        for (size_t i = 0; inc && i < sec.size(); ++i) per[i].push_back(sec[i]);
      }
      ms[inc] = 1e3 * median(total);
      if (inc)
        for (auto& v : per) layer_ms.push_back(1e3 * median(v));
    }
    const std::vector<double> whole = full_layer_ms(net, batch, reps);
    const double batches = (positions + batch - 1) / batch;
    std::printf("%-10s %14s %14s\n", "layer", "full ms", "incremental ms");
    double tail_full = 0;
    for (int i = 0; i < net.size(); ++i) {
      if (i < prefix)
        std::printf("%-10s %14.1f %14.1f\n", net.layer(i).name().c_str(), whole[i] * batches,
                    layer_ms[i]);
      else
        tail_full += whole[i] * batches;
    }
    std::printf("%-10s %14.1f %14.1f\n", "rest", tail_full, layer_ms[prefix]);
    std::printf("%-10s %14.1f %14.1f   (%d positions; full per layer = one batch x %.0f)\n",
                "total", ms[0], ms[1], positions, batches);
    for (int inc = 0; json && inc < 2; ++inc)
      std::printf(
          "{\"bench\": \"occlusion\", \"method\": \"%s\", \"size\": %d, \"stride\": %d, "
          "\"positions\": %d, \"batch\": %d, \"ms_median\": %.1f, \"img_s\": %.1f}\n",
          inc ? "incremental" : "full", size, stride, positions, batch, ms[inc],
          positions * 1e3 / ms[inc]);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "zf_bench_occlusion: %s\n", e.what());
    return 1;
  }
}
